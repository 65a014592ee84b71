"""How weight files are read, and how lganim writes its own.

Three formats:
- rosinality `.pt`/`.pth`: `{"g_ema": state_dict, "latent_avg": [D]?, ...}` (or a bare state dict),
  read with `torch.load(..., weights_only=True)`.
- NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles (`.pkl`): they embed Python source and
  would run it when unpickled plainly. They are read through a restricted unpickler that rebuilds
  tensors only, and the StyleGAN2 `G_ema` is converted to the rosinality layout.
- lganim's own files: `<name>.safetensors` + a JSON config, written atomically.

`load_generator` turns any of them into a ready `Generator` (eval mode, no grads, `latent_avg` set).
Where files come from (download, cache, sha256) is `hub.py`, not this module.
"""
from __future__ import annotations

import argparse
import codecs
import collections
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .config import GeneratorConfig
from .errors import LganimError
from .files import publish, temp_beside
from .stylegan2 import Generator

ROSINALITY_SUFFIXES = (".pt", ".pth", ".ckpt")
NVIDIA_SUFFIXES = (".pkl",)
SAFETENSORS_SUFFIX = ".safetensors"
LATENT_AVG_KEY = "latent_avg"   # extra tensor in our generator files: mean W [D]
MEAN_LATENT_SAMPLES = 4096      # z samples for latent_avg when a file has none
MEAN_LATENT_SEED = 0


# --------------------------------------------------------------------------- any PyTorch file

def load_torch(path: str | os.PathLike, what: str, *, mmap: bool = False, allowed: tuple = ()) -> object:
    """Read a PyTorch file safely: `weights_only=True`, on the CPU; `what` names the expected content in errors.

    mmap: map a zip-format file instead of reading it, so tensors that are never used (a training checkpoint's
    discriminator and optimiser, the 1.2 GB e4e file's decoder) stay on disk. allowed: extra classes a
    weights-only load may rebuild (e.g. argparse.Namespace). A file that is missing, unreadable or refuses safe
    loading is one LganimError.
    """
    path = _existing_file(path)
    try:
        with torch.serialization.safe_globals(list(allowed)):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc):  # torch names the refused global; anything else is not a pickle
            raise LganimError(f"{path} is not a readable PyTorch checkpoint (malformed pickle): expected {what}; "
                              f"check that the download is complete") from exc
        raise LganimError(f"{path} refuses safe (weights_only) loading: the file may be unsafe or is not {what}; "
                          f"use a checkpoint that holds only tensors") from exc
    except Exception as exc:  # torch raises RuntimeError/EOFError/ValueError/... for non-checkpoints
        raise LganimError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}): expected {what}; "
                          f"check that the download is complete") from exc


# --------------------------------------------------------------------------- rosinality .pt

