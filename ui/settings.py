"""The server's settings from the environment: LGANIM_CONCURRENCY (requests rendered at once), LGANIM_QUEUE_SIZE
(waiting requests). A bad value is one line."""
from __future__ import annotations

import os

from lganim.errors import LganimError


def env_int(name: str, default: int, minimum: int) -> int:
    """A whole-number setting from the environment (a bad one is a one-line LganimError)."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise LganimError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise LganimError(f"{name} must be at least {minimum}, got {value}.")
    return value



__all__ = ["env_int"]
