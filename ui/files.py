"""Where a server's result files live: one fresh folder per request in gradio's cache, older ones removed."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

REQUEST_DIR_PREFIX = "lganim-"


FILES_MAX_AGE = 3600            # seconds a request's folder is kept


FRAMES_FILE = "frames.npy"      # a finished clip's frames, kept for re-encoding at another fps


# -- files of a request ------------------------------------------------------------------------------------------
def request_dir(root: str | Path) -> Path:
    """A fresh folder under `root` for one request's files; folders of requests older than FILES_MAX_AGE go."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - FILES_MAX_AGE
    for old in root.glob(REQUEST_DIR_PREFIX + "*"):
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=REQUEST_DIR_PREFIX, dir=root))



__all__ = ["REQUEST_DIR_PREFIX", "FILES_MAX_AGE", "FRAMES_FILE", "request_dir"]
