"""Writing result files safely: a temporary file beside the target, renamed into place only when complete.

A failure never leaves a partial file under the final name. Files end up with the usual permissions
(0666 less the umask), not the 0600 of `tempfile.mkstemp`.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write `data` as indented JSON to `path`, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
