"""The page's Blocks: gradio's own refusals of a file value (a path it was never sent, a string or number where a
file goes, a URL it could not download) become the app's one-line message naming the input, instead of gradio's
anonymous "the upstream app raised an exception" and a traceback in the server log; and the API's description (the
API page, gradio_client, the MCP tools) says of each file input what it is in one line, with no default: a tab's
example file lies at a path of the server."""
from __future__ import annotations

import inspect

import gradio as gr
import pydantic
from gradio.exceptions import InvalidPathError

FILE_INPUTS = {gr.Image: "image", gr.Video: "video", gr.Audio: "audio", gr.File: ""}
FILE_PARAMETERS = {"Image": "an image file", "Video": "a video file", "Audio": "a sound file", "File": "a file"}


def file_kind(component) -> str | None:
    """"image", "video", "audio" or "" (any file) for a file input; None for others."""
    return next((kind for cls, kind in FILE_INPUTS.items() if isinstance(component, cls)), None)


def given_files(fn, components: list, values: list) -> list[tuple[str, str, object]]:
    """(name, kind, value) of each file input given a value: its name is the handler's parameter's."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [(names[i] if i < len(names) else f"input {i + 1}", kind, value)
            for i, (component, value) in enumerate(zip(components, values))
            if (kind := file_kind(component)) is not None and value is not None]


def refusal(fn, components: list, values: list) -> str:
    """The one-line message for a request whose file values gradio refused: the file inputs that were given."""
    given = given_files(fn, components, values)
    if len(given) == 1:
        name, kind, _ = given[0]
        what = f"{kind} file" if kind else "file"
        return f"{name} must be an uploaded {what} (gradio_client.handle_file(path)), or empty."
    listed = ", ".join(name for name, _, _ in given) or "a file input"
    return f"{listed}: each must be an uploaded file (gradio_client.handle_file(path)), or empty."


def has_url(value) -> bool:
    """Whether a file value (gradio's FileData, or one inside a video's) names an http(s) URL."""
    if isinstance(value, dict):
        return any(has_url(v) for v in value.values())
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def unfetched(fn, components: list, values: list) -> str | None:
    """The one-line message for a request whose file URLs gradio could not download (its downloads refuse private
    addresses: what an MCP client or gradio_client sends for a file is a URL); None if no file was given as one."""
    names = [name for name, _, value in given_files(fn, components, values) if has_url(value)]
    if not names:
        return None
    return (f"{', '.join(names)}: the file at the URL could not be downloaded; give a public http(s) URL, or upload "
            f"the file (gradio_client.handle_file(path)).")


def one_line_files(info: dict) -> dict:
    """gradio's API description with every file input described in one line (not gradio's FileData docstring) and
    without a default (a component's value is a file of the server: its path is nobody's business)."""
    for endpoint in info["named_endpoints"].values():
        for parameter in endpoint["parameters"]:
            what = FILE_PARAMETERS.get(parameter["component"])
            if what is None:
                continue
            parameter["python_type"]["description"] = f"{what}: gradio_client.handle_file(path or URL), or None"
            parameter["parameter_has_default"], parameter["parameter_default"] = True, None
    return info


class Page(gr.Blocks):
    """gr.Blocks whose requests with a file value gradio cannot take get the app's message, and whose API says what
    a file input is in one line (see the module)."""

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        return one_line_files(super().get_api_info(all_endpoints, page))

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except (InvalidPathError, pydantic.ValidationError):
            raise gr.Error(refusal(block_fn.fn, block_fn.inputs, inputs), print_exception=False) from None
        except Exception:
            message = unfetched(block_fn.fn, block_fn.inputs, inputs)
            if message is None:
                raise
            raise gr.Error(message, print_exception=False) from None


__all__ = ["Page", "given_files", "refusal", "has_url", "unfetched", "one_line_files"]
