"""Where a server's files live, how long they stay, and how much they may take.

gradio's cache (`root`) holds everything the server keeps: the uploads and gradio's previews of results (a folder
each, named by a hash), and one `lganim-*` folder per request for the files lganim writes. One total cap bounds all
of it while the server runs:

- a request makes room for what it will write before it writes (`request_dir`), an upload for its bytes
  (`receive`, from ui/guard.py): the oldest finished results and previews go first, and what still cannot fit is
  refused in one line;
- the janitor (`start_janitor`) removes, every second, what is past the retention (an earlier process's files
  too) and the oldest finished results and previews while the total is over the cap (gradio writes its previews
  while a request runs, outside any reservation).

Kept until the retention: uploads (their folder holds UPLOAD_MARK), and a request folder in use: its writer holds a
lock on the folder's IN_USE file, which also says how many bytes are reserved for it, so that every process that
makes room sees it (on ZeroGPU requests run in a forked worker), and the lock goes when the writer releases the
folder or dies (a killed request's folder is a finished one). Never removed: the app's own files (ui/sessions).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from lganim.errors import LganimError
from lganim.files import sweep_temporaries

from .sessions import UPLOADS
from .settings import Settings

try:
    import fcntl  # POSIX file locks
except ImportError:                                   # Windows: only this process's folders are known in use
    fcntl = None

REQUEST_DIR_PREFIX = "lganim-"
UPLOAD_MARK = ".lganim-upload"                        # in a folder that holds an upload
IN_USE = ".lganim-in-use"                             # locked while a request writes its folder; its reservation
HASHED = re.compile(r"^[0-9a-f]{32,64}$")             # gradio's folders: an upload, a preview or a copy each
JANITOR_SECONDS = 1.0

_lock = threading.Lock()                              # one eviction at a time in this process
_held: dict[Path, tuple[int, int]] = {}               # this process's folders in use -> (lock descriptor, bytes)
_receiving = 0                                        # bytes of the uploads being received


def size_of(path: Path) -> int:
    """Bytes under `path` (a file or a folder); what vanishes meanwhile counts 0."""
    try:
        if not path.is_dir():
            return path.lstat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def reserved(folder: Path) -> int | None:
    """The bytes reserved for `folder` while a request writes it; None when nobody writes it (finished, or its
    writer is gone)."""
    if folder in _held:
        return _held[folder][1]
    if fcntl is None:
        return None
    try:
        fd = os.open(folder / IN_USE, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:                                 # its writer holds it
            text = os.read(fd, 32).decode("ascii", "replace")
            return int(text) if text.isdigit() else 0
        return None
    finally:
        os.close(fd)


def _hold(folder: Path, needed: int) -> None:
    fd = os.open(folder / IN_USE, os.O_CREAT | os.O_WRONLY, 0o600)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, str(needed).encode("ascii"))
    _held[folder] = (fd, needed)


def release(folder: Path) -> None:
    """The request that writes `folder` is done (finished, failed or cancelled): its files may go for room."""
    fd, _ = _held.pop(folder, (None, 0))
    if fd is not None:
        (folder / IN_USE).unlink(missing_ok=True)
        os.close(fd)


def _own_folders(root: Path) -> set[str]:
    """The names of the folders under `root` that hold the app's own files."""
    return {p.relative_to(root).parts[0] for p in UPLOADS.own if p.is_relative_to(root)}


def _entries(root: Path) -> Iterator[tuple[Path, str]]:
    """The entries of `root` that may ever be removed, with their kind: "result" (a request folder not in use),
    "preview" (gradio's), "upload", or "received" (a file gradio is receiving, or one a killed upload left)."""
    own = _own_folders(root)
    for entry in root.iterdir():
        name = entry.name
        if entry.is_dir() and name.startswith(REQUEST_DIR_PREFIX):
            if reserved(entry) is None:
                yield entry, "result"
        elif entry.is_dir() and HASHED.match(name) and name not in own:
            yield entry, "upload" if (entry / UPLOAD_MARK).exists() else "preview"
        elif entry.is_file() and not name.startswith("."):
            yield entry, "received"


