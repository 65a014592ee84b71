"""The one validation layer: checks that turn a bad value into a one-line `LganimError` naming the value.

The CLI, the Python API and the app all pass user values through these (via `request.Request` and the frozen
configs), so a value gets the same answer wherever it comes from. No torch here: the CLI's `--help` imports it.
"""
from __future__ import annotations

import math
from collections.abc import Collection

from .errors import LganimError


def shown(value) -> str:
    """A short repr of a user value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(name: str, value, lo: int, hi: int) -> int:
    """An integer in [lo, hi]; a float that is a whole number (a JSON or slider value) is accepted, bools are not."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or not lo <= value <= hi):
        raise LganimError(f"{name} must be a whole number from {lo} to {hi}, got {shown(value)}.")
    return int(value)


def number(name: str, value, lo: float, hi: float) -> float:
    """A finite real number in [lo, hi]."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not lo <= value <= hi):
        raise LganimError(f"{name} must be a number from {lo:g} to {hi:g}, got {shown(value)}.")
    return float(value)


def text(name: str, value, example: str, max_chars: int) -> str:
    """Non-empty text of at most `max_chars` characters, stripped; `example` says what to write instead."""
    if not isinstance(value, str) or not value.strip():
        raise LganimError(f"{name} is empty: {example}")
    if len(value) > max_chars:
        raise LganimError(f"{name} is too long ({len(value)} characters, at most {max_chars}).")
    return value.strip()


def choice(name: str, value, options: Collection[str]) -> str:
    """One of `options`."""
    if not isinstance(value, str) or value not in options:
        raise LganimError(f"{name} must be one of {', '.join(options)}, got {shown(value)}.")
    return value


__all__ = ["shown", "whole", "number", "text", "choice"]
