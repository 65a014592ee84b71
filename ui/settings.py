"""The server's settings, read once from the environment (a bad value is a one-line LganimError):

    LGANIM_CONCURRENCY      requests rendered at once (default 1)
    LGANIM_QUEUE_SIZE       requests waiting; more are refused with "queue is full" (default 16)
    LGANIM_REQUEST_SECONDS  time one request may take; past it, it stops between two chunks (default 600)
    LGANIM_REQUEST_MB       disk one request's files may take, all of them (default 500)
    LGANIM_DISK_CAP         disk everything the server keeps may take: uploads, results, previews; bytes or with a
                            unit, e.g. 5GB, 500MB, 2GiB (default 5GB)
    LGANIM_UPLOAD_MB        largest upload accepted (default 200)
    LGANIM_FILES_MINUTES    how long results and uploads are kept (default 60)
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from lganim.errors import LganimError

UNITS = {"": 1, "k": 10 ** 3, "m": 10 ** 6, "g": 10 ** 9, "t": 10 ** 12,
         "ki": 2 ** 10, "mi": 2 ** 20, "gi": 2 ** 30, "ti": 2 ** 40}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt]i?)b?|(b)?)\s*$", re.IGNORECASE)


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


def env_bytes(name: str, default: int, minimum: int) -> int:
    """A size setting from the environment: bytes, or a number with a unit (kB, MB, GB, TB; KiB, MiB, GiB, TiB)."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    found = SIZE.match(raw)
    if found is None:
        raise LganimError(f"{name} must be a size such as 5GB, 500MB or 2000000000, got {raw!r}.")
    value = math.floor(float(found.group(1)) * UNITS[(found.group(2) or "").lower()])
    if value < minimum:
        raise LganimError(f"{name} must be at least {minimum / 1e6:g} MB, got {raw!r}.")
    return value


@dataclass(frozen=True)
class Settings:
    concurrency: int = 1
    queue_size: int = 16
    request_seconds: int = 600
    request_bytes: int = 500 * 10 ** 6
    disk_bytes: int = 5 * 10 ** 9
    upload_bytes: int = 200 * 10 ** 6
    files_seconds: int = 3600

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(concurrency=env_int("LGANIM_CONCURRENCY", 1, 1), queue_size=env_int("LGANIM_QUEUE_SIZE", 16, 1),
                   request_seconds=env_int("LGANIM_REQUEST_SECONDS", 600, 1),
                   request_bytes=env_int("LGANIM_REQUEST_MB", 500, 1) * 10 ** 6,
                   disk_bytes=env_bytes("LGANIM_DISK_CAP", 5 * 10 ** 9, 10 ** 6),
                   upload_bytes=env_int("LGANIM_UPLOAD_MB", 200, 1) * 10 ** 6,
                   files_seconds=env_int("LGANIM_FILES_MINUTES", 60, 1) * 60)


__all__ = ["env_int", "env_bytes", "Settings"]
