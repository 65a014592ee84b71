"""Idle motion: the blinks and slow head sway of a face that is not being driven, seeded.

Every motion source that has no measured head pose or eyelids of its own (audio, text to speech,
video prediction) adds this process so that the face stays alive.

- Blinks: brief closures of both eyes (channel value `CLOSED` at full closure, 0 open). Each blink
  closes in 60–90 ms, stays shut 20–50 ms and reopens more slowly in 120–180 ms, so the eye is more
  than half closed for about 100–150 ms. The moment the lids meet falls on a frame time, so even at a
  low fps one frame shows the closed eyes. Blink times form a renewal process with a refractory period
  of `REFRACTORY` seconds followed by an exponential wait, scaled so that the mean rate is the one
  asked (≈ 17 blinks a minute at rest and 26 in conversation, `RESTING_BLINK_RATE` and
  `TALKING_BLINK_RATE`). When a talking mask is given, blinks gather in the pauses (people blink at
  phrase boundaries) while the mean rate over the clip stays the same. Frame 0 and the last frames
  always show open eyes: a clip never starts or ends mid-blink.
- Head sway: yaw, pitch and roll as sums of slow sinusoids (0.04–0.4 Hz, random frequencies and
  phases, amplitude ∝ 1/√f) with an RMS of a degree or two, a little larger while talking. It starts
  at 0 on frame 0 (the input face's pose).

All randomness comes from `numpy.random.default_rng` seeded by `seed`: the same arguments give the
same motion.
"""
from __future__ import annotations

import math

import numpy as np

from .. import checks
from ..config import MAX_TRACK_FPS
from ..errors import LganimError
from .track import Track

RESTING_BLINK_RATE = 17 / 60       # blinks per second at rest
TALKING_BLINK_RATE = 26 / 60       # blinks per second in conversation
MAX_BLINK_RATE = 1.0               # blinks per second: above this the refractory period leaves no randomness
REFRACTORY = 0.4                   # s: no new blink closer than this to the previous one
CLOSED = -0.25                     # eye_l / eye_r at full closure (eye height over inter-ocular distance)
CLOSE_S = (0.06, 0.09)             # s: range of the closing phase
HOLD_S = (0.02, 0.05)              # s: range of the fully closed phase
REOPEN_S = (0.12, 0.18)            # s: range of the reopening phase
DEPTH = (0.9, 1.0)                 # fraction of CLOSED reached by one blink
PAUSE_WEIGHT, TALK_WEIGHT = 1.5, 0.7   # relative blink hazard in pauses and while talking

SWAY_RMS = {"yaw": 1.5, "pitch": 1.0, "roll": 0.6}   # deg: RMS of the head sway at sway = 1
SWAY_HZ = (0.04, 0.4)              # range of the sway frequencies
SWAY_PARTS = 6                     # sinusoids per channel
TALK_SWAY_GAIN = 0.5               # sway grows by this fraction while talking


