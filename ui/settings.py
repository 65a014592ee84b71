"""The server's settings, read once from the environment (a bad value is a one-line LganimError):

    LGANIM_CONCURRENCY      requests rendered at once (default 1)
    LGANIM_QUEUE_SIZE       requests waiting; more are refused with "queue is full" (default 16)
    LGANIM_REQUEST_SECONDS  time one request may take; past it, it stops between two chunks (default 600)
    LGANIM_REQUEST_MB       disk one request's results may take (default 500)
    LGANIM_RESULTS_MB       disk all results may take; the oldest go first (default 5000)
    LGANIM_UPLOAD_MB        largest upload accepted (default 200)
    LGANIM_FILES_MINUTES    how long results and uploads are kept (default 60)
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from lganim.errors import LganimError


def env_int(name: str, default: int, minimum: int) -> int:
    """A whole-number setting from the environment."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise LganimError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise LganimError(f"{name} must be at least {minimum}, got {value}.")
    return value


@dataclass(frozen=True)
class Settings:
    concurrency: int = 1
    queue_size: int = 16
    request_seconds: int = 600
    request_bytes: int = 500 * 10 ** 6
    results_bytes: int = 5000 * 10 ** 6
    upload_bytes: int = 200 * 10 ** 6
    files_seconds: int = 3600

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(concurrency=env_int("LGANIM_CONCURRENCY", 1, 1), queue_size=env_int("LGANIM_QUEUE_SIZE", 16, 1),
                   request_seconds=env_int("LGANIM_REQUEST_SECONDS", 600, 1),
                   request_bytes=env_int("LGANIM_REQUEST_MB", 500, 1) * 10 ** 6,
                   results_bytes=env_int("LGANIM_RESULTS_MB", 5000, 1) * 10 ** 6,
                   upload_bytes=env_int("LGANIM_UPLOAD_MB", 200, 1) * 10 ** 6,
                   files_seconds=env_int("LGANIM_FILES_MINUTES", 60, 1) * 60)


__all__ = ["env_int", "Settings"]
