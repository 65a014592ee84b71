"""Where a public weight file comes from: a copy placed by hand, or the Hugging Face Hub (download and cache).

Resolution order for a file: the folder named by `LGANIM_WEIGHTS` (or the checkout's `weights/`), then the
Hub through huggingface_hub (its cache, `HF_TOKEN`, `HF_HUB_OFFLINE`). A file is checked against the
registry's sha256 where one is known. The registry itself is `registry.py`.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..errors import LganimError
from ..files import cache_dir, write_json
from .registry import WeightFile


def local_weights_dir() -> Path:
    """Files placed by hand: LGANIM_WEIGHTS, else the checkout's weights/ folder."""
    env = os.environ.get("LGANIM_WEIGHTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "weights"


def local_file(weight: WeightFile) -> Path | None:
    path = local_weights_dir() / weight.basename
    return path if path.is_file() else None


def cached_file(weight: WeightFile) -> Path | None:
    """The file if it is already on disk (placed by hand, or in the Hub cache at its revision); never downloads."""
    found = local_file(weight)
    if found:
        return found
    from huggingface_hub import (
        try_to_load_from_cache,  # heavy (httpx): only when a file is looked up
    )
    hit = try_to_load_from_cache(weight.repo_id, weight.filename, revision=weight.revision)
    return Path(hit) if isinstance(hit, str) else None


def missing_message(weight: WeightFile, reason: str) -> str:
    return (f"Could not get {Path(weight.filename).name} from the Hugging Face Hub repo {weight.repo_id} ({reason}). "
            f"Download {weight.url} by hand and place it as {local_weights_dir() / weight.basename} "
            f"(or set LGANIM_WEIGHTS to its folder).")


def fetch(weight: WeightFile, *, token: str | None = None) -> Path:
    """Path to the file on disk, downloading it through huggingface_hub when needed; checked against the
    registry's size and sha256 where they are known (a copy placed by hand too)."""
    path = local_file(weight)
    if path is None:
        from huggingface_hub import (
            hf_hub_download,  # heavy (httpx): only when a file is fetched
        )
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
        try:
            path = Path(hf_hub_download(weight.repo_id, weight.filename, revision=weight.revision,
                                        token=token or os.environ.get("HF_TOKEN")))
        except LocalEntryNotFoundError:
            raise LganimError(missing_message(weight, "offline, and not in the local cache")) from None
        except (HfHubHTTPError, OSError) as e:
            raise LganimError(missing_message(weight, type(e).__name__)) from None
    verify_sha256(path, weight)
    return path


def file_status(weight: WeightFile) -> tuple[str, Path | None]:
    """("verified" | "unverified" (on disk; no sha256 is known) | "corrupt" | "missing", the path if on disk),
    without downloading."""
    path = cached_file(weight)
    if path is None:
        return "missing", None
    try:
        verify_sha256(path, weight)
    except LganimError:
        return "corrupt", path
    return ("verified" if weight.sha256 else "unverified"), path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def read_memo(path: Path) -> dict:
    """The memo of verified files; a damaged or half-written one counts as empty (the files are hashed again)."""
    try:
        memo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def verify_sha256(path: Path, weight: WeightFile) -> None:
    """Check a file against the registry's sha256 (and size) once; the result is memoised by (path, size, mtime).

    The memo is written atomically, so concurrent workers never read a truncated one.
    """
    if weight.size is not None and path.stat().st_size != weight.size:
        raise LganimError(f"{path.name} has {path.stat().st_size} bytes, expected {weight.size}: the download is "
                          f"incomplete or another file; delete it and download it again.")
    if not weight.sha256:
        return
    memo_path = cache_dir() / "verified.json"
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    if read_memo(memo_path).get(key) == weight.sha256:
        return
    digest = sha256_of(path)
    if digest != weight.sha256:
        raise LganimError(f"{path.name} is corrupt or not the expected file (sha256 {digest[:12]}…, expected "
                          f"{weight.sha256[:12]}…): delete it and download it again.")
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(memo_path, {**read_memo(memo_path), key: digest})
