"""NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles (`.pkl`), read without running them.

They embed Python source and would run it when unpickled plainly. A restricted unpickler rebuilds containers and
tensors only (`_NVIDIA_PICKLE_GLOBALS`; every other global is refused), persistent objects keep their state and
never run their embedded `module_src`, and the StyleGAN2 `G_ema` is converted to the rosinality layout
(docs/facts.md, "Checkpoints", has the mapping).
"""
from __future__ import annotations

import codecs
import collections
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from ..errors import LganimError


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


def read_nvidia_g_ema(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
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


__all__ = ["convert_nvidia_state", "read_nvidia_g_ema"]
