"""The paper's recurrent motion generator: CLIP embeddings -> a sequence of W+ offsets.

Hang et al., "Language-Guided Face Animation by Recurrent StyleGAN-based Generator" (TMM 2023),
computed the way the authors' released code computes it (docs/motion.md lists the facts, their
sources and every quirk):

    z_0 = normalize(text) + normalize(image)            embedding space, width E (RN50: 1024)
    h_0 = N(0, 0.01^2) (from a passed generator; zeros without one)
    for t = 1 .. T-1:                                    r_t = 4 * w_residual / T * decay(t, T)
        u_t = [lrelu(fc1(z_{t-1})), h_{t-1}]
        z_t = z_{t-1} + r_t * lrelu(fc2(u_t))
        h_t = h_{t-1} + r_t * lrelu(fc3(u_t))
    Δz_t = z_t - z_0                                     Δz_0 = 0
    Δw_t = t_mapper(Δz_t) - t_mapper(0)                  [L, D]; Δw_0 = 0 exactly

The official frames are w_t = w0 + v_mapper(image) + t_mapper(Δz_t). Both mapper terms at t = 0
are learned constants, so the official first frame is only trained towards the input face;
subtracting the t = 0 value makes it exact (the constant image term cancels; the image still
conditions the motion through z_0). `official_terms` returns the unanchored official terms.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import SCHEDULES as SCHEDULE_NAMES
from ..config import MotionConfig
from ..errors import LganimError
from .stylegan2 import EqualLinear, PixelNorm

RESIDUAL_GAIN = 4.0            # the official LatentRecurrent stores w_residual * 4.0


# --------------------------------------------------------------------------------------------
# Decay schedules: weight of the step that produces frame t of a T-frame rollout
# --------------------------------------------------------------------------------------------

def _linear(t: torch.Tensor, T: int) -> torch.Tensor:
    return (T - t) / T


def _sqrt(t: torch.Tensor, T: int) -> torch.Tensor:
    return torch.sqrt((T - t) / T)


def _exp(t: torch.Tensor, T: int) -> torch.Tensor:
    return 1.0 - torch.exp(t / T - 1.0)


def _const(t: torch.Tensor, T: int) -> torch.Tensor:
    return torch.ones_like(t)


def _cosine(t: torch.Tensor, T: int) -> torch.Tensor:
    # Not in the official code (its 'cosine' branch returns None and crashes); half-cosine from 1
    # at t = 0 to 0 at t = T, the same end points as 'linear'.
    return 0.5 * (1.0 + torch.cos(math.pi * t / T))


# config.SCHEDULES names them (one list for the library, the CLI and the app); this maps each to its function.
SCHEDULES: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = dict(
    zip(SCHEDULE_NAMES, (_linear, _sqrt, _exp, _const, _cosine), strict=True))


def check_schedule(name: str) -> str:
    """Return `name` if it is a known decay schedule, else raise LganimError."""
    if not isinstance(name, str) or name not in SCHEDULES:
        raise LganimError(f"unknown motion schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    return name


def decay_weights(name: str, num_frames: int) -> torch.Tensor:
    """Decay weights decay(t, T) for t = 0 .. T-1, float64 [T]."""
    t = torch.arange(num_frames, dtype=torch.float64)
    return SCHEDULES[check_schedule(name)](t, num_frames)


def step_sizes(config: MotionConfig, num_frames: int, schedule: str, *,
               continued: bool = False) -> list[float]:
    """Step sizes r_t of one segment, as Python floats (double precision, like the official code).

    A fresh segment of T frames takes T-1 steps, r_t = 4 * w_residual / T * decay(t, T), t = 1..T-1
    (frame 0 is the input face). A continued segment of T frames is a fresh (T+1)-frame rollout
    whose frame 0 is the previous segment's last frame: T steps, r_t with horizon T+1, t = 1..T.
    """
    horizon = num_frames + 1 if continued else num_frames
    decay = SCHEDULES[check_schedule(schedule)](torch.arange(horizon, dtype=torch.float64), horizon)
    gain = config.w_residual * RESIDUAL_GAIN
    return [gain / horizon * float(decay[t]) for t in range(1, horizon)]


class Mapper(nn.Sequential):
    """PixelNorm + 3 EqualLinear with fused leaky ReLU (the last one too): [N, E] -> [N, L, D].

    Keys `1.*`, `2.*`, `3.*` as in the official `Mapper.t_mapper` / `Mapper.v_mapper`.
    """

    def __init__(self, embed_dim: int, hidden_dim: int, num_ws: int, style_dim: int):
        super().__init__(
            PixelNorm(),
            EqualLinear(embed_dim, hidden_dim, activation=True),
            EqualLinear(hidden_dim, hidden_dim, activation=True),
            EqualLinear(hidden_dim, num_ws * style_dim, activation=True),
        )
        self.num_ws = num_ws
        self.style_dim = style_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).view(x.shape[0], self.num_ws, self.style_dim)


# --------------------------------------------------------------------------------------------
# The recurrence
# --------------------------------------------------------------------------------------------

class LatentRecurrent(nn.Module):
    """Residual recurrent cell in the CLIP embedding space (official `LatentRecurrent`).

    Not a GRU/LSTM: three nn.Linear layers (`fc1` E->H, `fc2` 2H->E, `fc3` 2H->H), LeakyReLU(0.01),
    and residual updates of both the code and the hidden state scaled by the step size r_t.
    """

    def __init__(self, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim * 2, embed_dim)
        self.fc3 = nn.Linear(hidden_dim * 2, hidden_dim)

    def forward(self, z: torch.Tensor, hidden: torch.Tensor,
                steps: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """Roll `len(steps)` steps from z [B, E] and hidden [B, H].

        Returns the trajectory [B, len(steps) + 1, E] (starting code included) and the last hidden
        state [B, H]. Rolling steps a then b from the returned state equals rolling a + b at once.
        """
        codes = [z]
        for r in steps:
            u = torch.cat((F.leaky_relu(self.fc1(z)), hidden), dim=-1)         # [B, 2H]
            z = z + r * F.leaky_relu(self.fc2(u))                                # [B, E]
            hidden = hidden + r * F.leaky_relu(self.fc3(u))                      # [B, H]
            codes.append(z)
        return torch.stack(codes, dim=1), hidden


@dataclass(frozen=True)
class MotionState:
    """Where a motion segment ended: offset Δz [B, E] from the segment's embedding, hidden [B, H]."""

    offset: torch.Tensor
    hidden: torch.Tensor


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

