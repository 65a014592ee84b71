"""Face video prediction (FaceAnime's second mode): K plausible futures of one face, all drawn from a seed — each a
sequence of the paper's prompts through the domain's language motion (a trained recurrent generator draws its own
hidden state), with blinks and head sway of idle motion under it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import PAPER_EXPRESSIONS
from ..tracks.idle import idle_track
from .directions import ControlDirections
from .driven import TrackMotion
from .source import MotionSource, MotionSum
from .trained import TrainedMotion


def future_prompt(subject: str, rng: np.random.Generator, steps: int = 2) -> str:
    """A plausible sequence of the paper's expressions, e.g. "The person is smiling; then surprised."."""
    picks = rng.choice(len(PAPER_EXPRESSIONS), size=steps, replace=False)
    names = [PAPER_EXPRESSIONS[int(i)] for i in picks]
    return f"The {subject} is {names[0]}; " + "; ".join(f"then {n}" for n in names[1:]) + "."


@dataclass
class Future:
    """One predicted future of a face: its language motion plus idle motion, and how it was drawn."""

    prompt: str
    source: MotionSum
    generator: torch.Generator               # draws the recurrent generator's hidden state
    info: dict


def futures(language: MotionSource, directions: ControlDirections, subject: str, samples: int, seed: int,
            num_frames: int, fps: int, prompt: str | None = None, diversity: float = 4.0) -> list[Future]:
    """K plausible futures of a face (face video prediction), all drawn from `seed`: each a sequence of the paper's
    prompts (or `prompt`) through the domain's language motion — with a trained recurrent generator, from its own
    hidden-state draw spread by `diversity` — plus blinks and head sway."""
    trained = isinstance(language, TrainedMotion)
    out = []
    for k in range(samples):
        rng = np.random.default_rng([seed, k])
        text = prompt or future_prompt(subject, rng)
        idle_seed, hidden_seed = (int(x) for x in rng.integers(2 ** 31, size=2))
        idle = TrackMotion(idle_track(num_frames, fps, idle_seed), directions)
        motion = TrainedMotion(language.model, language.clip, hidden_scale=diversity) if trained else language
        info = {"prompt": text, "idle_seed": idle_seed}
        if trained:
            info.update(hidden_seed=hidden_seed, diversity=diversity)
        out.append(Future(text, MotionSum([motion, idle]), torch.Generator().manual_seed(hidden_seed), info))
    return out


__all__ = ["future_prompt", "Future", "futures"]
