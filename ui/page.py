"""The page's Blocks, and what a request may carry before gradio touches its values: every refusal is the app's one
line naming the input, never gradio's anonymous "the upstream app raised an exception" and a traceback in the log.

Before gradio preprocesses a call (where it would download a URL, or open any file in its cache), each value is
checked against its input:
- too few values: the first missing input is named;
- text inputs take text (no list, no number, no NUL character);
- file inputs take a file the calling client uploaded, or one of the app's own (ui/sessions) — by its path on this
  server, never a URL (http:, data:, ...), never another client's upload, a result or a preview, whatever its path;
- the live camera takes a picture from the browser's camera (a data: URL), never a path.
gradio's own refusals of a file value that passes (a field of the wrong type) get the same line. A file named by its
address on this server's file route (what gradio's MCP server sends for a file: a URL) is named by its path instead,
as a browser names it: nothing is fetched, and the path is checked as any other.

The API's description (the API page, gradio_client, the MCP tools) says of each file input what it is in one line,
with no default: a tab's example file lies at a path of the server.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import gradio as gr
import pydantic
from gradio.exceptions import InvalidPathError

from lganim.checks import shown

from .guard import is_url
from .sessions import CLIENT_COOKIE, UPLOADS, Uploads

FILE_INPUTS = {gr.Image: "image", gr.Video: "video", gr.Audio: "audio", gr.File: ""}
FILE_PARAMETERS = {"Image": "an image file", "Video": "a video file", "Audio": "a sound file", "File": "a file"}
SERVED = re.compile(r"^https?://[^/]+(?:/[^?#]*)?/gradio_api/file=(?P<path>[^?#]+)")   # a file's address on a server
CAMERA_FRAME = "data:image/"                 # what the browser's streaming camera sends: {"url": "data:image/jpeg;..."}


def file_kind(component) -> str | None:
    """"image", "video", "audio" or "" (any file) for a file input; None for others."""
    return next((kind for cls, kind in FILE_INPUTS.items() if isinstance(component, cls)), None)


def input_names(fn, count: int) -> list[str]:
    """The names of a handler's first `count` inputs (its parameters; "input N" past them)."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"input {i + 1}" for i in range(count)]


def file_line(name: str, kind: str) -> str:
    what = f"{kind} file" if kind else "file"
    return f"{name} must be an uploaded {what} (gradio_client.handle_file(path)), or empty."


def refusal(fn, components: list, values: list) -> str:
    """The one-line message for a request whose file values gradio refused: the file inputs that were given."""
    names = input_names(fn, len(components))
    given = [(names[i], kind) for i, (component, value) in enumerate(zip(components, values))
             if (kind := file_kind(component)) is not None and value is not None]
    if len(given) == 1:
        return file_line(*given[0])
    listed = ", ".join(name for name, _ in given) or "a file input"
    return f"{listed}: each must be an uploaded file (gradio_client.handle_file(path)), or empty."


def file_dicts(value) -> list[dict]:
    """Every file value (a dict with a "path" or a "url") in `value`, through nested dicts and lists."""
    if isinstance(value, dict):
        if "path" in value or "url" in value:
            return [value]
        return [found for inner in value.values() for found in file_dicts(inner)]
    if isinstance(value, list):
        return [found for inner in value for found in file_dicts(inner)]
    return []


def named_file(value: dict, client: str | None, uploads: Uploads) -> bool:
    """Whether a file value names a file `client` may use: its path one it uploaded (or one of the app's own), its
    url, if any, that file's address on this server."""
    path, url = value.get("path"), value.get("url")
    if not isinstance(path, str) or "\x00" in path or is_url(path):
        return False
    resolved = Path(path).resolve()
    if not uploads.allowed(client, resolved) or not resolved.is_file():
        return False
    if url is None:
        return True
    return isinstance(url, str) and unquote(urlsplit(url).path).endswith("/file=" + path)