def read_rosinality(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Read a rosinality StyleGAN2 checkpoint safely.

    Returns `(g_ema_state_dict, latent_avg)`; `latent_avg` is the stored mean W ([D]) or None. Only
    `g_ema` and `latent_avg` are kept (`g`, `d` and optimiser states are dropped). A bare generator
    state dict is accepted too. `argparse.Namespace` (the `args` entry of rosinality's own training
    checkpoints) is the one extra class allowed.
    """
    path = Path(path)
    ckpt = load_torch(path, "a rosinality StyleGAN2 checkpoint", mmap=True, allowed=(argparse.Namespace,))
    if isinstance(ckpt, dict) and "g_ema" in ckpt:
        state, latent_avg = ckpt["g_ema"], ckpt.get("latent_avg")
    elif isinstance(ckpt, dict) and "input.input" in ckpt:
        state, latent_avg = ckpt, None
    else:
        found = sorted(map(str, ckpt))[:5] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise LganimError(f"{path} has no 'g_ema' generator (found {found}); "
                          f"expected a rosinality StyleGAN2 checkpoint")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LganimError(f"{path}: 'g_ema' is not a state dict of tensors")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise LganimError(f"{path}: 'latent_avg' is not a tensor")
    return dict(state), latent_avg


# --------------------------------------------------------------------------- NVIDIA .pkl

class _PersistentStub:
    """What an NVIDIA persistent object becomes: its class name and pickled `__dict__`, nothing executable."""

    def __init__(self, class_name: str, state: dict):
        self.class_name = class_name
        self.state = state


def _persistent_stub(meta) -> _PersistentStub:
    # Stands in for torch_utils.persistence._reconstruct_persistent_obj(meta). The real one exec()s
    # meta["module_src"]; this one never reads it and keeps only the class name and the state.
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise LganimError("refused a persistent object without a state dict in the network pickle")
    return _PersistentStub(str(meta.get("class_name")), meta["state"])


def _storage_from_bytes(data: bytes):
    # Stands in for torch.storage._load_from_bytes, which would torch.load the bytes unrestricted.
    if not isinstance(data, (bytes, bytearray)):
        raise LganimError("refused a tensor storage that is not raw bytes in the network pickle")
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise LganimError("a tensor storage in the network pickle refuses safe (weights_only) loading: "
                          "the file may be unsafe; it was not loaded") from exc


def _tensor_from_storage(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                         metadata=None):
    # torch._utils._rebuild_tensor_v2 with the pickled grad flag and backward hooks dropped: a hook is
    # a callable, and nothing callable from the file is kept.
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise LganimError("refused a tensor whose storage is not a torch storage in the network pickle")
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, False, collections.OrderedDict())


def _tensor_from_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    # torch._utils._rebuild_parameter(_with_state): keep the plain tensor, drop grad flags and state.
    return data


class _TensorTypeMarker:
    """Placeholder for `torch.Tensor` / `Parameter` as named by `_rebuild_from_type_v2`; not callable."""


def _rebuild_from_type(func, new_type, args, state):
    # torch._tensor._rebuild_from_type_v2: `func` came through find_class, so it is allow-listed.
    return func(*args)


# (module, name) -> the object the restricted unpickler returns for it. Anything else is refused.
_NVIDIA_PICKLE_GLOBALS = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent_stub,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _tensor_from_storage,
    ("torch._utils", "_rebuild_parameter"): _tensor_from_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _tensor_from_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch._tensor", "Tensor"): _TensorTypeMarker,
    ("torch", "Tensor"): _TensorTypeMarker,
    ("torch.nn.parameter", "Parameter"): _TensorTypeMarker,
    ("torch", "Size"): torch.Size,
    ("collections", "OrderedDict"): collections.OrderedDict,
    # Module attributes such as weight_gain are numpy scalars; stylegan3 keeps small numpy arrays.
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    # Plain containers (protocol <= 3 pickles sets through builtins.set; protocol 2 bytes through _codecs).
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): codecs.encode,
}
# numpy.core.multiarray (numpy 1.x) / numpy._core.multiarray (numpy 2.x): scalar and array rebuilders.
_NUMPY_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_MULTIARRAY_NAMES = ("scalar", "_reconstruct")


def _numpy_multiarray():
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    return multiarray


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for NVIDIA network pickles: rebuilds containers and tensors, refuses every other global."""

    def __init__(self, file, source: Path):
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str):
        module = "builtins" if module == "__builtin__" else module  # protocol 2 pickles name Python 2's module
        if name == "EasyDict" and module.split(".")[0] == "dnnlib":
            return dict  # dnnlib.util.EasyDict is a dict with attribute access
        if module in _NUMPY_MULTIARRAY and name in _NUMPY_MULTIARRAY_NAMES:
            return getattr(_numpy_multiarray(), name)
        target = _NVIDIA_PICKLE_GLOBALS.get((module, name))
        if target is None:
            raise LganimError(f"{self._source} refers to {module}.{name}, which a network pickle must not "
                              f"need: the file may be unsafe; it was not loaded")
        return target

    def persistent_load(self, pid):
        raise LganimError(f"{self._source} uses persistent ids; it is not an NVIDIA network pickle")


def _flatten_module(obj: _PersistentStub, prefix: str, out: dict[str, torch.Tensor]) -> None:
    # The pickled state is the nn.Module __dict__: _parameters / _buffers / _modules (all OrderedDicts).
    for group in ("_parameters", "_buffers"):
        for name, tensor in (obj.state.get(group) or {}).items():
            if isinstance(tensor, torch.Tensor):
                out[prefix + name] = tensor
    for name, child in (obj.state.get("_modules") or {}).items():
        if isinstance(child, _PersistentStub):
            _flatten_module(child, f"{prefix}{name}.", out)
        elif child is not None:
            raise LganimError(f"unexpected submodule {prefix}{name} of type {type(child).__name__} in the pickle")


