"""The paper's trained recurrent generator as a motion source (the authors never released theirs: the weights come
from `python -m lganim train`, or from a checkpoint of the authors' training script)."""
from __future__ import annotations

import torch

from ..config import LossProgress
from ..models.clip import ClipEncoder
from ..models.motion_generator import MotionGenerator
from ..request import Request
from .sequences import is_sequence, plan_sequence
from .source import LanguageMotion, Motion


class TrainedMotion(LanguageMotion):
    """The paper's recurrent generator: CLIP text + CLIP image of the first frame → LatentRecurrent → Mapper."""

    needs_first_frames = True

    def __init__(self, model: MotionGenerator, clip: ClipEncoder, hidden_scale: float = 1.0):
        self.model, self.clip, self.hidden_scale = model, clip, hidden_scale   # hidden_scale: `initial_hidden`

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Motion:
        """One forward pass per prompt sequence (nothing to report to `progress`)."""
        prompts = self.prompts_for(request)
        image = self.clip.encode_image(first_frames)                                  # [B, E]
        dtype = self.model.dtype
        t, schedule = request.num_frames, request.schedule
        if any(is_sequence(p) for p in prompts):
            dw = torch.cat([self.sequence(p, image[i:i + 1].to(dtype), t, schedule, generator)
                            for i, p in enumerate(prompts)])
        else:
            text = self.clip.encode_text(list(prompts))                              # [B, E]
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


__all__ = ["TrainedMotion"]
