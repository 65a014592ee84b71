"""Motion sources: one protocol for everything that makes a face move.

A motion source turns a request and the start codes w0 [B, L, D] into a `Motion`: the W+ offsets Δw [B, T, L, D]
(Δw[:, 0] = 0, so frame 0 is the input face), and optionally per-frame transforms of the face in the output, an
audio track to carry into the video and the motion track it was made from. The renderer composes
w[t] = w0 + strength · Δw[t].

The sources: `TrainedMotion` (the paper's recurrent generator, trained.py) and `FittedMotion` (training-free prompt
fitting, fitted.py) read the request's prompts; `TrackMotion` (driven.py) follows a motion track; `MotionSum`
(here) runs several at once, e.g. a prompt's motion on top of a driving track, or idle motion under a predicted
future.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .. import checks
from ..config import MAX_PROMPT_CHARS, LossProgress
from ..errors import LganimError
from ..face.composite import compose
from ..media.audio import Audio
from ..request import Request
from ..tracks.track import Track


@dataclass
class Motion:
    """What a motion source makes for one request."""

    offsets: torch.Tensor                   # Δw [B, T, L, D], Δw[:, 0] = 0
    transforms: np.ndarray | None = None    # [T, 3, 3] where the face sits in frame t relative to frame 0 (crop
                                            # units, face.composite.crop_transform); None: it stays put
    audio: Audio | Path | None = None       # the sound to carry into the video: samples, or a media file whose sound
                                            # is carried as it is (an edited video's own); None: silent
    track: Track | None = None              # the motion track it was made from, or None


class MotionSource(Protocol):
    """Anything that makes a `Motion`.

    needs_first_frames: it looks at the rendered first frames, which the pipeline then renders once, before the
    motion, and reuses as frame 0. needs_prompts: it reads the request's prompts (a request without any is refused
    before any work).
    """

    needs_first_frames: bool
    needs_prompts: bool

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Motion:
        """w0 [B, L, D]; first_frames [B, 3, H, W] in [-1, 1] when `needs_first_frames`, else None. `generator`:
        the source's randomness; `progress(step, steps, loss)`: a slow optimisation it runs."""
        ...


class LanguageMotion:
    """What the two language sources share: the prompts they animate are the request's, or their own when bound to
    one (`with_prompt`: a prompt's motion on top of a driving track, whose request has no prompts)."""

    prompts: tuple[str, ...] | None = None

    @property
    def needs_prompts(self) -> bool:
        return self.prompts is None

    def with_prompt(self, prompt: str):
        """This source animating `prompt` for every clip of any request (a shallow copy: models are shared)."""
        bound = copy.copy(self)
        bound.prompts = (checks.text("prompt", prompt, 'describe the motion, e.g. "The person is smiling."',
                                     MAX_PROMPT_CHARS),)
        return bound

    def prompts_for(self, request: Request) -> tuple[str, ...]:
        """One prompt per clip of `request`."""
        if self.prompts is not None:
            return self.prompts * request.batch
        if not request.prompts:
            raise LganimError('Give at least one prompt: describe the motion, e.g. "The person is smiling."')
        return request.prompts


class MotionSum:
    """Several sources at once: their offsets add, their crop transforms compose (each frame moves by all of them),
    and the motion keeps the first track and the first audio any of them has."""

    def __init__(self, sources: Sequence[MotionSource]):
        if not sources:
            raise LganimError("MotionSum needs at least one motion source.")
        self.sources = list(sources)
        self.needs_first_frames = any(s.needs_first_frames for s in self.sources)
        self.needs_prompts = any(s.needs_prompts for s in self.sources)

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Motion:
        parts = [s.motion(request, w0, first_frames, generator=generator, progress=progress) for s in self.sources]
        return Motion(offsets=sum(p.offsets for p in parts),                              # [B, T, L, D]
                      transforms=compose(*(p.transforms for p in parts)),                 # [T, 3, 3] or None
                      audio=next((p.audio for p in parts if p.audio is not None), None),
                      track=next((p.track for p in parts if p.track is not None), None))


__all__ = ["Motion", "MotionSource", "LanguageMotion", "MotionSum"]