def served_as_paths(value):
    """`value` with each file named by its address on the file route (http://host/gradio_api/file=PATH) named by its
    PATH instead; other values as they are."""
    if isinstance(value, list):
        return [served_as_paths(inner) for inner in value]
    if not isinstance(value, dict):
        return value
    found = SERVED.match(value["path"]) if isinstance(value.get("path"), str) else None
    if found:
        return {**value, "path": unquote(found.group("path")), "url": None}
    return {key: served_as_paths(inner) for key, inner in value.items()}


def one_line_files(info: dict) -> dict:
    """gradio's API description with every file input described in one line (not gradio's FileData docstring) and
    without a default (a component's value is a file of the server: its path is nobody's business)."""
    for endpoint in info["named_endpoints"].values():
        for parameter in endpoint["parameters"]:
            what = FILE_PARAMETERS.get(parameter["component"])
            if what is None:
                continue
            parameter["python_type"]["description"] = f"{what}: gradio_client.handle_file(path), or None"
            parameter["parameter_has_default"], parameter["parameter_default"] = True, None
    return info


def camera_frame(value) -> bool:
    """Whether a live camera's value is a picture the browser took (a data: URL, no path)."""
    return (isinstance(value, dict) and value.get("path") is None and isinstance(value.get("url"), str)
            and value["url"].startswith(CAMERA_FRAME))


def refused(fn, components: list, values: list, client: str | None, uploads: Uploads = UPLOADS) -> str | None:
    """The one-line message for the first value its input cannot take, or None when every value may go on."""
    names = input_names(fn, len(components))
    if len(values) < len(components):                   # the values a client sends: not the session's states
        given = [name for name, component in zip(names, components) if not component.skip_api]
        missing = next((name for name, component in zip(names[len(values):], components[len(values):])
                        if not component.skip_api), names[len(values)])
        return f"{missing} is missing: this endpoint takes {len(given)} values ({', '.join(given)}), got {len(values)}."
    for name, component, value in zip(names, components, values):
        if value is None:
            continue
        if isinstance(component, gr.Textbox) and not isinstance(value, str):
            return f"{name} must be text, got {type(value).__name__} {shown(value)}."
        if isinstance(component, gr.Textbox) and "\x00" in value:
            return f"{name} holds a NUL character: type it again without it."
        kind = file_kind(component)
        if kind is None:
            continue
        if getattr(component, "streaming", False):
            if not camera_frame(value):
                return f"{name} must be a picture from the browser's camera."
            continue
        found = file_dicts(value)
        if not found or not all(named_file(f, client, uploads) for f in found):
            return file_line(name, kind)
    return None


def client_of(request) -> str | None:
    """The client a request came from (its cookie, ui/sessions), if any."""
    cookies = getattr(request, "cookies", None) if request is not None else None
    return cookies.get(CLIENT_COOKIE) if cookies else None


class Page(gr.Blocks):
    """gr.Blocks whose requests are checked before gradio preprocesses them, and whose API says what a file input is
    in one line (see the module)."""

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        return one_line_files(super().get_api_info(all_endpoints, page))

    def own_files(self) -> set[str]:
        """What gradio copied into its cache while the page was built (examples, default values): the app's own."""
        return {path for block in self.blocks.values() for path in getattr(block, "keep_in_cache", ())}

    async def process_api(self, block_fn, inputs, state=None, request=None, iterator=None, **kwargs):
        if iterator is None:                     # a new call, not the next step of a running one
            fn = self.fns[block_fn] if isinstance(block_fn, int) else block_fn
            inputs = [served_as_paths(v) if file_kind(c) is not None else v for c, v in zip(fn.inputs, inputs)
                      ] + list(inputs[len(fn.inputs):])
            message = refused(fn.fn, fn.inputs, inputs, client_of(request))
            if message is not None:
                raise gr.Error(message, print_exception=False)
        return await super().process_api(block_fn, inputs, state, request, iterator, **kwargs)

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except (InvalidPathError, pydantic.ValidationError):
            raise gr.Error(refusal(block_fn.fn, block_fn.inputs, inputs), print_exception=False) from None


__all__ = ["Page", "refusal", "refused", "file_dicts", "named_file", "served_as_paths", "one_line_files",
           "camera_frame", "client_of"]
