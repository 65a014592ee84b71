"""The server's door: an ASGI middleware that sees every HTTP request before gradio does.

- Every client gets its cookie (ui/sessions) with its first response.
- An upload first makes room for its bytes within the disk cap, or is refused in one line (413) before anything is
  stored; what it stored is recorded as its client's, and its folder marked as an upload (ui/files).
- The file route serves files only: no URL (gradio would fetch it, or look its host up, for the caller), no hidden
  file (lganim's temporaries while they are written or after a kill, lock files), nothing lying directly in gradio's
  cache (an upload being received); the proxy route serves nothing (the app loads no other app).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from lganim.errors import LganimError

from . import files
from .sessions import CLIENT_COOKIE, UPLOADS, Uploads, new_client

FILE_ROUTE = re.compile(r"/gradio_api/file[=/](?P<target>.*)$", re.DOTALL)
PROXY_ROUTE = re.compile(r"/gradio_api/proxy=")
UPLOAD_ROUTE = re.compile(r"/gradio_api/upload/?$")
MULTIPART_SLACK = 64 * 1024                                        # an upload's form around its one file
SCHEME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|[/\\]{2})")    # http:, data:, file:, //host ...


def is_url(text: str) -> bool:
    """Whether `text` names something by a scheme or a network host, not a path on this server."""
    return bool(SCHEME.match(text))


class Guard:
    """The middleware: `launch(app_kwargs={"middleware": [Middleware(Guard, root=..., disk_bytes=...,
    upload_bytes=...)]})`."""

    def __init__(self, app, *, root: str | Path, disk_bytes: int, upload_bytes: int, uploads: Uploads = UPLOADS):
        self.app, self.root, self.uploads = app, Path(root).resolve(), uploads
        self.disk_bytes, self.upload_bytes = disk_bytes, upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        client = cookie_parser(headers.get("cookie", "")).get(CLIENT_COOKIE)
        if not client:                                          # its first request: its cookie comes back with it
            client = new_client()
            send = self.with_cookie(send, client, secure=secure(scope, headers))
        path = scope["path"]
        if UPLOAD_ROUTE.search(path) and scope["method"] == "POST":
            await self.upload(scope, receive, send, client, headers)
        elif (found := FILE_ROUTE.search(path)) and not self.servable(found.group("target")):
            await answer(send, 403, "File not allowed.")
        elif PROXY_ROUTE.search(path):
            await answer(send, 403, "File not allowed.")
        else:
            await self.app(scope, receive, send)

    def servable(self, target: str) -> bool:
        """Whether the file route may look at `target`: a path, and in gradio's cache, a whole file in a folder."""
        if "\x00" in target or is_url(target):
            return False
        path = Path(os.path.abspath(target))
        if not path.is_relative_to(self.root):
            return True                                         # gradio's own rules (static files)
        parts = path.relative_to(self.root).parts
        return len(parts) > 1 and not any(part.startswith(".") for part in parts)

    async def upload(self, scope, receive, send, client: str, headers: Headers) -> None:
        """Receive an upload within the disk cap, then record its files as `client`'s before the answer leaves."""
        length = headers.get("content-length", "")
        if not length.isdigit():
            await answer(send, 411, "An upload must give its size (a Content-Length header).")
            return
        size = int(length)
        if size > self.upload_bytes + MULTIPART_SLACK:
            await answer(send, 413, f"The upload is larger than the {self.upload_bytes / 1e6:.0f} MB one file may be.")
            return
        try:
            await anyio.to_thread.run_sync(files.receive, self.root, self.disk_bytes, size)
        except LganimError as e:
            await answer(send, 413, str(e))
            return
        start, body = None, b""

        async def keep(message) -> None:                        # held back until the files are recorded
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            body += message.get("body", b"")
            if message.get("more_body"):
                return
            if start["status"] == 200:
                stored = [p for p in json.loads(body) if isinstance(p, str)]
                self.uploads.record(client, stored)
                await anyio.to_thread.run_sync(files.mark_uploads, self.root, stored)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, keep)
        finally:
            files.received(size)

    @staticmethod
    def with_cookie(send, client: str, secure: bool):
        """`send` that sets the client's cookie on the response (cross-site in an https iframe, e.g. a Space)."""
        attributes = "Secure; SameSite=None; Partitioned" if secure else "SameSite=Lax"
        cookie = f"{CLIENT_COOKIE}={client}; Path=/; HttpOnly; {attributes}".encode("latin-1")

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)
        return sending


def secure(scope, headers: Headers) -> bool:
    """Whether the client reached the server over https (directly, or through a proxy that says so)."""
    return scope.get("scheme") == "https" or headers.get("x-forwarded-proto", "").split(",")[0].strip() == "https"


async def answer(send, status: int, text: str) -> None:
    """A one-line plain-text answer."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


__all__ = ["Guard", "is_url", "secure", "answer"]