def idle_motion(num_frames: int, fps: float, seed: int = 0, blink_rate: float = RESTING_BLINK_RATE,
                sway: float = 1.0, talking: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Blinks and head sway for `num_frames` frames at `fps`, deterministic for a `seed`.

    blink_rate: mean blinks per second (0 for none; the caller picks `TALKING_BLINK_RATE` for speech).
    sway: multiplies the head sway (0 for a still head). talking: optional bool/float [num_frames],
    true where the face speaks (blinks move to the pauses, the sway grows).
    Returns float64 [num_frames] arrays for yaw, pitch, roll (deg) and eye_l, eye_r.
    """
    blink_seed, sway_seed = np.random.SeedSequence(_check_seed(seed)).spawn(2)
    eyes = blinks(num_frames, fps, blink_seed, blink_rate, talking)
    motion = head_sway(num_frames, fps, sway_seed, sway, talking)
    return {**motion, "eye_l": eyes, "eye_r": eyes.copy()}


def blinks(num_frames: int, fps: float, seed: int | np.random.SeedSequence = 0,
           rate: float = RESTING_BLINK_RATE, talking: np.ndarray | None = None) -> np.ndarray:
    """Eyelid closure float64 [num_frames]: 0 open, down to `CLOSED` at each blink (see the module docstring)."""
    num_frames, fps = _check_frames(num_frames, fps)
    rate = float(rate)
    if not math.isfinite(rate) or not 0 <= rate <= MAX_BLINK_RATE:
        raise LganimError(f"The blink rate must be from 0 to {MAX_BLINK_RATE:g} per second "
                          f"({60 * MAX_BLINK_RATE:g} a minute), got {rate!r}.")
    talking = _check_talking(talking, num_frames)
    rng = np.random.default_rng(seed)
    closure = np.zeros(num_frames)                                         # [N] 0 open .. 1 shut
    if rate == 0:
        return closure
    # Hazard per frame (1/s): a refractory period plus an exponential wait at rate lam keeps the mean
    # interval at REFRACTORY + 1 / lam = 1 / rate.
    lam = rate / (1 - rate * REFRACTORY)
    weight = np.ones(num_frames) if talking is None else np.where(talking > 0.5, TALK_WEIGHT, PAUSE_WEIGHT)
    weight = weight / weight.mean()
    edges = np.arange(num_frames + 1) / fps                               # [N + 1] frame boundaries, s
    cum = np.concatenate([[0.0], np.cumsum(lam * weight / fps)])          # [N + 1] integrated hazard
    last_open = (num_frames - 2) / fps                                     # s: the last two frames stay open
    times = np.arange(num_frames) / fps
    level = 0.0                                                            # integrated hazard where waiting starts
    while True:
        level += rng.exponential()
        if level > cum[-1]:
            break
        t_shut = round(float(np.interp(level, cum, edges)) * fps) / fps   # lids meet on a frame time
        close, hold, reopen = rng.uniform(*CLOSE_S), rng.uniform(*HOLD_S), rng.uniform(*REOPEN_S)
        depth = rng.uniform(*DEPTH)
        if t_shut + hold + reopen > last_open:
            break
        if t_shut - close >= 0:                                            # frame 0 stays open
            closure = np.maximum(closure, depth * _blink_shape(times - t_shut, close, hold, reopen))
        level = float(np.interp(t_shut + REFRACTORY, edges, cum))
    return CLOSED * closure + 0.0                                          # + 0.0: no -0.0 in saved tracks


def head_sway(num_frames: int, fps: float, seed: int | np.random.SeedSequence = 0, amount: float = 1.0,
              talking: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Slow head sway: yaw, pitch, roll float64 [num_frames] in degrees, 0 at frame 0, RMS ≈ `SWAY_RMS` · amount."""
    num_frames, fps = _check_frames(num_frames, fps)
    amount = float(amount)
    if not math.isfinite(amount) or amount < 0:
        raise LganimError(f"The head sway must be a number ≥ 0 (1 = natural, 0 = still), got {amount!r}.")
    talking = _check_talking(talking, num_frames)
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps                                        # [N] s
    gain = np.ones(num_frames)
    if talking is not None:                                                # ease the change in over about a second
        gain = 1 + TALK_SWAY_GAIN * _moving_average(talking.astype(np.float64), max(1, round(fps)))
    out = {}
    for name, rms in SWAY_RMS.items():
        freq = np.exp(rng.uniform(*np.log(SWAY_HZ), SWAY_PARTS))         # [K] Hz
        amp = freq ** -0.5
        amp *= rms / math.sqrt((amp ** 2).sum() / 2)                      # RMS of a sum of sinusoids
        phase = rng.uniform(0, 2 * math.pi, SWAY_PARTS)
        x = (amp * np.sin(2 * math.pi * freq * t[:, None] + phase)).sum(axis=1) * gain
        out[name] = amount * (x - x[0])
    return out


def _blink_shape(dt: np.ndarray, close: float, hold: float, reopen: float) -> np.ndarray:
    """Closure in [0, 1] at times `dt` (s) after the lids meet: smooth close, hold, slower smooth reopening."""
    closing = _smoothstep(1 + dt / close)
    opening = _smoothstep(1 - (dt - hold) / reopen)
    return np.where(dt < 0, closing, np.where(dt <= hold, 1.0, opening))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over `width` samples, the ends held (same length as x)."""
    padded = np.pad(x, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LganimError(f"The seed must be a whole number ≥ 0, got {seed!r}.")
    return int(seed)


def _check_frames(num_frames, fps) -> tuple[int, float]:
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise LganimError(f"The number of frames must be a whole number ≥ 1, got {num_frames!r}.")
    return int(num_frames), checks.positive("fps", fps, MAX_TRACK_FPS)


def _check_talking(talking, num_frames: int) -> np.ndarray | None:
    if talking is None:
        return None
    talking = np.asarray(talking, dtype=np.float64)
    if talking.shape != (num_frames,) or not np.isfinite(talking).all():
        raise LganimError(f"The talking mask must hold one finite value per frame ({num_frames}), "
                          f"got shape {list(talking.shape)}.")
    return talking


def idle_track(num_frames: int, fps: float, seed: int, blink_rate: float = RESTING_BLINK_RATE,
               sway: float = 1.0) -> Track:
    """Blinks and slow head sway of a resting face, from the seed (`idle_motion`)."""
    channels = idle_motion(num_frames, fps, seed, blink_rate=blink_rate, sway=sway)
    return Track(fps=fps, t=np.arange(num_frames) / fps, channels=channels, valid=np.ones(num_frames, dtype=bool),
                 meta={"source": "idle", "seed": int(seed), "blink_rate": blink_rate})


__all__ = ["CLOSED", "MAX_BLINK_RATE", "RESTING_BLINK_RATE", "TALKING_BLINK_RATE", "blinks", "head_sway",
           "idle_motion", "idle_track"]
