"""Where a server's files live, and for how long: gradio's cache holds the uploads, its copies of results, and one
fresh folder per request for the results lganim writes. Everything older than the retention goes — the files of
earlier processes too — and results are capped in size, the oldest going first.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from lganim.errors import LganimError

REQUEST_DIR_PREFIX = "lganim-"
STARTED = time.time()           # this process's start: gradio itself removes what this process put in its cache


def size_of(path: Path) -> int:
    """Bytes under `path` (a file or a folder)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def sweep(root: str | Path, max_age: float) -> None:
    """Remove what is older than `max_age` seconds in gradio's cache `root`: lganim's request folders, and the
    uploads and gradio's copies of results that earlier processes left (this process's own are gradio's to remove,
    by the page's `delete_cache`, which keeps what the page needs, e.g. its examples)."""
    root = Path(root)
    if not root.is_dir():
        return
    cutoff = time.time() - max_age
    for entry in root.iterdir():
        try:
            mtime = entry.stat().st_mtime
            ours = entry.name.startswith(REQUEST_DIR_PREFIX)
            if mtime >= cutoff or (not ours and mtime >= STARTED):
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:                                      # removed meanwhile by another worker
            continue


def make_room(root: str | Path, total: int, needed: int) -> None:
    """Delete the oldest request folders under `root` until the results and `needed` more bytes fit in `total`."""
    folders = sorted((f for f in Path(root).glob(REQUEST_DIR_PREFIX + "*") if f.is_dir()),
                     key=lambda f: f.stat().st_mtime)
    used = sum(size_of(f) for f in folders)
    while folders and used + needed > total:
        oldest = folders.pop(0)
        used -= size_of(oldest)
        shutil.rmtree(oldest, ignore_errors=True)
    if used + needed > total:
        raise LganimError(f"The server's results would take more than the {total / 1e6:.0f} MB they may take: "
                          f"ask for a shorter or smaller clip.")


def request_dir(root: str | Path, *, max_age: float, total: int, needed: int) -> Path:
    """A fresh folder under `root` for one request's files, after the old files are swept and room is made for
    `needed` bytes within `total`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sweep(root, max_age)
    make_room(root, total, needed)
    return Path(tempfile.mkdtemp(prefix=REQUEST_DIR_PREFIX, dir=root))


__all__ = ["REQUEST_DIR_PREFIX", "STARTED", "size_of", "sweep", "make_room", "request_dir"]
