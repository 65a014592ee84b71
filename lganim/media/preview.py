"""Pictures of a result for a UI: a grid of the newest frames, a frame strip, the motion over time, a track's
channels over time.

Plain numpy in, plain numpy (or a dict of columns for a line plot) out; no UI toolkit here.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

STRIP_FRAMES = 8                 # frames per clip in the frame strip
STRIP_HEIGHT = 96                # px per row of the frame strip


def tile(images: np.ndarray) -> np.ndarray:
    """uint8 [B, H, W, 3] -> one grid image [rows·H, cols·W, 3]."""
    b, h, w, _ = images.shape
    cols = math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, img in enumerate(images):
        grid[i // cols * h:(i // cols + 1) * h, i % cols * w:(i % cols + 1) * w] = img
    return grid


def frame_strip(frames: np.ndarray) -> np.ndarray:
    """uint8 [B, T, H, W, 3] -> STRIP_FRAMES evenly spaced frames per clip, one row per clip, STRIP_HEIGHT px rows."""
    b, t, h, w, _ = frames.shape
    idx = strip_indices(t)
    rows = np.concatenate([np.concatenate(list(clip[idx]), axis=1) for clip in frames], axis=0)
    height = min(h, STRIP_HEIGHT)
    size = (round(rows.shape[1] * height / h), height * b)
    return np.asarray(Image.fromarray(rows).resize(size, Image.BILINEAR))


def strip_indices(num_frames: int) -> np.ndarray:
    """The frames a strip shows: STRIP_FRAMES evenly spaced ones (all of them when fewer), first and last included."""
    return np.unique(np.linspace(0, num_frames - 1, min(STRIP_FRAMES, num_frames)).round().astype(int))


def motion_curves(offsets: np.ndarray, labels: list[str], groups: dict[str, tuple[int, ...]] | None = None
                  ) -> dict[str, np.ndarray]:
    """How far the face has moved from its first frame, frame by frame: the RMS of the W+ offsets Δw[b, t]
    (offsets [B, T, L, D]) over their layers and width, one curve per clip (`labels`); for a single clip with
    `groups` (name -> W+ layers), one curve per group of layers (pose, mouth, eyes...) instead. Columns frame,
    distance, curve."""
    b, t = offsets.shape[:2]
    frames = np.arange(t)
    if b == 1 and groups:
        named = {name: offsets[0][:, list(layers)] for name, layers in groups.items()}
    else:
        named = dict(zip(labels, offsets))
    series = {name: np.sqrt(np.mean(np.square(x.reshape(t, -1).astype(np.float64)), axis=1))
              for name, x in named.items()}
    return {"frame": np.tile(frames, len(series)), "distance": np.concatenate(list(series.values())),
            "curve": np.repeat(np.asarray(list(series), dtype=object), t)}


def track_curves(track, channels=None, extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """A motion track's channels over time for a line plot: columns t, value, channel (one row per sample and
    channel); `extra` adds curves sampled at the track's times (e.g. the speech envelope)."""
    names = [c for c in (channels or track.channels) if c in track.channels]
    series = {name: track.channels[name] for name in names} | (extra or {})
    n = len(track.t)
    return {"t": np.tile(track.t, len(series)), "value": np.concatenate([np.asarray(v[:n]) for v in series.values()]),
            "channel": np.repeat(np.asarray(list(series), dtype=object), n)}


__all__ = ["tile", "strip_indices", "frame_strip", "motion_curves", "track_curves", "STRIP_FRAMES", "STRIP_HEIGHT"]
