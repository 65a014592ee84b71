"""Motion sources: one protocol for everything that makes a face move.

A motion source turns a request and the start codes w0 [B, L, D] into a `Motion`: the W+ offsets Δw [B, T, L, D]
(Δw[:, 0] = 0, so frame 0 is the input face), and optionally per-frame transforms of the face in the output and an
audio track to carry into the video. The renderer composes w[t] = w0 + strength · Δw[t].

Sources here: `TrainedMotion` (the paper's recurrent generator) and `MotionSum` (several sources added, e.g. a
prompt's motion on top of a driving track). Prompt fitting (`fitting.FittedMotion`) is the other language source.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .checkpoints import read_safetensors
from .encoders import ClipEncoder
from .errors import LganimError
from .motion import MotionGenerator
from .request import Request
from .sequences import is_sequence, plan_sequence

MOTION_CLIP_FILE = "clip_motion.safetensors"  # fine-tuned motion CLIP text tower written by `lganim train`
Progress = Callable[[int, int, float], None]


@dataclass
class Motion:
    """What a motion source makes for one request."""

    offsets: torch.Tensor                   # Δw [B, T, L, D], Δw[:, 0] = 0
    transforms: np.ndarray | None = None    # [T, 3, 3] where the face sits in frame t relative to frame 0 (pixels of
                                            # the output's face crop; identity: it stays put), or None
    audio: Path | None = None               # an audio file to carry into the video, or None
    track: object | None = None             # the motion track it was made from (tracks.Track), or None


class MotionSource(Protocol):
    """Anything that makes a `Motion`. `needs_first_frames`: it looks at the rendered first frames, which the
    pipeline then renders once, before the motion, and reuses as frame 0."""

    needs_first_frames: bool

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: Progress | None = None) -> Motion:
        """w0 [B, L, D]; first_frames [B, 3, H, W] in [-1, 1] when `needs_first_frames`, else None."""
        ...


class TrainedMotion:
    """The paper's recurrent generator: CLIP text + CLIP image of the first frame → LatentRecurrent → Mapper."""

    needs_first_frames = True

    def __init__(self, model: MotionGenerator, clip: ClipEncoder, hidden_scale: float = 1.0):
        self.model, self.clip, self.hidden_scale = model, clip, hidden_scale   # hidden_scale: `initial_hidden`

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: Progress | None = None) -> Motion:
        """One forward pass per prompt sequence (nothing to report to `progress`)."""
        image = self.clip.encode_image(first_frames)                                  # [B, E]
        dtype = next(self.model.parameters()).dtype
        t, schedule = request.num_frames, request.schedule
        if any(is_sequence(p) for p in request.prompts):
            dw = torch.cat([self.sequence(p, image[i:i + 1].to(dtype), t, schedule, generator)
                            for i, p in enumerate(request.prompts)])
        else:
            text = self.clip.encode_text(list(request.prompts))                      # [B, E]
            dw = self.model(text.to(dtype), image.to(dtype), t, schedule=schedule, generator=generator,
                            hidden_scale=self.hidden_scale)
        return Motion(dw.to(w0))                                                      # [B, T, L, D]

    def sequence(self, prompt: str, image: torch.Tensor, num_frames: int, schedule: str,
                 generator: torch.Generator | None) -> torch.Tensor:
        """Δw [1, T, L, D] of a prompt sequence: each segment continues from the previous one's last state."""
        chunks, state = [], None
        for seg in plan_sequence(prompt, num_frames):
            text = self.clip.encode_text([seg.prompt]).to(image.dtype)               # [1, E]
            dw, state = self.model(text, image, seg.frames, schedule=schedule, generator=generator,
                                   initial_state=state, return_state=True, hidden_scale=self.hidden_scale)
            chunks.append(dw)
        return torch.cat(chunks, dim=1)


class MotionSum:
    """Several sources at once: their offsets add; the first source's transforms, audio and track are kept."""

    def __init__(self, sources: Sequence[MotionSource]):
        if not sources:
            raise LganimError("MotionSum needs at least one motion source.")
        self.sources = list(sources)
        self.needs_first_frames = any(s.needs_first_frames for s in self.sources)

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: Progress | None = None) -> Motion:
        parts = [s.motion(request, w0, first_frames, generator=generator, progress=progress) for s in self.sources]
        total = parts[0]
        return Motion(sum(p.offsets for p in parts), total.transforms, total.audio, total.track)


def load_clip_text_tower(clip: ClipEncoder, path: Path) -> None:
    """Load a fine-tuned CLIP text tower (a subset of the CLIP state dict, safetensors) into a ClipEncoder."""
    state, _ = read_safetensors(path)
    own = clip.model.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise LganimError(f"{path} does not fit this CLIP model ({bad[0]}): it was trained with another CLIP.")
    clip.model.load_state_dict({k: v.to(own[k]) for k, v in state.items()}, strict=False)


__all__ = ["MOTION_CLIP_FILE", "Motion", "MotionSource", "TrainedMotion", "MotionSum", "load_clip_text_tower"]