def _remove(entry: Path) -> None:
    if entry.is_dir():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _mtime(entry: Path) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0


def sweep(root: str | Path, max_age: float) -> None:
    """Remove from gradio's cache `root` what is older than `max_age` seconds (results, previews, uploads; not a
    request folder in use, nor the app's own files), and the temporaries of writers that are gone."""
    root = Path(root)
    if not root.is_dir():
        return
    cutoff = time.time() - max_age
    for entry, _ in list(_entries(root)):
        if _mtime(entry) < cutoff:
            _remove(entry)
    sweep_temporaries(root, depth=1)                  # a killed request's half-written files


def _make_room(root: Path, total: int, needed: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    used = size_of(root)
    coming = _receiving + sum(max(0, r - size_of(f)) for f in root.glob(REQUEST_DIR_PREFIX + "*")
                              if (r := reserved(f)) is not None)
    gone = sorted((entry for entry, kind in _entries(root) if kind in ("result", "preview")), key=_mtime)
    while gone and used + coming + needed > total:
        oldest = gone.pop(0)
        used -= size_of(oldest)
        _remove(oldest)
    if used + coming + needed > total:
        raise LganimError(f"The server is out of room for files (it keeps at most {total / 1e6:.0f} MB, and this "
                          f"needs {needed / 1e6:.1f} MB more): try again in a few minutes, or ask for less.")


def make_room(root: str | Path, total: int, needed: int) -> None:
    """Remove the oldest finished results and previews under `root` until what it holds, what requests in use and
    uploads being received may still write, and `needed` more bytes fit in `total`; a one-line LganimError if they
    cannot."""
    with _lock:
        _make_room(Path(root), total, needed)


def request_dir(root: str | Path, *, max_age: float, total: int, needed: int) -> Path:
    """A fresh folder under `root` for one request's files, in use (and `needed` bytes reserved for it) until
    `release`; made once the old files are swept and there is room for `needed` more bytes within `total`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sweep(root, max_age)
    with _lock:
        _make_room(root, total, needed)
        folder = Path(tempfile.mkdtemp(prefix=REQUEST_DIR_PREFIX, dir=root))
        _hold(folder, needed)
    return folder


def receive(root: str | Path, total: int, size: int) -> None:
    """Room for an upload of `size` bytes, reserved while it is received (the oldest finished results and previews
    go first); a one-line LganimError when there is none. `received(size)` ends the reservation."""
    global _receiving
    with _lock:
        _make_room(Path(root), total, size)
        _receiving += size


def received(size: int) -> None:
    """An upload of `size` bytes is stored (or failed): its bytes count as what they are now."""
    global _receiving
    with _lock:
        _receiving -= size


def mark_uploads(root: str | Path, paths: Iterable[str | Path]) -> None:
    """Mark the folders gradio stored `paths` in as uploads (kept until the retention, never removed for room)."""
    root = Path(root).resolve()
    for path in paths:
        folder = Path(path).resolve().parent
        if folder.parent == root:
            (folder / UPLOAD_MARK).touch()


def start_janitor(root: str | Path, settings: Settings, every: float = JANITOR_SECONDS) -> threading.Event:
    """Keep `root` within the retention and the disk cap while the server runs, on a thread; set the returned event
    to stop it."""
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                sweep(root, settings.files_seconds)
                make_room(root, settings.disk_bytes, 0)
            except (LganimError, OSError):            # over the cap with nothing to remove: requests wait for room
                pass
            stop.wait(every)

    threading.Thread(target=work, daemon=True, name="lganim-janitor").start()
    return stop


__all__ = ["REQUEST_DIR_PREFIX", "UPLOAD_MARK", "IN_USE", "size_of", "reserved", "release", "sweep", "make_room",
           "request_dir", "receive", "received", "mark_uploads", "start_janitor"]
