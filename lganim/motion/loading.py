"""Which motion source a domain animates with: training-free prompt fitting, a motion folder that `lganim train`
wrote, or a checkpoint file of the authors' training script (with its fine-tuned CLIP)."""
from __future__ import annotations

from pathlib import Path

from ..config import FitSettings
from ..errors import LganimError
from ..models.clip import clip_from_state_dict
from ..models.stylegan2 import Generator
from ..weights.domain_files import DomainFiles, resolve
from ..weights.encoders import load_clip
from ..weights.motion_files import MOTION_CLIP_FILE, load_clip_text_tower, load_motion, load_official
from ..weights.registry import Domain
from .fitted import FittedMotion, build_fitter
from .source import MotionSource
from .trained import TrainedMotion


def load_motion_source(domain: Domain, files: DomainFiles, stylegan: Generator, motion: str | Path | None,
                       fit_settings: FitSettings) -> MotionSource:
    """The motion source `motion` names for a loaded StyleGAN2 (see `Animator.from_pretrained`)."""
    if str(motion) == "fit" or (motion is None and files.motion is None):
        return FittedMotion(build_fitter(domain, files, stylegan, settings=fit_settings))
    device, dtype = stylegan.device, stylegan.dtype
    path = Path(motion) if motion is not None else files.motion
    if path.is_file():                                   # a checkpoint of the authors' training script
        model, clip_state = load_official(path, stylegan.style_dim, device=device, dtype=dtype)
        clip = (clip_from_state_dict(clip_state, device, dtype, name=f"fine-tuned CLIP of {path.name}")
                if clip_state else load_clip(resolve(files.clip_motion), device=device, dtype=dtype))
    elif (path / "config.json").is_file():
        model = load_motion(path, device=device, dtype=dtype)
        clip = load_clip(resolve(files.clip_motion), device=device, dtype=dtype)
        if (path / MOTION_CLIP_FILE).is_file():
            load_clip_text_tower(clip, path / MOTION_CLIP_FILE)
    else:
        raise LganimError(f"{path} is not a motion checkpoint folder (no config.json in it).")
    if model.config.num_ws != stylegan.num_ws or model.config.style_dim != stylegan.style_dim:
        raise LganimError(f"The motion model in {path} drives {model.config.num_ws}×{model.config.style_dim} W+ "
                          f"codes but the {domain.name} StyleGAN2 has {stylegan.num_ws}×{stylegan.style_dim}.")
    return TrainedMotion(model, clip)


__all__ = ["load_motion_source"]
