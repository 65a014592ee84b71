"""The encoders' files: OpenAI's CLIP (RN50, ViT-B/32) from the Hub as open_clip keeps them, the e4e photo encoder
(only its `encoder.*` tensors of the 1.2 GB file), and ArcFace IR-SE50 (identity loss and metric, optional).

CLIP: OpenAI's download URLs (clip-anytorch's `clip.load`) answer 404, so the same weights come from the Hub's
open_clip files (safetensors first, then the pickle read weights-only; the same tensor names as clip-anytorch's)
and are built with clip-anytorch's `build_model`: no TorchScript, no OpenAI URL (docs/facts.md, "Checkpoints").
"""
from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors

from ..errors import LganimError
from ..models.clip import ClipEncoder, clip_from_state_dict
from ..models.e4e import E4EConfig, E4EEncoder
from ..models.irse import IRSE50, ArcFaceIdentity
from .formats import load_torch
from .hub import cached_file, fetch
from .registry import ARCFACE_IRSE50, CLIP_FILES

CLIP_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def clip_file(name: str) -> Path:
    """The weights of OpenAI's CLIP `name` ("RN50" or "ViT-B/32"): a copy placed by hand, else the Hub's open_clip
    safetensors file, else its pickle (`domains.CLIP_FILES`). The first file's error if none can be had."""
    try:
        files = CLIP_FILES[name]
    except KeyError:
        raise LganimError(f"Unknown CLIP model {name!r}; choose one of {', '.join(CLIP_FILES)}.") from None
    errors = []
    for weight in files:
        try:
            return fetch(weight)
        except LganimError as err:
            errors.append(err)
    raise errors[0]


