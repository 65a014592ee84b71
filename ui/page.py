"""The page's Blocks: gradio's own refusals of a file value (a path it was never sent, a string or number where a
file goes) become the app's one-line message naming the input, instead of gradio's anonymous "the upstream app
raised an exception" and a traceback in the server log; and the API's description (the API page, gradio_client,
the MCP tools) says of each file input what it is in one line, with no default: a tab's example file lies at a path
of the server."""
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


def refusal(fn, components: list, values: list) -> str:
    """The one-line message for a request whose file values gradio refused: the file inputs that were given."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    given = [(names[i] if i < len(names) else f"input {i + 1}", kind)
             for i, (component, value) in enumerate(zip(components, values))
             if (kind := file_kind(component)) is not None and value is not None]
    if len(given) == 1:
        name, kind = given[0]
        what = f"{kind} file" if kind else "file"
        return f"{name} must be an uploaded {what} (gradio_client.handle_file(path)), or empty."
    listed = ", ".join(name for name, _ in given) or "a file input"
    return f"{listed}: each must be an uploaded file (gradio_client.handle_file(path)), or empty."


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


__all__ = ["Page", "refusal", "one_line_files"]
