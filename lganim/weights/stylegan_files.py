"""StyleGAN2 generator files into a ready `Generator` (eval mode, no grads, `latent_avg` set).

Three formats, by suffix:
- rosinality `.pt`/`.pth`/`.ckpt`: `{"g_ema": state_dict, "latent_avg": [D]?, ...}` (or a bare state dict),
  read with `torch.load(..., weights_only=True)`;
- NVIDIA stylegan2-ada-pytorch / stylegan3 network pickles (`.pkl`), through the restricted reader of `nvidia.py`;
- lganim's own: a `.safetensors` file or a folder holding `model.safetensors`, with its config.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from ..config import GeneratorConfig
from ..errors import LganimError
from ..models.stylegan2 import Generator
from .formats import (
    SAFETENSORS_SUFFIX,
    existing_file,
    load_torch,
    read_safetensors,
)
from .nvidia import convert_nvidia_state, read_nvidia_g_ema

ROSINALITY_SUFFIXES = (".pt", ".pth", ".ckpt")


NVIDIA_SUFFIXES = (".pkl",)


LATENT_AVG_KEY = "latent_avg"   # extra tensor in our generator files: mean W [D]


MEAN_LATENT_SAMPLES = 4096      # z samples for latent_avg when a file has none


MEAN_LATENT_SEED = 0


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





def read_nvidia_pkl(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], torch.Tensor, GeneratorConfig]:
    """Read `G_ema` from an NVIDIA stylegan2-ada-pytorch / stylegan3 (StyleGAN2 architecture) pickle.

    Returns `(rosinality_state_dict, latent_avg [D], GeneratorConfig)`. The pickle is never executed:
    a restricted unpickler rebuilds tensors and containers only (see `_NVIDIA_PICKLE_GLOBALS`),
    persistent objects keep their state and never run their embedded `module_src`, and every other
    global is refused with a `LganimError`. The config comes from the tensor shapes, checked against
    the pickled constructor arguments (`init_kwargs`) where present.
    """
    path = existing_file(path)
    nv_state, init_kwargs = read_nvidia_g_ema(path)
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


__all__ = ["read_rosinality", "read_nvidia_pkl", "infer_generator_config", "load_generator"]
