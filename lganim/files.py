"""Where lganim writes its own files, and how: a temporary file (or folder) beside the target, renamed into place
only when complete; the sweep of the temporaries a killed process left; file locks between processes.

A failure never leaves a partial file under the final name. Files end up with the usual permissions
(0666 less the umask), not the 0600 of `tempfile.mkstemp`. A temporary's name says who writes it
(`.<name>.tmp.<pid>-<host>.<random>`), so the first use of the cache in a process (`cache_dir`) removes those of
writers that are gone — a `kill -9` leaves them behind — and never those of a live one. No torch here.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from .config import CACHE_SWEEP_DEPTH, LOCK_POLL_SECONDS, TEMP_MAX_AGE

try:
    import fcntl  # POSIX file locks (Linux, macOS)
except ImportError:                                 # Windows: `file_lock` locks nothing there
    fcntl = None

# `.<name>.tmp.<pid>-<host>.<random><suffix>` (and `.old.`; <random>: tempfile's 8 characters); earlier versions
# named no owner: `.<name>.tmp.<random><suffix>`, `.staging-<random>`.
TEMP_NAME = re.compile(r"^\..+\.(?:tmp|old)\.(?:(?P<pid>\d+)-(?P<host>[0-9a-f]{8})\.)?[a-z0-9_]{8}(?:\.[^.]+)?$"
                       r"|^\.staging-[a-z0-9_]{8}$")
_SWEPT: set[Path] = set()                           # caches swept by this process


def cache_dir() -> Path:
    """lganim's own cache (demo files, fitted motions, control directions, verified hashes): LGANIM_CACHE or
    ~/.cache/lganim. Its first use in a process sweeps the temporaries that dead processes left in it."""
    path = Path(os.environ.get("LGANIM_CACHE") or Path.home() / ".cache" / "lganim")
    if path not in _SWEPT:
        _SWEPT.add(path)
        sweep_temporaries(path)
    return path


@cache
def host_tag() -> str:
    """This machine, in 8 hex digits (of its host name): a pid means something only on the machine that made it."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def temp_prefix(name: str, kind: str = "tmp") -> str:
    """The start of a temporary's name beside `name`: hidden, marked, and naming its writer (pid and machine)."""
    return f".{name}.{kind}.{os.getpid()}-{host_tag()}."


def process_alive(pid: int) -> bool | None:
    """Whether process `pid` of this machine runs (a zombie counts); None where that cannot be asked (not POSIX)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)                             # signal 0: only asks
    except ProcessLookupError:
        return False
    except PermissionError:                         # another user's process
        return True
    return True


def abandoned(entry: Path, now: float) -> bool:
    """Whether `entry` is a temporary nobody will finish: its writer, on this machine, is gone; or it has not
    changed for `TEMP_MAX_AGE` seconds (a writer of another machine or an earlier version, or a reused pid)."""
    match = TEMP_NAME.match(entry.name)
    if match is None:
        return False
    pid = match.group("pid")
    if pid is not None and match.group("host") == host_tag():
        if int(pid) == os.getpid():
            return False
        if process_alive(int(pid)) is False:
            return True
    try:
        return now - entry.lstat().st_mtime > TEMP_MAX_AGE
    except OSError:                                 # removed meanwhile
        return False


def sweep_temporaries(root: Path, *, depth: int = CACHE_SWEEP_DEPTH) -> list[Path]:
    """Remove the abandoned temporaries (`abandoned`) in `root` and its subfolders down to `depth` levels (0: `root`
    alone); returns what was removed. Never raises: a sweep must not stop the work that starts after it."""
    removed: list[Path] = []
    now = time.time()
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            entry = Path(folder) / name
            if not TEMP_NAME.match(name):
                continue
            if name in dirs:
                dirs.remove(name)                   # a temporary folder's contents are its writer's
            if abandoned(entry, now):
                try:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
                except OSError:
                    continue
                removed.append(entry)
        if len(Path(folder).relative_to(root).parts) >= depth:
            dirs.clear()                            # not below `depth`
    return removed


@contextmanager
def file_lock(path: str | os.PathLike, *, wait: float, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> Iterator[bool]:
    """Hold an exclusive lock on the file `path` (created if needed) for the block; yields True when held, False
    when `wait` seconds passed without it (the caller goes on unlocked, so a hung holder delays but never stops it).

    The lock is `flock`'s: the system releases it when its holder dies, so a dead holder never blocks anyone. Where
    there is no fcntl (Windows) nothing is locked: it yields False at once.
    """
    if fcntl is None:
        yield False
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:                # creates it, never truncates it
        deadline = clock() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = False
            if held or clock() >= deadline:
                break
            sleep(LOCK_POLL_SECONDS)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def umask() -> int:
    """The process umask, read without changing it (Linux); else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_beside(path: Path, suffix: str | None = None) -> Path:
    """A new, empty hidden file in the folder of `path` (same file system, so a rename is atomic)."""
    # hidden, marked .tmp, and ending in the real extension (writers pick the format by it)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.stem),
                               suffix=path.suffix if suffix is None else suffix)
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Give `tmp` the usual permissions and rename it onto `path`."""
    os.chmod(tmp, 0o666 & ~umask())
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes `path`, on any error it is removed.

    suffix: the temporary file's extension when a writer picks the format by it (default: `path`'s).
    """
    path = Path(path)
    tmp = temp_beside(path, suffix)
    try:
        yield tmp
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Yield a new empty folder beside `path` to fill; on success it becomes `path`, on any error it is removed.

    An existing `path` is replaced as a whole (`replace=True`), or kept and the new folder dropped
    (`replace=False`: another process finished the same work first).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name), dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~umask())
        if not path.exists():
            try:
                os.replace(tmp, path)
            except OSError:
                if not path.exists():                # not a lost race: a real failure
                    raise
        elif replace:
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name, "old"), dir=path.parent))
            os.replace(path, old / "previous")
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old / "previous", path)
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write `data` as indented JSON to `path`, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
