"""Start codes: where each clip's first frame w0 [B, L, D] comes from.

- a seed: z ~ N(0, I) from a seeded CPU `torch.Generator` → the mapping network → truncation towards the mean W;
- a photo: its face found and aligned as FFHQ is (dlib), then inverted with e4e (optionally refined by
  optimisation), with the photo kept as the canvas the animated crop is pasted back into.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import MAX_VIDEO_SIDE, LossProgress
from .errors import LganimError
from .face.align import AlignedFace, align_face
from .face.photo import load_photo
from .models.e4e import invert, refine
from .models.stylegan2 import Generator
from .weights.encoders import load_e4e
from .weights.hub import fetch
from .weights.registry import Domain, WeightFile


def z_codes(seeds: Sequence[int], style_dim: int) -> torch.Tensor:
    """z [B, D] ~ N(0, I), one row per seed from its own CPU generator (the same on every machine and device)."""
    return torch.cat([torch.randn(1, style_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


def codes_from_z(stylegan: Generator, z: torch.Tensor, truncation: float) -> torch.Tensor:
    """W+ codes [B, L, D] of z [B, D]: mapping, truncation ψ towards the mean W, one W for every layer."""
    with torch.no_grad():
        w = stylegan.mapping(z.to(stylegan.device, stylegan.dtype))                              # [B, D]
        return stylegan.broadcast_ws(stylegan.truncate(w, truncation)).contiguous()


def seed_codes(stylegan: Generator, seeds: Sequence[int], truncation: float) -> torch.Tensor:
    """W+ start codes [B, L, D], one per seed."""
    return codes_from_z(stylegan, z_codes(seeds, stylegan.style_dim), truncation)


@dataclass
class PhotoFace:
    """A user's photo, the face found in it, and the photo the animated face is pasted back into."""

    aligned: AlignedFace              # crop at the StyleGAN2's resolution + where it sits in `canvas`
    canvas: np.ndarray | None         # uint8 [H, W, 3] (photo scaled to ≤ MAX_VIDEO_SIDE); None: no paste-back


class PhotoEncoder:
    """Photos → W+ start codes for one domain's StyleGAN2: align the face, invert it with e4e.

    encoder: the e4e file (a path, or the public file fetched on the first photo); None: the domain has no
    photo encoder, and a photo is a user mistake.
    """

    def __init__(self, domain: Domain, stylegan: Generator, encoder: Path | WeightFile | None):
        self.domain, self.stylegan, self.source = domain, stylegan, encoder
        self._encoder = None

    def encoder(self) -> tuple[torch.nn.Module, torch.Tensor]:
        """The e4e encoder and its latent_avg [L, D], loaded on the first photo."""
        if self._encoder is None:
            path = fetch(self.source) if isinstance(self.source, WeightFile) else self.source
            self._encoder = load_e4e(path, device=self.stylegan.device, dtype=self.stylegan.dtype)
        return self._encoder

    def read(self, image, face_index: int = 0, paste_back: bool = True) -> PhotoFace:
        """Load a photo (path, bytes, PIL or array), find and align its face at the StyleGAN2's resolution."""
        if self.source is None:
            raise LganimError(f"Photos work with the human domain only (the {self.domain.name} StyleGAN2 has no "
                              f"public photo encoder): use a seed to sample a {self.domain.subject}.")
        photo = load_photo(image)
        aligned = align_face(photo, size=self.stylegan.size, face_index=face_index)
        if not paste_back:
            return PhotoFace(aligned, None)
        scale = min(1.0, MAX_VIDEO_SIDE / max(photo.shape[:2]))
        if scale < 1.0:
            h, w = round(photo.shape[0] * scale), round(photo.shape[1] * scale)
            photo = np.asarray(Image.fromarray(photo).resize((w, h), Image.Resampling.LANCZOS))
            aligned = dataclasses.replace(aligned, quad=aligned.quad * scale, landmarks=aligned.landmarks * scale,
                                          photo_shape=(h, w))
        return PhotoFace(aligned, photo)

    def invert(self, face: PhotoFace, refine_steps: int = 0, progress: LossProgress | None = None) -> torch.Tensor:
        """The aligned face's W+ code from the e4e encoder, optionally refined by optimisation: [1, L, D]."""
        encoder, latent_avg = self.encoder()
        w = invert(encoder, latent_avg, face.aligned.image[None])
        if refine_steps:
            if progress is not None:                    # its first step is slow: say it begins (no loss yet)
                progress(0, refine_steps, math.nan)
            w = refine(w, face.aligned.image[None], self.stylegan.synthesis, steps=refine_steps, w_reg=0.1,
                       progress=progress)
        if w.shape[1:] != (self.stylegan.num_ws, self.stylegan.style_dim):
            raise LganimError(f"The photo encoder gives {tuple(w.shape[1:])} codes but the StyleGAN2 needs "
                              f"({self.stylegan.num_ws}, {self.stylegan.style_dim}).")
        return w


__all__ = ["z_codes", "codes_from_z", "seed_codes", "PhotoFace", "PhotoEncoder"]
