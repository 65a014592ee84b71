"""Where a public weight file comes from: a copy placed by hand, or the Hugging Face Hub (download and cache).

Resolution order for a file: the folder named by `LGANIM_WEIGHTS` (or the checkout's `weights/`), then
huggingface_hub's cache (`HF_HUB_CACHE`), then a download through huggingface_hub (`HF_TOKEN`, `HF_ENDPOINT`) —
unless `HF_HUB_OFFLINE` is set or the Hub does not answer a short probe, which then says so in one line at once. A
file is checked against the registry's sha256 where one is known. The registry itself is `registry.py`.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..config import HUB_PROBE_MEMORY, HUB_PROBE_TIMEOUT
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


def where_to_place(weight: WeightFile) -> str:
    """Where a copy placed by hand goes, by setting name and the checkout's folder: no path of this machine (the
    message reaches web users)."""
    if os.environ.get("LGANIM_WEIGHTS"):
        return f"place it as {weight.basename} in the folder the LGANIM_WEIGHTS setting names"
    return (f"place it in lganim's weights/ folder as {weight.basename}, or in the folder the LGANIM_WEIGHTS "
            f"setting names")


def missing_error(weight: WeightFile, reason: str) -> LganimError:
    """The one-line error for a file that is not here: why it could not be had, where to get it and where to put
    it; the full local path rides apart, as `where` (the CLI shows it, the app does not)."""
    return LganimError(f"{weight.basename} is missing: {reason}. Download {weight.url} by hand and "
                       f"{where_to_place(weight)}.", where=str(local_weights_dir() / weight.basename))


@dataclass(frozen=True)
class HubAccess:
    """Whether the Hub can be asked for files now: "reachable", "offline" (HF_HUB_OFFLINE is set) or "unreachable"
    (a probe got no answer), and why, in words."""

    state: str
    reason: str

    @property
    def reachable(self) -> bool:
        return self.state == "reachable"


class HubProbe:
    """One short request to the Hub, its answer remembered for `HUB_PROBE_MEMORY` seconds per endpoint: an unreachable
    Hub costs a process at most one `HUB_PROBE_TIMEOUT` a minute, instead of huggingface_hub's retries (six attempts
    with 1-8 s back-off: 23 s a file, docs/facts.md). Threads share it; `clock` is a parameter so tests can move
    time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._seen: dict[str, tuple[float, HubAccess]] = {}
        self._lock = threading.Lock()

    def access(self, weight: WeightFile) -> HubAccess:
        from huggingface_hub import constants  # heavy (httpx): only when the Hub may be asked
        if constants.is_offline_mode():
            return HubAccess("offline", "HF_HUB_OFFLINE is set, so nothing is downloaded")
        url = hf_url(weight)
        origin = urlsplit(url)._replace(path="", query="", fragment="").geturl()
        with self._lock:
            seen = self._seen.get(origin)
            if seen is None or self.clock() - seen[0] >= HUB_PROBE_MEMORY:
                seen = (self.clock(), self._probe(url))
                self._seen[origin] = seen
            return seen[1]

    def _probe(self, url: str) -> HubAccess:
        # huggingface_hub's HTTP client (heavy) and its shared session (its proxies, its client factory): only now
        import httpx2
        from huggingface_hub.utils import get_session
        try:
            response = get_session().head(url, timeout=HUB_PROBE_TIMEOUT, follow_redirects=False)
        except httpx2.TimeoutException:
            return HubAccess("unreachable", f"the Hugging Face Hub cannot be reached (no answer within "
                                            f"{HUB_PROBE_TIMEOUT:g} s)")
        except (httpx2.HTTPError, OSError) as err:
            return HubAccess("unreachable", f"the Hugging Face Hub cannot be reached ({type(err).__name__})")
        if response.status_code >= 500:
            return HubAccess("unreachable", f"the Hugging Face Hub is not serving files (HTTP {response.status_code})")
        return HubAccess("reachable", f"the Hugging Face Hub answers (HTTP {response.status_code})")


HUB_PROBE = HubProbe()


def hf_url(weight: WeightFile) -> str:
    """The file's address on the Hub (huggingface_hub's, so HF_ENDPOINT is honoured)."""
    from huggingface_hub import hf_hub_url  # heavy (httpx): only when the Hub may be asked
    return hf_hub_url(weight.repo_id, weight.filename, revision=weight.revision)


def hub_access(weight: WeightFile) -> HubAccess:
    """Whether `weight` could be downloaded now (see `HubProbe`)."""
    return HUB_PROBE.access(weight)


def fetch(weight: WeightFile, *, token: str | None = None) -> Path:
    """Path to the file on disk, downloading it through huggingface_hub when needed; checked against the
    registry's size and sha256 where they are known (a copy placed by hand too).

    With HF_HUB_OFFLINE set, or the Hub unreachable (one short probe, remembered a while), a file that is not on
    disk is one line at once, not a minute of retries."""
    path = cached_file(weight)
    if path is None:
        access = hub_access(weight)
        if not access.reachable:
            raise missing_error(weight, access.reason)
        path = _download(weight, token, lambda reason: missing_error(weight, reason))
    verify_sha256(path, weight)
    return path


def repo_file(repo_id: str, filename: str, revision: str | None = None) -> Path:
    """A file of a Hub repo outside the registry (a presets bundle's): downloaded through huggingface_hub while the
    Hub answers (its cache revalidated), else the copy in huggingface_hub's cache; never a copy placed by hand, and
    unchecked (its reader checks what it reads). Missing: one line naming the repo and why."""
    from huggingface_hub import (
        try_to_load_from_cache,  # heavy (httpx): only when a file is looked up
    )
    weight = WeightFile(repo_id, filename, "-", revision=revision)
    where = f"{filename} of the Hub repo {repo_id}" + (f" at {revision}" if revision else "")
    access = hub_access(weight)
    if not access.reachable:
        hit = try_to_load_from_cache(repo_id, filename, revision=revision)
        if isinstance(hit, str):
            return Path(hit)
        raise LganimError(f"{where} is not here: {access.reason}.")
    return _download(weight, os.environ.get("HF_TOKEN"), lambda reason: LganimError(f"{where} could not be had: "
                                                                                      f"{reason}."))


def _download(weight: WeightFile, token: str | None, failed: Callable[[str], LganimError]) -> Path:
    """`weight` through `hf_hub_download` (the Hub answered the probe); a failure is `failed(reason)`."""
    from huggingface_hub import (
        hf_hub_download,  # heavy (httpx): only when a file is fetched
    )
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    try:
        return Path(hf_hub_download(weight.repo_id, weight.filename, revision=weight.revision,
                                    token=token or os.environ.get("HF_TOKEN")))
    except LocalEntryNotFoundError:
        raise failed("the Hugging Face Hub stopped answering") from None
    except HfHubHTTPError as e:
        raise failed(f"the Hugging Face Hub refused it ({type(e).__name__})") from None
    except OSError as e:
        raise failed(f"the download failed ({e.strerror or type(e).__name__})") from None


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
