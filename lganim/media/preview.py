"""Pictures of a result for a UI: a grid of the newest frames, a frame strip, and the motion drawn as a 2-D PCA.

Plain numpy in, plain numpy (or a dict of columns for a scatter plot) out; no UI toolkit here.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

STRIP_FRAMES = 8                 # frames per clip in the frame strip
STRIP_HEIGHT = 96                # px per row of the frame strip
PCA_POINTS = 64                  # frames per clip drawn in the motion plot


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
    idx = np.unique(np.linspace(0, t - 1, min(STRIP_FRAMES, t)).round().astype(int))
    rows = np.concatenate([np.concatenate(list(clip[idx]), axis=1) for clip in frames], axis=0)
    height = min(h, STRIP_HEIGHT)
    size = (round(rows.shape[1] * height / h), height * b)
    return np.asarray(Image.fromarray(rows).resize(size, Image.BILINEAR))


def motion_pca(ws: np.ndarray, labels: list[str]) -> dict[str, np.ndarray]:
    """2-D PCA of the per-frame W+ offsets Δw[b, t] = ws[b, t] − ws[b, 0] (flattened L·D), as in the paper's figure.

    ws: [B, T, L, D]. Returns the columns pc1, pc2, frame, clip (at most PCA_POINTS frames per clip); the sign of
    each axis puts the last frame to the right/top.
    """
    b, t = ws.shape[:2]
    idx = np.unique(np.linspace(0, t - 1, min(PCA_POINTS, t)).round().astype(int))
    x = (ws[:, idx] - ws[:, :1]).reshape(b * len(idx), -1).astype(np.float64)    # [N, L·D]
    x -= x.mean(axis=0)
    vals, vecs = np.linalg.eigh(x @ x.T)                                         # Gram [N, N]: N ≪ L·D
    top = np.argsort(vals)[::-1][:2]
    coords = vecs[:, top] * np.sqrt(np.clip(vals[top], 0, None))                 # PCA scores [N, ≤2]
    coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    coords *= np.where(coords[-1] < 0, -1.0, 1.0)                                # sign: last frame to the right/top
    return {"pc1": coords[:, 0], "pc2": coords[:, 1], "frame": np.tile(idx, b),
            "clip": np.repeat(np.asarray(labels, dtype=object), len(idx))}


def track_curves(track, channels=None, extra: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """A motion track's channels over time for a line plot: columns t, value, channel (one row per sample and
    channel); `extra` adds curves sampled at the track's times (e.g. the speech envelope)."""
    names = [c for c in (channels or track.channels) if c in track.channels]
    series = {name: track.channels[name] for name in names} | (extra or {})
    n = len(track.t)
    return {"t": np.tile(track.t, len(series)), "value": np.concatenate([np.asarray(v[:n]) for v in series.values()]),
            "channel": np.repeat(np.asarray(list(series), dtype=object), n)}


__all__ = ["tile", "frame_strip", "motion_pca", "track_curves", "STRIP_FRAMES", "STRIP_HEIGHT", "PCA_POINTS"]
