"""What a request becomes before its frames are rendered (`Plan`: start codes and motion), and the frames as they
are rendered (`FrameChunk`). The pipeline makes both; the output stage (outputs.py) consumes them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from .motion.source import Motion
from .request import Request
from .startcodes import PhotoFace


@dataclass
class Plan:
    """A request resolved to tensors: the start codes and the motion, computed once.

    video_fps: the rate its video is written at (None: the request's fps; a face driven by a video at that video's
    own frame times has its average rate). envelope: for a face driven by speech, the speech envelope per frame in
    [0, 1] (what the mouth follows), else None. warnings: lines the result must show (a fit its time budget
    stopped: "fitted 12 of 100 steps in 120 s: the motion may be weak").
    """

    request: Request
    w0: torch.Tensor                        # [B, L, D] start codes
    motion: Motion                          # Δw [B, T, L, D] (+ transforms, audio, track)
    truncation: float                       # ψ the seeded start codes were drawn with
    photo: PhotoFace | None = None
    first_frames: torch.Tensor | None = None  # [B, 3, H, W] frame 0, when the motion source rendered it
    video_fps: float | None = None
    envelope: np.ndarray | None = None      # [T] in [0, 1]
    warnings: tuple[str, ...] = ()

    @property
    def ws(self) -> torch.Tensor:
        """W+ code of every frame, w[t] = w0 + strength · Δw[t]: [B, T, L, D]."""
        return self.w0[:, None] + self.request.strength * self.motion.offsets.to(self.w0)

    @property
    def fps(self) -> float:
        """Frames per second of its video."""
        return self.video_fps or float(self.request.fps)

    def to(self, device: torch.device | str) -> Plan:
        """The same plan with its tensors on `device` (the CPU to keep it, or to send it to another process)."""
        first = None if self.first_frames is None else self.first_frames.to(device)
        motion = dataclasses.replace(self.motion, offsets=self.motion.offsets.to(device))
        return dataclasses.replace(self, w0=self.w0.to(device), motion=motion, first_frames=first)


@dataclass
class FrameChunk:
    """Frames [index, index + n) of every clip in the batch."""

    index: int                        # the time step of its first frame
    frames: np.ndarray                # uint8 [B, n, H, W, 3]
    source: np.ndarray | None = None  # uint8 [n, H, W, 3]: the frames they were made from (an edited video's own),
                                      # else None


__all__ = ["Plan", "FrameChunk"]
