"""Frozen configs: each is also the contract of the constructor it configures.

No file paths live here: where files come from is `hub.py`, how they are read is `checkpoints.py`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .errors import LganimError


@dataclass(frozen=True)
class GeneratorConfig:
    """StyleGAN2 generator in the rosinality layout.

    `channels` overrides the per-resolution channel table as ((resolution, channels), ...); None keeps
    rosinality's table {4..32: 512, 64: 256m, 128: 128m, 256: 64m, 512: 32m, 1024: 16m} (m = channel_multiplier).
    """

    size: int
    style_dim: int = 512
    n_mlp: int = 8
    channel_multiplier: int = 2
    channels: tuple[tuple[int, int], ...] | None = None
    lr_mlp: float = 0.01

    def __post_init__(self):
        if self.size < 4 or self.size & (self.size - 1):
            raise ValueError(f"generator size must be a power of two >= 4, got {self.size}")

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def num_ws(self) -> int:
        """Number of W+ layers (rosinality's n_latent): 18 at 1024 px, 16 at 512, 14 at 256."""
        return self.log_size * 2 - 2

    def channel_table(self) -> dict[int, int]:
        if self.channels is not None:
            return dict(self.channels)
        m = self.channel_multiplier
        return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * m, 128: 128 * m, 256: 64 * m,
                512: 32 * m, 1024: 16 * m}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = [list(p) for p in self.channels] if self.channels else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        d = dict(d)
        if d.get("channels") is not None:
            d["channels"] = tuple(tuple(p) for p in d["channels"])
        return cls(**d)


@dataclass(frozen=True)
class MotionConfig:
    """The paper's recurrent motion generator (LatentRecurrent + two Mappers).

    Defaults are the official code's settings (see docs/motion.md).
    """

    num_ws: int = 18            # W+ layers of the generator it drives
    style_dim: int = 512        # width of one W code
    embed_dim: int = 1024       # CLIP embedding width (RN50: 1024); the recurrence runs in this space
    hidden_dim: int = 384       # hidden width of LatentRecurrent (a residual MLP cell, not a GRU/LSTM)
    w_residual: float = 0.2     # motion budget; the official step is 4 * w_residual / T * decay(t)
    schedule: str = "linear"    # decay schedule of the step size at inference
    mapper_dim: int = 1024      # hidden width of both Mappers
    hidden_init_std: float = 0.01  # std of the random initial hidden state (zeros without a generator)
    use_image_mapper: bool = True  # build the image Mapper (v_mapper) of the official layout

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MotionConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class AnimationSettings:
    """What one request asks for. Validated here so the CLI, the API and the UI share one set of rules."""

    num_frames: int = 16
    fps: int = 12
    strength: float = 1.0
    truncation: float = 0.7
    schedule: str = "linear"

    MAX_FRAMES = 256
    MAX_FPS = 60

    def __post_init__(self):
        if not isinstance(self.num_frames, int) or not 1 <= self.num_frames <= self.MAX_FRAMES:
            raise LganimError(f"num_frames must be an integer from 1 to {self.MAX_FRAMES}, got {self.num_frames!r}")
        if not isinstance(self.fps, int) or not 1 <= self.fps <= self.MAX_FPS:
            raise LganimError(f"fps must be an integer from 1 to {self.MAX_FPS}, got {self.fps!r}")
        if not math.isfinite(self.strength) or abs(self.strength) > 10:
            raise LganimError(f"strength must be a finite number in [-10, 10], got {self.strength!r}")
        if not math.isfinite(self.truncation) or not 0.0 <= self.truncation <= 1.0:
            raise LganimError(f"truncation must be in [0, 1], got {self.truncation!r}")


__all__ = ["GeneratorConfig", "MotionConfig", "AnimationSettings"]
