"""What the app's tabs share: the models, where result files go, the GPU work (behind `@spaces.GPU` where `spaces` is
installed: on ZeroGPU it runs in a forked worker, so arguments and updates pickle), uploaded files, plots, and
library errors as `gr.Error`. Widgets only in app.py and the tab modules; the work is `ui.jobs` over the library."""
from __future__ import annotations

try:  # on ZeroGPU, `spaces` must be imported before anything initialises CUDA (elsewhere its decorator does nothing)
    import spaces
except ImportError:
    spaces = None

import functools
import logging
import re
from pathlib import Path

import gradio as gr
import pandas as pd

from lganim.config import DEFAULT_PROMPT
from lganim.errors import LganimError
from lganim.request import DriveRequest, PredictRequest, Request, VideoEditRequest

from . import jobs, zerogpu
from .files import REQUEST_DIR_PREFIX
from .guard import is_url
from .models import Animators
from .settings import Settings

ANIMATORS = Animators()
FILES = Path(gr.utils.get_upload_folder())          # gradio's cache: uploads, and the per-request result folders
log = logging.getLogger("lganim.app")
_RENDERING = re.compile(r"(\d+)/(\d+) frames")


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The server's settings, read from the environment once (app.py reads them at startup)."""
    return Settings.from_env()


INTERNAL_ERROR = "Internal error: the server could not finish this request (its log has the details)."


def _message(error: Exception, handler) -> str:
    """The one line a user sees for `error`: a library error's own message; anything else is a bug, logged with its
    traceback and answered without details."""
    if isinstance(error, LganimError):
        return str(error)
    if isinstance(error, gr.Error):
        return error.message
    log.error("internal error in %s", handler.__name__, exc_info=error)
    return INTERNAL_ERROR


def answers(outputs: int, status: int):
    """A tab's handler (a generator of output tuples): the one place where errors become messages in the browser
    and for API clients. A library error (a bad value, a missing file) is shown as the status line, replacing the
    stale step, then raised as one `gr.Error` line; anything else is a bug: logged with its traceback, answered
    with one line. `outputs`: how many outputs the handler has; `status`: the index of its status output."""
    def wrap(handler):
        @functools.wraps(handler)
        def guarded(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except Exception as e:
                message = _message(e, handler)
            else:
                return
            shown = [gr.skip()] * outputs
            shown[status] = f"⚠️ {message}"
            yield tuple(shown)
            raise gr.Error(message, print_exception=False)
        return guarded
    return wrap


def answered(handler):
    """`answers` for a handler that returns its outputs at once (a stream's frame, a button's toggle): an error is
    raised as its one `gr.Error` line."""
    @functools.wraps(handler)
    def guarded(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Exception as e:
            raise gr.Error(_message(e, handler), print_exception=False) from None
    return guarded


def cancelled(status: str) -> str:
    """The status line after Cancel, from the one on screen ("Rendering… 113/256 frames")."""
    found = _RENDERING.search(status or "")
    if found:
        return f"Cancelled after {found.group(1)} of {found.group(2)} frames."
    return "Cancelled."


def reporter(progress: gr.Progress):
    """The progress bar, where the work runs in this process (not on ZeroGPU: it cannot cross to the GPU worker)."""
    return None if zerogpu.on_zero_gpu() else lambda fraction, text: progress(fraction, desc=text)


def on_gpu(duration):
    """`@spaces.GPU(duration=...)` where `spaces` is installed; else the function itself."""
    return spaces.GPU(duration=duration) if spaces is not None else (lambda fn: fn)


def uploaded_file(payload, upload_root: str | Path, name: str = "image", kind: str = "image") -> Path | None:
    """The path of a file a web client uploaded ({"path": ...}), or None for no file.

    Only uploads are accepted: files inside `upload_root` (the server's upload cache) but outside the result folders
    of requests, named by a path (not a URL). On a server the page has already made sure that the calling client
    uploaded it (ui/page.py: another client's upload, a result or a preview is refused, whatever its path).
    """
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else None
    root = Path(upload_root).resolve()
    named = isinstance(path, str) and "\x00" not in path and not is_url(path)
    resolved = Path(path).resolve() if named else None
    if (resolved is None or not resolved.is_file() or not resolved.is_relative_to(root)
            or resolved.relative_to(root).parts[0].startswith(REQUEST_DIR_PREFIX)):
        raise LganimError(f"{name} must be an uploaded {kind} file (gradio_client.handle_file(path)), or empty.")
    return resolved


def upload(payload, name: str = "image", kind: str = "image") -> Path | None:
    """The path of an uploaded file (its payload {"path": ...}), or None."""
    return uploaded_file(payload, FILES, name, kind)


def optional_prompt(prompt):
    """A prompt field: empty means none (anything that is not text is left for the request to refuse)."""
    return None if prompt is None or (isinstance(prompt, str) and not prompt.strip()) else prompt


def lines(columns: dict | None, x: str, y: str, color: str):
    """A line plot update of `columns` (None: leave the plot as it is)."""
    if columns is None:
        return gr.skip()
    return gr.LinePlot(value=pd.DataFrame(columns), x=x, y=y, color=color)


@on_gpu(duration=lambda domain, request, write_gif, progress: zerogpu.gpu_seconds(ANIMATORS, domain, request))
def generate(domain: str, request: Request, write_gif: bool, progress):
    """The GPU work of one request, as updates."""
    yield from jobs.run(ANIMATORS, domain, request, FILES, progress, settings(), write_gif)


@on_gpu(duration=lambda clip, strength, truncation, fps, progress: zerogpu.gpu_seconds(
    ANIMATORS, clip.domain, frames=clip.plan.request.batch * clip.plan.request.num_frames))
def regenerate(clip: jobs.Clip, strength: float, truncation: float, fps: int, progress):
    """The GPU work of a re-render of a finished clip, as updates."""
    yield from jobs.rerender(ANIMATORS, clip, FILES, progress, settings(), strength=strength, truncation=truncation,
                             fps=fps)


@on_gpu(duration=lambda domain, request, progress: zerogpu.drive_seconds(ANIMATORS, domain, request))
def drive(domain: str, request: DriveRequest, progress):
    """The work of a driven face (tracking, control directions, rendering), as updates."""
    yield from jobs.drive(ANIMATORS, domain, request, FILES, progress, settings())


@on_gpu(duration=lambda domain, request, progress: zerogpu.video_seconds(ANIMATORS, domain, request))
def edit_video(domain: str, request: VideoEditRequest, progress):
    """The work of an edited video (tracking, the prompt's fit, inverting and rendering every frame), as updates."""
    yield from jobs.edit_video(ANIMATORS, domain, request, FILES, progress, settings())


@on_gpu(duration=lambda domain, request, progress: zerogpu.gpu_seconds(
    ANIMATORS, domain, request.as_request(request.prompt or DEFAULT_PROMPT),
    frames=request.samples * request.num_frames))
def predict(domain: str, request: PredictRequest, progress):
    """The work of K predicted futures of one face, as updates."""
    yield from jobs.predict(ANIMATORS, domain, request, FILES, progress, settings())
