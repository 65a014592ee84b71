"""The one validation layer: checks that turn a bad value into a one-line `LganimError` naming the value.

The CLI, the Python API and the app all pass user values through these (via `request.Request` and the frozen
configs), so a value gets the same answer wherever it comes from. No torch here: the CLI's `--help` imports it.
"""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .errors import LganimError

HUB_REPO = r"[A-Za-z0-9][\w.-]*/[\w.-]+"     # the form of a Hugging Face Hub repo id: USER/NAME


def shown(value) -> str:
    """A short repr of a user value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_real(value) -> bool:
    """A real number (Python's or numpy's), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def whole(name: str, value, lo: int, hi: int) -> int:
    """An integer in [lo, hi]; a float that is a whole number (a JSON or slider value) is accepted, bools are not."""
    if (not is_real(value) or not math.isfinite(value) or value != int(value) or not lo <= value <= hi):
        raise LganimError(f"{name} must be a whole number from {lo} to {hi}, got {shown(value)}.")
    return int(value)


def number(name: str, value, lo: float, hi: float) -> float:
    """A finite real number in [lo, hi]."""
    if not is_real(value) or not math.isfinite(value) or not lo <= value <= hi:
        raise LganimError(f"{name} must be a number from {lo:g} to {hi:g}, got {shown(value)}.")
    return float(value)


def positive(name: str, value, hi: float) -> float:
    """A finite real number in (0, hi] (a rate: frames or samples per second)."""
    if not is_real(value) or not math.isfinite(value) or not 0 < value <= hi:
        raise LganimError(f"{name} must be a number above 0 and at most {hi:g}, got {shown(value)}.")
    return float(value)


def text(name: str, value, example: str, max_chars: int) -> str:
    """Non-empty text of at most `max_chars` characters, stripped; `example` says what to write instead. Text that
    is not text (a number, None), or that cannot be written out (a lone surrogate), is refused here, before any
    work."""
    if value is not None and not isinstance(value, str):
        raise LganimError(f"{name} must be text, got {type(value).__name__} {shown(value)}.")
    if not isinstance(value, str) or not value.strip():
        raise LganimError(f"{name} is empty: {example}")
    if len(value) > max_chars:
        raise LganimError(f"{name} is too long ({len(value)} characters, at most {max_chars}).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise LganimError(f"{name} holds a character that is not valid Unicode text (a lone surrogate): "
                          f"type it again.") from None
    return value.strip()


def input_file(name: str, value):
    """A file the request reads: a path (str or PathLike) must name an existing file, checked before any work;
    anything else (bytes, an array, an image in memory) is the reader's to check. Returns a Path or the value."""
    if not isinstance(value, (str, os.PathLike)):
        return value
    path = Path(value)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "was not found"
        raise LganimError(f"{name} {shown(path.name)} {what}; check the path.")
    return path


def output_file(name: str, path, suffixes: Sequence[str]) -> Path:
    """Where an output goes: its suffix one of `suffixes`, not a folder, in a folder that exists (checked before any
    work)."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        wanted = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise LganimError(f"{name} must end in {wanted}, got {shown(path.name)}.")
    if path.is_dir():
        raise LganimError(f"{name} {shown(path.name)} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise LganimError(f"The output folder {path.parent} does not exist; create it first.")
    return path


def choice(name: str, value, options: Collection[str]) -> str:
    """One of `options`."""
    if not isinstance(value, str) or value not in options:
        raise LganimError(f"{name} must be one of {', '.join(options)}, got {shown(value)}.")
    return value


def rgb_frame(name: str, value, max_pixels: int) -> np.ndarray:
    """A picture as uint8 [H, W, 3] RGB (e.g. a camera frame) of at most `max_pixels` pixels, C-contiguous."""
    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or value.ndim != 3 or value.shape[2] != 3:
        what = f"{value.dtype} {list(value.shape)}" if isinstance(value, np.ndarray) else type(value).__name__
        raise LganimError(f"{name} must be a uint8 [H, W, 3] RGB array, got {what}.")
    h, w = value.shape[:2]
    if not 0 < h * w <= max_pixels:
        raise LganimError(f"{name} must have 1 to {max_pixels} pixels, got {w}x{h}.")
    return np.ascontiguousarray(value)


__all__ = ["shown", "is_real", "whole", "number", "positive", "text", "input_file", "output_file", "choice",
           "rgb_frame"]