class MotionGenerator(nn.Module):
    """LatentRecurrent + the two official Mappers; emits W+ offsets to add to the input face's w0.

    State-dict keys equal the official `UniEditModelv1` without its `encoder.*` (CLIP):
    `rnn.fc{1,2,3}.{weight,bias}`, `mapper.t_mapper.{1,2,3}.{weight,bias}`,
    `mapper.v_mapper.{1,2,3}.{weight,bias}` (the last only with `use_image_mapper`).
    """

    def __init__(self, config: MotionConfig | None = None):
        super().__init__()
        config = config or MotionConfig()
        check_schedule(config.schedule)
        for name in ("num_ws", "style_dim", "embed_dim", "hidden_dim", "mapper_dim"):
            value = getattr(config, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise LganimError(f"motion config {name} must be a positive integer, got {value!r}")
        if not math.isfinite(config.w_residual) or not math.isfinite(config.hidden_init_std):
            raise LganimError("motion config w_residual and hidden_init_std must be finite numbers")
        self.config = config
        self.rnn = LatentRecurrent(config.embed_dim, config.hidden_dim)
        self.mapper = nn.Module()
        if config.use_image_mapper:
            self.mapper.v_mapper = Mapper(config.embed_dim, config.mapper_dim, config.num_ws, config.style_dim)
        self.mapper.t_mapper = Mapper(config.embed_dim, config.mapper_dim, config.num_ws, config.style_dim)

    # ---- inputs ----------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.rnn.fc1.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.rnn.fc1.weight.dtype

    def _check_embedding(self, emb: torch.Tensor, name: str, batch: int | None) -> torch.Tensor:
        E = self.config.embed_dim
        if not isinstance(emb, torch.Tensor) or emb.ndim != 2 or emb.shape[1] != E \
                or not emb.is_floating_point():
            got = tuple(emb.shape) if isinstance(emb, torch.Tensor) else type(emb).__name__
            raise LganimError(f"{name} must be a float tensor [batch, {E}], got {got}")
        if batch is not None and emb.shape[0] != batch:
            raise LganimError(f"{name} has batch {emb.shape[0]} but the text embedding has batch {batch}")
        if emb.shape[0] < 1:
            raise LganimError(f"{name} is empty: pass at least one embedding")
        if not bool(torch.isfinite(emb).all()):
            raise LganimError(f"{name} contains NaN or infinite values")
        return F.normalize(emb.to(device=self.device, dtype=self.dtype), dim=-1)

    @staticmethod
    def _check_frames(num_frames: int) -> int:
        if not isinstance(num_frames, int) or isinstance(num_frames, bool) or num_frames < 1:
            raise LganimError(f"num_frames must be a positive integer, got {num_frames!r}")
        return num_frames

    def initial_hidden(self, batch: int, generator: torch.Generator | None = None, scale: float = 1.0) -> torch.Tensor:
        """Initial hidden state [B, H]: N(0, (scale · hidden_init_std)^2) drawn from `generator`, zeros if None.
        `scale` > 1 spreads the motions of different draws (the diversity of predicted futures)."""
        if generator is None:
            return torch.zeros(batch, self.config.hidden_dim, device=self.device, dtype=self.dtype)
        if not isinstance(generator, torch.Generator):
            raise LganimError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        noise = torch.randn(batch, self.config.hidden_dim, generator=generator, device=generator.device)
        return (noise * (scale * self.config.hidden_init_std)).to(device=self.device, dtype=self.dtype)

    def _embedding(self, text_emb, image_emb) -> tuple[torch.Tensor, torch.Tensor | None]:
        text = self._check_embedding(text_emb, "text_emb", None)
        if image_emb is None:
            return text, None
        image = self._check_embedding(image_emb, "image_emb", text.shape[0])
        # Official: the RNN sees the image embedding detached; only v_mapper back-propagates into it.
        return text + image.detach(), image

    # ---- motion in embedding space ----------------------------------------------------------

    def motion_codes(self, text_emb: torch.Tensor, image_emb: torch.Tensor | None, num_frames: int, *,
                     schedule: str | None = None, generator: torch.Generator | None = None,
                     initial_state: MotionState | None = None, hidden_scale: float = 1.0
                     ) -> tuple[torch.Tensor, MotionState]:
        """Offsets Δz [B, T, E] in CLIP space and the state after the last frame.

        Fresh: Δz[:, 0] = 0 (the input face). With `initial_state` the segment continues a previous
        one: z starts at embedding + state.offset, the hidden state carries over, and the T returned
        frames follow the previous last frame (which is not repeated).
        """
        T = self._check_frames(num_frames)
        schedule = check_schedule(self.config.schedule if schedule is None else schedule)
        z, _ = self._embedding(text_emb, image_emb)                             # [B, E]
        B = z.shape[0]
        if initial_state is None:
            steps = step_sizes(self.config, T, schedule)
            codes, hidden = self.rnn(z, self.initial_hidden(B, generator, hidden_scale), steps)  # [B, T, E]
        else:
            offset, hidden0 = self._check_state(initial_state, B)
            steps = step_sizes(self.config, T, schedule, continued=True)
            codes, hidden = self.rnn(z + offset, hidden0, steps)                 # [B, T+1, E]
            codes = codes[:, 1:]
        dz = codes - z[:, None]                                                  # [B, T, E]
        return dz, MotionState(offset=dz[:, -1], hidden=hidden)

    def _check_state(self, state: MotionState, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(state, MotionState):
            raise LganimError(f"initial_state must be a MotionState from a previous call, got {type(state).__name__}")
        E, H = self.config.embed_dim, self.config.hidden_dim
        if tuple(state.offset.shape) != (batch, E) or tuple(state.hidden.shape) != (batch, H):
            raise LganimError(
                f"initial_state has offset {tuple(state.offset.shape)} and hidden {tuple(state.hidden.shape)}, "
                f"expected ({batch}, {E}) and ({batch}, {H}): continue with the same batch and model")
        return (state.offset.to(device=self.device, dtype=self.dtype),
                state.hidden.to(device=self.device, dtype=self.dtype))

    # ---- W+ offsets -------------------------------------------------------------------------

    def forward(self, text_emb: torch.Tensor, image_emb: torch.Tensor | None = None, num_frames: int = 16, *,
                schedule: str | None = None, generator: torch.Generator | None = None,
                initial_state: MotionState | None = None, return_state: bool = False, hidden_scale: float = 1.0):
        """W+ offsets Δw [B, T, L, D] to add to the input face's w0 (strength is the caller's).

        text_emb, image_emb: CLIP embeddings [B, E] (normalised here; image may be None).
        schedule: decay schedule name (default: config.schedule; official inference uses 'linear',
        official training 'const'). generator: draws the initial hidden state (zeros if None).
        A fresh call has Δw[:, 0] == 0 exactly. With `initial_state` (a previous call's state) the T
        frames continue that motion. With `return_state` returns (Δw, MotionState). hidden_scale: see
        `initial_hidden`.
        """
        dz, state = self.motion_codes(text_emb, image_emb, num_frames, schedule=schedule,
                                      generator=generator, initial_state=initial_state, hidden_scale=hidden_scale)
        B, T, E = dz.shape
        t_mapper = self.mapper.t_mapper
        rest = dz if initial_state is not None else dz[:, 1:]                    # frames that move
        base = t_mapper(dz.new_zeros(1, E))                                       # t_mapper(0): [1, L, D]
        moved = (t_mapper(rest.reshape(-1, E)) - base).view(B, rest.shape[1], *base.shape[1:])
        if initial_state is None:
            moved = torch.cat((moved.new_zeros(B, 1, *base.shape[1:]), moved), dim=1)  # Δw_0 = 0
        return (moved, state) if return_state else moved

    def official_terms(self, text_emb: torch.Tensor, image_emb: torch.Tensor | None, num_frames: int, *,
                       schedule: str | None = None, generator: torch.Generator | None = None
                       ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """The official composition's terms, unanchored: (v_mapper(image) [B, L, D] or None,
        t_mapper(Δz) [B, T, L, D]); the official frame t is w0 + image term + text term[:, t]."""
        if image_emb is not None and not hasattr(self.mapper, "v_mapper"):
            raise LganimError("this motion model has no image mapper (use_image_mapper=False); pass image_emb=None")
        dz, _ = self.motion_codes(text_emb, image_emb, num_frames, schedule=schedule, generator=generator)
        B, T, E = dz.shape
        txt_ws = self.mapper.t_mapper(dz.reshape(-1, E)).view(B, T, self.config.num_ws, self.config.style_dim)
        if image_emb is None:
            return None, txt_ws
        _, image = self._embedding(text_emb, image_emb)
        return self.mapper.v_mapper(image), txt_ws


# --------------------------------------------------------------------------------------------
# Official checkpoints (the authors' training script saves {'iter', 'arch', 'state_dict',
# 'optimizer'}, state_dict from the DDP-wrapped UniEditModelv1: module.encoder.* / rnn.* / mapper.*)
# --------------------------------------------------------------------------------------------


__all__ = ["SCHEDULES", "check_schedule", "decay_weights", "step_sizes", "Mapper", "LatentRecurrent", "MotionState",
           "MotionGenerator"]
