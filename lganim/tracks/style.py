"""Style reference: make an audio- or speech-driven track move like a person in a reference video.

The reference is the track the video tracker made of that person. Two modes:

- stats (`style_stats` then `apply_style`): measure the reference's habits — per-channel amplitude
  (standard deviation), rhythm (correlation time: the lag at which a channel's autocorrelation falls to
  1/e), blink rate, and head-pose offset and spread — and give them to the driven track: expression
  channels are rescaled to the reference's amplitudes, the head pose is slowed to the reference's rhythm
  (when the reference moves more slowly), rescaled to its spread and moved to its mean offset (eased in
  over `OFFSET_EASE_S`, so frame 0 stays the input face), and the blinks are drawn again at its rate.
- copy (`copy_pose`): the reference's own head motion relative to its first frame replaces the driven
  head motion, played back and forth (ping-pong) when the reference is shorter, so that it never jumps.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import checks
from ..config import STYLE_MODES, StepProgress
from ..errors import LganimError
from .idle import CLOSED, MAX_BLINK_RATE, blinks
from .track import Track
from .video import track_video

POSE = ("yaw", "pitch", "roll")                       # head rotation, deg
CROP = ("tx", "ty", "scale")                          # head translation and size (move the paste-back crop)
EXPRESSION = ("mouth_open", "mouth_wide", "smile", "brow")
EYES = ("eye_l", "eye_r")
MIN_SECONDS = 2.0                                     # shortest usable reference, s of valid frames
MIN_STD = 1e-4                                        # a channel moving less than this is treated as still
SCALE_RANGE = (0.25, 4.0)                             # least and most an amplitude is rescaled
MAX_SMOOTH_S = 1.0                                    # s: the most the head pose is slowed
OFFSET_EASE_S = 1.0                                   # s: the reference's mean pose offset eases in over this
BLINK_THRESHOLD = 0.4 * CLOSED                        # an eye below its median by this much is closing
MAX_BLINK_S = 1.0                                     # s: longer closures are eyes kept shut, not blinks
TALKING_OPEN = 0.02                                   # mouth_open above this marks talking frames


@dataclass(frozen=True)
class StyleStats:
    """The motion habits of a reference track (units of each channel in `config.CHANNELS`)."""

    amplitude: dict[str, float]                       # channel -> standard deviation over the clip
    rhythm: dict[str, float]                          # channel -> correlation time, s (0 for a still channel)
    blink_rate: float | None                          # blinks per second (None: the track has no eye channels)
    pose_mean: dict[str, float]                       # yaw/pitch/roll -> mean offset from the first frame, deg
    duration: float                                   # s of reference

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (for a track's meta)."""
        return asdict(self)


def _prepared(track: Track, what: str) -> Track:
    """The track with invalid frames filled in, refused when too little of it is valid."""
    if not isinstance(track, Track):
        raise LganimError(f"The {what} must be a lganim Track, got {type(track).__name__}.")
    valid_seconds = track.valid.sum() / track.fps
    if valid_seconds < MIN_SECONDS:
        raise LganimError(f"The {what} has {valid_seconds:.1f} s with a tracked face; use a clip with at least "
                          f"{MIN_SECONDS:g} s of visible face.")
    return track.interpolate_invalid()