def read_clip_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A CLIP state dict from a `.safetensors` file or a weights-only PyTorch file (no TorchScript archives: their
    code would run when loaded)."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        try:
            return load_safetensors(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise LganimError(f"{path} is not a readable safetensors file of CLIP weights ({err}).") from None
    if zipfile.is_zipfile(path) and any(n.endswith("/constants.pkl") for n in zipfile.ZipFile(path).namelist()):
        raise LganimError(f"{path.name} is a TorchScript archive (OpenAI's original download), which lganim does not "
                          f"run; use the same weights from the Hub: {CLIP_FILES['RN50'][0].url} or "
                          f"{CLIP_FILES['ViT-B/32'][0].url}.")
    state = load_torch(path, "a CLIP state dict")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LganimError(f"{path.name} does not hold a CLIP state dict of tensors.")
    return state


def load_clip(name_or_path, device="cpu", dtype: torch.dtype = torch.float32) -> ClipEncoder:
    """Load a frozen CLIP — "RN50", "ViT-B/32" (OpenAI's weights, from the Hub or placed by hand) or the path of a
    CLIP state-dict file — as a `ClipEncoder` on `device` in `dtype`.

    The model is built from the tensors with clip-anytorch's `build_model`, which reads the architecture off
    their shapes (OpenAI's released values are fp16: the builder's fp16 round trip loses nothing).
    """
    if dtype not in CLIP_DTYPES:
        raise LganimError(f"CLIP dtype must be one of float32, float16, bfloat16, got {dtype}.")
    name = str(name_or_path)
    if name in CLIP_FILES:
        path = clip_file(name)
    elif os.path.isfile(name):
        path = Path(name)
    else:
        raise LganimError(f"No CLIP model file at '{name}'; give a model name ({', '.join(CLIP_FILES)}) or the path "
                          "of a CLIP state-dict file (.safetensors, .bin, .pt).")
    return clip_from_state_dict(read_clip_state_dict(path), device, dtype, name=name)


def _infer_config(sd: dict[str, torch.Tensor]) -> E4EConfig:
    """Recover an E4EConfig from an encoder state dict (no prefix) by its key names and shapes."""
    units = sorted({int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.", k))})
    styles = sorted({int(m.group(1)) for k in sd if (m := re.match(r"styles\.(\d+)\.", k))})
    if not units or not styles:
        raise KeyError("no body/styles keys")
    widths = [sd[f"body.{u}.res_layer.1.weight"].shape[0] for u in units]
    stage_channels, stage_units = [], []
    for w in widths:
        if stage_channels and stage_channels[-1] == w:
            stage_units[-1] += 1
        else:
            stage_channels.append(w)
            stage_units.append(1)
    n_convs = [len({k for k in sd if re.match(rf"styles\.{i}\.convs\.\d+\.weight$", k)}) for i in styles]
    coarse_ind = next((i for i, n in enumerate(n_convs) if n > n_convs[0]), len(styles))
    middle_ind = next((i for i, n in enumerate(n_convs) if n > n_convs[0] + 1), len(styles))
    fc1 = sd[f"body.{units[0]}.res_layer.5.fc1.weight"]
    return E4EConfig(
        input_size=16 * 2 ** n_convs[0],
        stage_channels=tuple(stage_channels),
        stage_units=tuple(stage_units),
        num_ws=len(styles),
        style_dim=sd["styles.0.linear.weight"].shape[0],
        coarse_ind=max(coarse_ind, 1),
        middle_ind=max(middle_ind, coarse_ind + 1, 2),
        se_reduction=max(fc1.shape[1] // fc1.shape[0], 1),
    )


def load_e4e(path: str | os.PathLike, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> tuple[E4EEncoder, torch.Tensor]:
    """Load an e4e encoder and its `latent_avg` from a checkpoint.

    The checkpoint is `{"state_dict": {"encoder.*": ..., "decoder.*": ...}, "opts": dict,
    "latent_avg": [num_ws, style_dim] or [style_dim]}` (the public `e4e_ffhq_encode.pt`, or the
    project's own smaller encoders, which may add `"e4e_config": E4EConfig.to_dict()`). Only the
    `encoder.*` tensors and `latent_avg` are read; the file is memory-mapped, so the generator weights
    in it are never loaded into memory.

    Returns:
        (encoder in eval mode without gradients, on `device` in `dtype`; latent_avg [num_ws, style_dim]).
    """
    name = os.path.basename(os.fspath(path))
    ckpt = load_torch(path, "an e4e checkpoint (e4e_ffhq_encode.pt)", mmap=True)
    sd = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict):
        raise LganimError(f"'{name}' is not an e4e checkpoint (no 'state_dict'); use e4e_ffhq_encode.pt.")
    enc_sd = {k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}
    if not enc_sd:
        raise LganimError(f"'{name}' has no encoder weights ('encoder.*' keys); use e4e_ffhq_encode.pt.")
    try:
        cfg = (E4EConfig.from_dict(ckpt["e4e_config"]) if isinstance(ckpt.get("e4e_config"), dict)
               else _infer_config(enc_sd))
        with torch.device("meta"):
            encoder = E4EEncoder(cfg)
        # copy=True: own, contiguous tensors (never views into the mapped file or a shared storage).
        encoder.load_state_dict(
            {k: v.to(device=device, dtype=dtype if v.is_floating_point() else v.dtype, copy=True)
             for k, v in enc_sd.items()}, strict=True, assign=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise LganimError(f"The encoder weights in '{name}' do not fit an e4e encoder "
                          f"({str(exc).splitlines()[0][:200]}).") from None
    latent_avg = ckpt.get("latent_avg")
    if not isinstance(latent_avg, torch.Tensor):
        raise LganimError(f"'{name}' has no 'latent_avg'; use an e4e checkpoint saved with it.")
    if latent_avg.ndim == 1:
        latent_avg = latent_avg.unsqueeze(0).expand(cfg.num_ws, -1)
    if tuple(latent_avg.shape) != (cfg.num_ws, cfg.style_dim):
        raise LganimError(f"'{name}' has latent_avg of shape {tuple(latent_avg.shape)}, "
                          f"expected ({cfg.num_ws}, {cfg.style_dim}).")
    latent_avg = latent_avg.to(device=device, dtype=dtype, copy=True).contiguous()
    del ckpt, sd, enc_sd
    return encoder.eval().requires_grad_(False), latent_avg


def load_arcface(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 path: str | None = None) -> ArcFaceIdentity | None:
    """The ArcFace identity network if `ir_se50.pth` is on disk (given, local weights/ or Hub cache), else None.

    Never downloads: the identity term and metric are optional.
    """
    found = Path(path) if path else cached_file(ARCFACE_IRSE50)
    if found is None:
        return None
    if not found.is_file():
        raise LganimError(f"No ArcFace weights at {found}: give the path of ir_se50.pth.")
    net = IRSE50()
    state = load_torch(found, "the ArcFace IR-SE50 file ir_se50.pth")
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as e:
        raise LganimError(f"{found} is not the ArcFace IR-SE50 file ir_se50.pth ({type(e).__name__}).") from None
    return ArcFaceIdentity(net.to(device=device, dtype=dtype))



__all__ = ["clip_file", "read_clip_state_dict", "load_clip", "load_e4e", "load_arcface"]
