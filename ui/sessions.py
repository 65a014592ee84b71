"""Which files a client may name: the ones it uploaded, and the app's own (its examples). Nothing else — another
client's uploads, any result or preview, any other path on the server — whatever its path.

A client is what holds the server's cookie (CLIENT_COOKIE), set on its first response (ui/guard.py): a browser
(every tab of it), or one `gradio_client.Client`, which keeps the cookie of its first request. gradio's upload
route knows no session, while the upload and the request that names it both carry the cookie.
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from pathlib import Path

CLIENT_COOKIE = "lganim-client"


def new_client() -> str:
    """A fresh client identity (an unguessable cookie value)."""
    return secrets.token_urlsafe(24)


class Uploads:
    """The files each client uploaded (path -> the clients that uploaded it: gradio stores identical uploads once),
    and the app's own files, which any client may name. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._owners: dict[Path, set[str]] = {}
        self.own: frozenset[Path] = frozenset()

    def keep_own(self, paths: Iterable[str | Path]) -> None:
        """The app's own files: what gradio copied into its cache when the page was built (examples, defaults)."""
        self.own = frozenset(Path(p).resolve() for p in paths)

    def record(self, client: str, paths: Iterable[str | Path]) -> None:
        """`client` uploaded `paths`; uploads whose file is gone (past the retention) are forgotten here."""
        with self._lock:
            for path in [p for p in self._owners if not p.is_file()]:
                del self._owners[path]
            for path in paths:
                self._owners.setdefault(Path(path).resolve(), set()).add(client)

    def allowed(self, client: str | None, path: Path) -> bool:
        """Whether `client` may name the file `path` (resolved): one it uploaded, or one of the app's own."""
        if path in self.own:
            return True
        with self._lock:
            return client is not None and client in self._owners.get(path, ())


UPLOADS = Uploads()                 # this server's


__all__ = ["CLIENT_COOKIE", "new_client", "Uploads", "UPLOADS"]