def _correlation_time(x: np.ndarray, fps: float) -> float:
    """Seconds until the autocorrelation of `x` (mean removed) falls to 1/e (at most half the clip)."""
    x = x - x.mean()
    if x.std() < MIN_STD:
        return 0.0
    n = len(x)
    power = np.abs(np.fft.rfft(x, 2 * n)) ** 2
    acf = np.fft.irfft(power)[:n // 2]
    acf /= acf[0]
    below = np.flatnonzero(acf < 1 / math.e)
    if not len(below):
        return (n // 2) / fps
    k = below[0]                                      # interpolate between lags k - 1 and k
    frac = (acf[k - 1] - 1 / math.e) / (acf[k - 1] - acf[k])
    return (k - 1 + frac) / fps


def _blink_rate(track: Track) -> float | None:
    """Blinks per second: closures of the eyes (mean of eye_l, eye_r) shorter than MAX_BLINK_S."""
    eyes = [track.channels[k] for k in EYES if k in track.channels]
    if not eyes:
        return None
    eye = np.mean(eyes, axis=0)
    closed = eye < np.median(eye) + BLINK_THRESHOLD
    edges = np.diff(np.concatenate([[0], closed.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    count = int(((ends - starts) / track.fps <= MAX_BLINK_S).sum())
    return count / track.duration


def style_stats(track: Track) -> StyleStats:
    """Measure the motion habits of a reference track (see `StyleStats`). Needs `MIN_SECONDS` of valid frames."""
    ref = _prepared(track, "style reference")
    # on a uniform timebase, so that lags are seconds
    ref = ref.resample(ref.fps)
    amplitude = {k: float(v.std()) for k, v in ref.channels.items()}
    rhythm = {k: _correlation_time(v, ref.fps) for k, v in ref.channels.items()}
    pose_mean = {k: float((ref.channels[k] - ref.channels[k][0]).mean()) for k in POSE if k in ref.channels}
    return StyleStats(amplitude, rhythm, _blink_rate(ref), pose_mean, ref.duration)


def _gaussian_smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian low-pass with standard deviation `sigma_frames`, the ends reflected."""
    if sigma_frames < 0.5:
        return x.copy()
    radius = int(math.ceil(3 * sigma_frames))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    padded = np.pad(x, radius, mode="reflect" if len(x) > radius else "edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _ratio(target: float, own: float) -> float:
    return float(np.clip(target / own, *SCALE_RANGE)) if own > MIN_STD and target > MIN_STD else 1.0


def apply_style(track: Track, stats: StyleStats, seed: int | None = None) -> Track:
    """`track` (audio- or speech-driven) with the habits in `stats` (see the module docstring).

    seed: for the new blinks (default: the track's meta seed, else 0). The first frame keeps its pose.
    """
    if not isinstance(track, Track) or not isinstance(stats, StyleStats):
        raise LganimError(f"apply_style needs a Track and the StyleStats of a reference, got "
                          f"{type(track).__name__} and {type(stats).__name__}.")
    seed = track.meta.get("seed", 0) if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LganimError(f"The seed must be a whole number ≥ 0, got {seed!r}.")
    fps = track.fps
    n = len(track)
    t = track.t - track.t[0]
    channels = {k: v.copy() for k, v in track.channels.items()}
    for name in EXPRESSION:                                   # scaled about 0 (the neutral face)
        if name in channels and name in stats.amplitude:
            channels[name] *= _ratio(stats.amplitude[name], float(channels[name].std()))
    ease = np.clip(t / OFFSET_EASE_S, 0, 1)
    ease = ease * ease * (3 - 2 * ease)                       # smoothstep from frame 0 to OFFSET_EASE_S
    for name in POSE:
        if name not in channels or name not in stats.amplitude:
            continue
        x = channels[name]
        # Gaussian smoothing by sigma adds about (2 sigma)^2 to the square of a correlation time
        own_tau = _correlation_time(x, fps)
        sigma = min(MAX_SMOOTH_S, math.sqrt(max(stats.rhythm.get(name, 0.0) ** 2 - own_tau ** 2, 0.0)) / 2)
        x = _gaussian_smooth(x, sigma * fps)
        x = (x - x[0]) * _ratio(stats.amplitude[name], float(x.std()))   # frame 0 stays at its pose
        channels[name] = x + ease * (stats.pose_mean.get(name, 0.0) - x.mean())
    if stats.blink_rate is not None and any(k in channels for k in EYES):
        talking = channels.get("mouth_open", np.zeros(n)) > TALKING_OPEN
        eyes = blinks(n, fps, int(seed), min(stats.blink_rate, MAX_BLINK_RATE), talking)
        channels.update({k: eyes.copy() for k in EYES})
    meta = dict(track.meta, style={"mode": "stats", **stats.to_dict()})
    return Track(fps=fps, t=track.t, channels=channels, valid=track.valid, meta=meta)


def copy_pose(track: Track, reference: Track) -> Track:
    """`track` with the reference's head motion (yaw, pitch, roll, tx, ty, scale) relative to its first frame.

    The reference is resampled to the track's fps and played forward and backward as often as needed
    (no jump at the seams); frame 0 keeps the input face's pose.
    """
    if not isinstance(track, Track):
        raise LganimError(f"copy_pose needs the driven Track, got {type(track).__name__}.")
    ref = _prepared(reference, "style reference")
    ref = ref.resample(track.fps).relative_to(0)
    m = len(ref)
    period = 2 * m - 2                                        # forward m frames, back m - 2
    step = np.arange(len(track)) % period
    index = np.where(step < m, step, period - step)           # [N] ping-pong frame of the reference
    channels = {k: v.copy() for k, v in track.channels.items()}
    copied = [name for name in POSE + CROP if name in ref.channels]
    if not copied:
        raise LganimError("The style reference has no head pose channels; track the video again with lganim.")
    for name in copied:
        channels[name] = ref.channels[name][index]
    meta = dict(track.meta, style={"mode": "copy", "reference_duration": ref.duration, "channels": copied})
    return Track(fps=track.fps, t=track.t, channels=channels, valid=track.valid, meta=meta)




def styled(track: Track, style: Path | None, mode: str, seed: int, progress: StepProgress | None = None) -> Track:
    """An audio-driven track in the style of a reference video of someone talking: its statistics (per-channel
    amplitude, rhythm, blink rate, head-pose habits), or a copy of its head pose relative to its first frame."""
    if style is None:
        return track
    checks.choice("style mode", mode, STYLE_MODES)
    reference = track_video(style, progress=progress).track
    return copy_pose(track, reference) if mode == "copy" else apply_style(track, style_stats(reference), seed=seed)


__all__ = ["StyleStats", "apply_style", "copy_pose", "style_stats", "styled"]
