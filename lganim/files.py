"""Where lganim writes its own files, and how: a temporary file (or folder) beside the target, renamed into place
only when complete.

A failure never leaves a partial file under the final name. Files end up with the usual permissions
(0666 less the umask), not the 0600 of `tempfile.mkstemp`. No torch here.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_dir() -> Path:
    """lganim's own cache (demo files, fitted motions, verified hashes): LGANIM_CACHE or ~/.cache/lganim."""
    return Path(os.environ.get("LGANIM_CACHE") or Path.home() / ".cache" / "lganim")


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.tmp.",
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp.", dir=path.parent))
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
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
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