def _read_nvidia_pickle(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(flat NVIDIA state dict of G_ema, its init kwargs) from a network pickle, restricted unpickling."""
    try:
        with open(path, "rb") as f:
            data = _RestrictedUnpickler(f, path).load()
    except LganimError:
        raise
    except Exception as exc:  # truncated files, wrong formats, malformed opcodes
        raise LganimError(f"{path} is not a readable NVIDIA network pickle ({type(exc).__name__}: "
                          f"{str(exc)[:120]})") from exc
    g_ema = data.get("G_ema") if isinstance(data, dict) else None
    if not isinstance(g_ema, _PersistentStub):
        raise LganimError(f"{path} has no 'G_ema' network; expected a stylegan2-ada-pytorch or "
                          f"stylegan3 network pickle")
    nv_state: dict[str, torch.Tensor] = {}
    _flatten_module(g_ema, "", nv_state)
    init_kwargs = g_ema.state.get("_init_kwargs")
    return nv_state, dict(init_kwargs) if isinstance(init_kwargs, dict) else {}


# NVIDIA's resample filter as stored: upfirdn2d.setup_filter([1,3,3,1]) = outer([1,3,3,1]) / 64.
def _nvidia_resample_filter() -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    return torch.outer(taps, taps) / 64


def _rosinality_blur_kernel() -> torch.Tensor:
    # rosinality's Blur(upsample_factor=2) / Upsample(factor=2) buffers: normalised [1,3,3,1] kernel × factor².
    return _nvidia_resample_filter() * 4


def convert_nvidia_state(nv: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Rename an NVIDIA StyleGAN2 `G_ema` state dict (stylegan2-ada-pytorch layout) to rosinality's.

    Returns `(rosinality_state_dict, w_avg)`. Facts checked in stylegan2-ada-pytorch
    `training/networks.py` and `torch_utils/ops/conv2d_resample.py`:
    - FullyConnectedLayer stores raw `weight` [out, in] and `bias` [out] and applies
      weight_gain = lr_multiplier / sqrt(in) and bias_gain = lr_multiplier at run time; the mapping uses
      lr_multiplier 0.01 and `affine` uses 1 with bias_init 1. rosinality's EqualLinear does the same
      (scale = lr_mul / sqrt(in), bias × lr_mul), so `mapping.fc{i}` -> `style.{i+1}` and
      `affine` -> `conv.modulation` copy 1:1 with no scale.
    - SynthesisLayer's modulated conv uses its raw `weight` [O, I, k, k] (demodulation removes any
      constant gain, rosinality's 1/sqrt(fan_in) scale included) -> `conv.weight` [1, O, I, k, k].
      Upsampling layers (conv0, up=2) call conv2d_resample with flip_weight=False, which runs a
      transposed convolution on the unflipped weight, like rosinality's conv_transpose2d: no flip.
    - ToRGBLayer multiplies the styles by weight_gain = 1/sqrt(in_channels) with no demodulation,
      the same as rosinality's ModulatedConv2d scale: `torgb.weight` [3, C, 1, 1] -> [1, 3, C, 1, 1];
      `torgb.bias` [3] -> `bias` [1, 3, 1, 1].
    - `noise_strength` [] -> `noise.weight` [1]; `noise_const` [r, r] -> `noises.noise_j` [1, 1, r, r]
      with j = 0 for b4.conv1 and j = 2k+1 / 2k+2 for the k-th upsampling block's conv0 / conv1.
    - SynthesisLayer `bias` [O] -> `activate.bias` (both add it before lrelu(0.2) × sqrt(2)).
    - `b4.const` [C, 4, 4] -> `input.input` [1, C, 4, 4]; `mapping.w_avg` [D] -> latent_avg.
    - `resample_filter` buffers (normalised [1,3,3,1]) are dropped; rosinality's own kernels (×4) are
      written instead. A different filter is refused since it would change the network.
    """
    remaining = dict(nv)

    def take(key: str) -> torch.Tensor:
        if key not in remaining:
            raise LganimError(f"the network pickle is not a StyleGAN2 generator: '{key}' is missing")
        return remaining.pop(key)

    if any(k.startswith("synthesis.input.") for k in nv):
        raise LganimError("this is a StyleGAN3 (alias-free) generator; only StyleGAN2-architecture "
                          "pickles convert to the rosinality layout")
    if any(k.startswith("mapping.embed.") for k in nv):
        raise LganimError("this is a class-conditional generator (c_dim > 0); it has no rosinality equivalent")

    sd: dict[str, torch.Tensor] = {}
    n_mlp = 0
    while f"mapping.fc{n_mlp}.weight" in remaining:
        sd[f"style.{n_mlp + 1}.weight"] = take(f"mapping.fc{n_mlp}.weight")
        sd[f"style.{n_mlp + 1}.bias"] = take(f"mapping.fc{n_mlp}.bias")
        n_mlp += 1
    if n_mlp == 0:
        raise LganimError("the network pickle is not a StyleGAN2 generator: no mapping.fc0 layer")
    w_avg = remaining.pop("mapping.w_avg", None)
    sd["input.input"] = take("synthesis.b4.const").unsqueeze(0)

    noises: dict[str, torch.Tensor] = {}

    def layer(dst: str, src: str, noise_index: int, upsample: bool) -> None:
        sd[f"{dst}.conv.weight"] = take(f"{src}.weight").unsqueeze(0)
        if upsample:
            sd[f"{dst}.conv.blur.kernel"] = _rosinality_blur_kernel()
        sd[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        sd[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")
        sd[f"{dst}.noise.weight"] = take(f"{src}.noise_strength").reshape(1)
        sd[f"{dst}.activate.bias"] = take(f"{src}.bias")
        noise = take(f"{src}.noise_const")
        noises[f"noises.noise_{noise_index}"] = noise.reshape(1, 1, *noise.shape[-2:])

    def to_rgb(dst: str, src: str, upsample: bool) -> None:
        sd[f"{dst}.bias"] = take(f"{src}.bias").reshape(1, -1, 1, 1)
        if upsample:
            sd[f"{dst}.upsample.kernel"] = _rosinality_blur_kernel()
        weight = take(f"{src}.weight")
        if weight.shape[0] != 3:
            raise LganimError(f"the generator has {weight.shape[0]} image channels; only RGB (3) is supported")
        sd[f"{dst}.conv.weight"] = weight.unsqueeze(0)
        sd[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        sd[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")

    layer("conv1", "synthesis.b4.conv1", 0, upsample=False)
    to_rgb("to_rgb1", "synthesis.b4.torgb", upsample=False)
    k, res = 0, 8
    while f"synthesis.b{res}.conv0.weight" in remaining:
        layer(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1, upsample=True)
        layer(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2, upsample=False)
        to_rgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb", upsample=True)
        k, res = k + 1, res * 2
    sd.update(noises)

    reference = _nvidia_resample_filter()
    for key in [k for k in remaining if k.endswith("resample_filter")]:
        if not torch.allclose(remaining.pop(key).float(), reference):
            raise LganimError(f"'{key}' is not the [1,3,3,1] filter; the rosinality layout cannot represent it")
    if remaining:
        raise LganimError(f"the network pickle has {len(remaining)} tensors with no rosinality equivalent "
                          f"(e.g. {sorted(remaining)[:3]}); only the 'skip' StyleGAN2 generator converts")
    return sd, w_avg


def infer_generator_config(state_dict: dict[str, torch.Tensor], lr_mlp: float = 0.01) -> GeneratorConfig:
    """The `GeneratorConfig` a rosinality generator state dict was built with, read from its shapes.

    `lr_mlp` cannot be read from shapes (it scales at run time); 0.01 is the StyleGAN2 value.
    """
    try:
        n_mlp = 0
        while f"style.{n_mlp + 1}.weight" in state_dict:
            n_mlp += 1
        style_dim = state_dict["style.1.weight"].shape[0]
        n_convs = 0
        while f"convs.{n_convs}.conv.weight" in state_dict:
            n_convs += 1
        size = 4 * 2 ** (n_convs // 2)
        table = {4: state_dict["input.input"].shape[1]}
        for k in range(n_convs // 2):
            table[8 * 2 ** k] = state_dict[f"convs.{2 * k}.conv.weight"].shape[1]
    except (KeyError, IndexError, AttributeError) as exc:
        raise LganimError(f"not a rosinality StyleGAN2 generator state dict (missing {exc})") from exc
    if n_convs % 2:
        raise LganimError(f"not a rosinality StyleGAN2 generator state dict ({n_convs} styled convs, "
                          "expected an even number)")
    for m in (2, 1, 4):
        default = GeneratorConfig(size, style_dim, n_mlp, channel_multiplier=m, lr_mlp=lr_mlp).channel_table()
        if all(default.get(r) == c for r, c in table.items()):
            return GeneratorConfig(size, style_dim, n_mlp, channel_multiplier=m, lr_mlp=lr_mlp)
    return GeneratorConfig(size, style_dim, n_mlp, channels=tuple(sorted(table.items())), lr_mlp=lr_mlp)


def read_nvidia_pkl(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], torch.Tensor, GeneratorConfig]:
    """Read `G_ema` from an NVIDIA stylegan2-ada-pytorch / stylegan3 (StyleGAN2 architecture) pickle.

    Returns `(rosinality_state_dict, latent_avg [D], GeneratorConfig)`. The pickle is never executed:
    a restricted unpickler rebuilds tensors and containers only (see `_NVIDIA_PICKLE_GLOBALS`),
    persistent objects keep their state and never run their embedded `module_src`, and every other
    global is refused with a `LganimError`. The config comes from the tensor shapes, checked against
    the pickled constructor arguments (`init_kwargs`) where present.
    """
    path = _existing_file(path)
    nv_state, init_kwargs = _read_nvidia_pickle(path)
    try:
        sd, w_avg = convert_nvidia_state(nv_state)
    except LganimError as exc:
        raise LganimError(f"{path}: {exc}") from exc
    mapping_kwargs = init_kwargs.get("mapping_kwargs") or {}
    config = infer_generator_config(sd, lr_mlp=float(mapping_kwargs.get("lr_multiplier", 0.01)))

    z_dim = sd["style.1.weight"].shape[1]
    problems = []
    if z_dim != config.style_dim:
        problems.append(f"z_dim {z_dim} differs from w_dim {config.style_dim}")
    for key, expected in (("c_dim", 0), ("img_channels", 3), ("img_resolution", config.size),
                          ("w_dim", config.style_dim), ("z_dim", config.style_dim)):
        if key in init_kwargs and init_kwargs[key] != expected:
            problems.append(f"{key}={init_kwargs[key]} (need {expected})")
    if "num_layers" in mapping_kwargs and mapping_kwargs["num_layers"] != config.n_mlp:
        problems.append(f"mapping num_layers={mapping_kwargs['num_layers']} but {config.n_mlp} fc layers stored")
    if problems:
        raise LganimError(f"{path}: cannot convert to the rosinality generator: {'; '.join(problems)}")
    if w_avg is None:
        raise LganimError(f"{path}: the mapping network has no 'w_avg'; it is not a trained G_ema")
    return sd, w_avg, config


# --------------------------------------------------------------------------- our own files

def _config_path(weights: Path) -> Path:
    # HF convention: model.safetensors + config.json; other names get <name>.config.json beside them.
    return weights.with_name("config.json" if weights.stem == "model" else f"{weights.stem}.config.json")


def save_safetensors(directory: str | os.PathLike, state_dict: dict[str, torch.Tensor], config: dict,
                     name: str = "model") -> Path:
    """Write `<name>.safetensors` (+ its config as JSON) into `directory` atomically; returns the weights path.

    Tensors are cloned to contiguous CPU copies first (safetensors refuses shared storage). The config
    is stored both as `config.json` (`<name>.config.json` for other names) and in the file's metadata,
    so a lone `.safetensors` file still carries it. Each file is written to a temporary name and
    renamed, so a failure never leaves a partial file.
    """
    directory = Path(directory)
    if not isinstance(state_dict, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise LganimError("save_safetensors needs a dict of str -> tensor")
    try:
        config_text = json.dumps(config, indent=2, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise LganimError(f"the config of {name} is not JSON-serialisable ({exc})") from exc
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{name}{SAFETENSORS_SUFFIX}"
    written: list[Path] = []
    try:
        tmp_weights = temp_beside(weights)
        written.append(tmp_weights)
        save_file(tensors, str(tmp_weights), metadata={"config": config_text, "format": "pt"})
        tmp_config = temp_beside(_config_path(weights))
        written.append(tmp_config)
        tmp_config.write_text(config_text + "\n", encoding="utf-8")
        publish(tmp_weights, weights)
        publish(tmp_config, _config_path(weights))
    except Exception as exc:  # OSError (disk full, permissions) or a safetensors refusal
        raise LganimError(f"could not write {weights} ({type(exc).__name__}: {exc})") from exc
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)
    return weights


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read `(state_dict, config)` from a directory holding `model.safetensors` or from a `.safetensors` file.

    The config is the JSON file beside the weights (the one people read and edit), else the one stored in the
    file's metadata (a lone `.safetensors` file still carries it), else `{}`.
    """
    path = Path(path)
    weights = path / f"model{SAFETENSORS_SUFFIX}" if path.is_dir() else path
    weights = _existing_file(weights)
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise LganimError(f"{weights} is not a readable safetensors weights file ({exc})") from exc
    try:
        if _config_path(weights).is_file():
            config = json.loads(_config_path(weights).read_text(encoding="utf-8"))
        elif "config" in metadata:
            config = json.loads(metadata["config"])
        else:
            config = {}
    except json.JSONDecodeError as exc:
        raise LganimError(f"the config of {weights} is not valid JSON ({exc})") from exc
    return state, config


def save_generator(directory: str | os.PathLike, generator, name: str = "model") -> Path:
    """Save a `Generator` as lganim's own file: its state dict plus `latent_avg`, config under "generator"."""
    state = dict(generator.state_dict())
    state[LATENT_AVG_KEY] = generator.latent_avg
    return save_safetensors(directory, state, {"generator": generator.config.to_dict()}, name=name)


# --------------------------------------------------------------------------- one entry point

def load_generator(path: str | os.PathLike, config: GeneratorConfig | None = None, device="cpu",
                   dtype: torch.dtype = torch.float32):
    """Load a StyleGAN2 `Generator` from a rosinality `.pt`/`.pth`, an NVIDIA `.pkl`, or our safetensors.

    The format follows the suffix (a directory or `.safetensors` is ours). `config=None` uses the
    file's own config (NVIDIA pickles, our files) or reads it from the tensor shapes (rosinality).
    The state dict loads strictly; a mismatch raises one `LganimError` naming the file and the first
    differing tensor. `latent_avg` comes from the file, else it is the mean of `mapping` over 4096
    z drawn from a fixed-seed `torch.Generator` (the same value on every machine). The result is
    `.eval().requires_grad_(False)` on `device` in `dtype`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    file_config: GeneratorConfig | None = None
    if path.is_dir() or suffix == SAFETENSORS_SUFFIX:
        state, cfg = read_safetensors(path)
        latent_avg = state.pop(LATENT_AVG_KEY, None)
        if isinstance(cfg.get("generator"), dict):
            file_config = _config_from_dict(cfg["generator"], path)
    elif suffix in ROSINALITY_SUFFIXES:
        state, latent_avg = read_rosinality(path)
    elif suffix in NVIDIA_SUFFIXES:
        state, latent_avg, file_config = read_nvidia_pkl(path)
    else:
        raise LganimError(f"{path}: unknown weight format '{suffix}'; use a rosinality .pt/.pth, "
                          f"an NVIDIA .pkl, or a .safetensors file / directory")

    config = config or file_config or infer_generator_config(state)
    model = Generator.from_config(config)
    _check_fits(model.state_dict(), state, path, config)
    model.load_state_dict(state, strict=True)
    model.eval().requires_grad_(False)

    with torch.no_grad():
        if latent_avg is None:
            seeded = torch.Generator().manual_seed(MEAN_LATENT_SEED)
            latent_avg = model.mean_latent(MEAN_LATENT_SAMPLES, generator=seeded)
        if latent_avg.numel() != config.style_dim:
            raise LganimError(f"{path}: latent_avg has shape {list(latent_avg.shape)}, expected [{config.style_dim}]")
        model.latent_avg.copy_(latent_avg.reshape(config.style_dim))
    return model.to(device=device, dtype=dtype)


def _config_from_dict(d: dict, path: Path) -> GeneratorConfig:
    try:
        return GeneratorConfig.from_dict(d)
    except (TypeError, ValueError) as exc:
        raise LganimError(f"{path}: the stored generator config is invalid ({exc})") from exc


def _check_fits(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], path: Path,
                config: GeneratorConfig) -> None:
    """One-line LganimError for the first key/shape difference between the model and the file."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [(k, list(state[k].shape), list(v.shape)) for k, v in expected.items()
                  if k in state and state[k].shape != v.shape]
    problems = []
    if mismatched:
        key, got, want = mismatched[0]
        problems.append(f"'{key}' is {got} in the file but {want} in the model"
                        + (f" (+{len(mismatched) - 1} more shapes)" if len(mismatched) > 1 else ""))
    if missing:
        problems.append(f"{len(missing)} keys missing (e.g. '{missing[0]}')")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. '{unexpected[0]}')")
    if problems:
        raise LganimError(f"{path} does not fit {config}: {'; '.join(problems)}; pass the config the "
                          f"weights were made for, or config=None to read it from the file")


def _existing_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise LganimError(f"weight file not found: {path}")
    return path


__all__ = ["read_rosinality", "read_nvidia_pkl", "convert_nvidia_state", "infer_generator_config",
           "save_safetensors", "read_safetensors", "save_generator", "load_generator"]
