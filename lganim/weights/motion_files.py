"""The motion generator's files: lganim's own folder (config.json + model.safetensors, written by `train`), the
authors' training checkpoints (`{'iter', 'arch', 'state_dict', 'optimizer'}`, state_dict from the DDP-wrapped
UniEditModelv1: module.encoder.* / rnn.* / mapper.*), and the fine-tuned CLIP text tower a training run saves."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..config import MotionConfig
from ..errors import LganimError
from ..files import atomic_dir
from ..models.clip import ClipEncoder
from ..models.motion_generator import MotionGenerator
from .formats import load_torch, read_safetensors, save_safetensors

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FILE_FORMAT = "lganim.motion"
FILE_VERSION = 1
MOTION_CLIP_FILE = "clip_motion.safetensors"  # fine-tuned motion CLIP text tower written by `lganim train`


def save_motion(model: MotionGenerator, directory: str | os.PathLike) -> Path:
    """Write config.json + model.safetensors into `directory` atomically (the whole folder); returns it."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise LganimError(f"cannot save the motion model to {target}: it is a file, choose a folder")
    if target.is_dir():
        extra = sorted(p.name for p in target.iterdir() if p.name not in (WEIGHTS_FILE, CONFIG_FILE))
        if extra:
            raise LganimError(f"refusing to overwrite {target}: it holds other files ({', '.join(extra[:3])})")
    meta = {"format": FILE_FORMAT, "version": FILE_VERSION, "config": model.config.to_dict()}
    with atomic_dir(target) as tmp:
        save_safetensors(tmp, model.state_dict(), meta)
    return target


def load_motion(directory: str | os.PathLike, device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32, *, trainable: bool = False) -> MotionGenerator:
    """Read a folder written by `save_motion`. Returns the model on `device`/`dtype`, in eval mode with gradients
    off unless `trainable`."""
    folder = Path(directory)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise LganimError(f"{folder} is not a saved motion model: it needs {CONFIG_FILE} and {WEIGHTS_FILE}")
    tensors, meta = read_safetensors(folder)
    try:
        if meta.get("format") != FILE_FORMAT:
            raise ValueError(f"format {meta.get('format')!r}")
        config = MotionConfig.from_dict(meta["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise LganimError(f"{folder / CONFIG_FILE} is not a valid motion config ({e}); re-save the model") from None
    with torch.device("meta"):
        model = MotionGenerator(config)
    _load_strict(model, tensors, str(folder / WEIGHTS_FILE), assign=True)
    model = model.to(device=device, dtype=dtype)
    if not trainable:
        model.eval().requires_grad_(False)
    return model


def _official_model_dict(checkpoint: Mapping) -> dict[str, torch.Tensor]:
    if not isinstance(checkpoint, Mapping):
        raise LganimError(f"expected an official checkpoint dict, got {type(checkpoint).__name__}")
    sd = checkpoint.get("state_dict", checkpoint)
    if not isinstance(sd, Mapping):
        raise LganimError("the checkpoint's 'state_dict' is not a dict of tensors")
    out = {}
    for key, value in sd.items():
        if not isinstance(value, torch.Tensor):
            raise LganimError(f"checkpoint entry {key!r} is not a tensor")
        out[key[len("module."):] if key.startswith("module.") else key] = value
    return out


def official_motion_config(checkpoint: Mapping, style_dim: int = 512, **overrides) -> MotionConfig:
    """MotionConfig whose shapes fit an official checkpoint (dims read from the tensors)."""
    sd = _official_model_dict(checkpoint)
    try:
        fc1, first, last = sd["rnn.fc1.weight"], sd["mapper.t_mapper.1.weight"], sd["mapper.t_mapper.3.weight"]
    except KeyError as e:
        raise LganimError(f"not an official motion checkpoint: {e.args[0]} is missing") from None
    if last.shape[0] % style_dim:
        raise LganimError(f"t_mapper output {last.shape[0]} is not a multiple of style_dim {style_dim}")
    fields = dict(num_ws=last.shape[0] // style_dim, style_dim=style_dim, embed_dim=fc1.shape[1],
                  hidden_dim=fc1.shape[0], mapper_dim=first.shape[0],
                  use_image_mapper=any(k.startswith("mapper.v_mapper.") for k in sd))
    fields.update(overrides)
    return MotionConfig(**fields)


def load_official_state_dict(model: MotionGenerator, checkpoint: Mapping) -> dict[str, torch.Tensor]:
    """Load an official checkpoint's motion weights into `model`; return its CLIP weights.

    `checkpoint` is the official file's dict ({'state_dict': ...}) or the state dict itself, with or
    without the DDP `module.` prefix. `rnn.*` and `mapper.*` load strictly (image-mapper tensors are
    dropped when the model has no image mapper); the `encoder.*` tensors come back with the prefix
    removed, a full CLIP state dict for `clip.model.build_model`.
    """
    sd = _official_model_dict(checkpoint)
    clip_sd = {k[len("encoder."):]: v for k, v in sd.items() if k.startswith("encoder.")}
    ours = {k: v for k, v in sd.items() if not k.startswith("encoder.")}
    if not hasattr(model.mapper, "v_mapper"):
        ours = {k: v for k, v in ours.items() if not k.startswith("mapper.v_mapper.")}
    _load_strict(model, ours, "the official checkpoint")
    return clip_sd


def load_official(path: str | os.PathLike, style_dim: int, device: str | torch.device = "cpu",
                  dtype: torch.dtype = torch.float32) -> tuple[MotionGenerator, dict[str, torch.Tensor]]:
    """An official training checkpoint file -> (frozen MotionGenerator, its fine-tuned CLIP state dict).

    The file is the official `{'iter', 'arch', 'state_dict', 'optimizer'}` dict; it is read with
    `weights_only=True` and its shapes give the config (`style_dim` is the generator's).
    """
    checkpoint = load_torch(path, "an official motion checkpoint (the authors' training script)")
    model = MotionGenerator(official_motion_config(checkpoint, style_dim))
    clip_state = load_official_state_dict(model, checkpoint)
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False), clip_state


def _load_strict(model: nn.Module, tensors: Mapping[str, torch.Tensor], source: str, assign: bool = False) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise LganimError(f"{source} does not fit this motion model: missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]}")
    for key, ref in expected.items():
        if tuple(tensors[key].shape) != tuple(ref.shape):
            raise LganimError(f"{source}: {key} has shape {tuple(tensors[key].shape)}, the model expects "
                              f"{tuple(ref.shape)}; build the model with a matching MotionConfig")
    model.load_state_dict(dict(tensors), strict=True, assign=assign)


def load_clip_text_tower(clip: ClipEncoder, path: Path) -> None:
    """Load a fine-tuned CLIP text tower (a subset of the CLIP state dict, safetensors) into a ClipEncoder."""
    state, _ = read_safetensors(path)
    own = clip.model.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise LganimError(f"{path} does not fit this CLIP model ({bad[0]}): it was trained with another CLIP.")
    clip.model.load_state_dict({k: v.to(own[k]) for k, v in state.items()}, strict=False)


__all__ = ["WEIGHTS_FILE", "CONFIG_FILE", "MOTION_CLIP_FILE", "save_motion", "load_motion", "official_motion_config",
           "load_official_state_dict", "load_official", "load_clip_text_tower"]
