"""What the app's tabs share: the models, where result files go, the GPU work (behind `@spaces.GPU` where `spaces` is
installed: on ZeroGPU it runs in a forked worker, so arguments and updates pickle), uploaded files, plots, and
library errors as `gr.Error`. Widgets only in app.py and the tab modules; the work is `ui.jobs` over the library."""
from __future__ import annotations

try:  # on ZeroGPU, `spaces` must be imported before anything initialises CUDA (elsewhere its decorator does nothing)
    import spaces
except ImportError:
    spaces = None

import functools
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
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


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The server's settings, read from the environment once (app.py reads them at startup)."""
    return Settings.from_env()


INTERNAL_ERROR = "Internal error: the server could not finish this request (its log has the details)."


def message_of(error: Exception, handler) -> str:
    """The one line a user sees for `error`: a library error's own message; anything else is a bug, logged with its
    traceback and answered without details."""
    if isinstance(error, LganimError):
        return str(error)
    if isinstance(error, gr.Error):
        return error.message
    log.error("internal error in %s", handler.__name__, exc_info=error)
    return INTERNAL_ERROR


def answers(outputs: int, status: int):
    """A tab's handler (a generator of output tuples, or a function returning one): the one place where errors become
    messages in the browser and for API clients. A library error (a bad value, a missing file) is shown as the tab's
    status line, replacing the stale step, then raised as one `gr.Error` line (the toast); anything else is a bug:
    logged with its traceback, answered with one line. `outputs`: how many outputs the handler has; `status`: the
    index of its status output."""
    def wrap(handler):
        @functools.wraps(handler)
        def guarded(*args, **kwargs):
            try:
                answer = handler(*args, **kwargs)
                if inspect.isgenerator(answer):
                    yield from answer
                else:
                    yield answer
            except Exception as e:
                message = message_of(e, handler)
            else:
                return
            shown = [gr.skip()] * outputs
            shown[status] = f"⚠️ {message}"
            yield tuple(shown)
            raise gr.Error(message, print_exception=False)
        return guarded
    return wrap


def session_of(request: gr.Request | None) -> str | None:
    """The browser or API session a call belongs to; None for a call through MCP: gradio's MCP server sends every
    agent's calls through one client of its own, so their session is shared and must hold nothing of theirs."""
    if request is None:
        return "local"                                    # called in-process (tests, scripts)
    if (request.headers or {}).get("x-gradio-user") == "mcp":
        return None
    return request.session_hash or "local"


@dataclass
class Kept:
    """What a session keeps between its calls (its last clip, its last edit): the page's gr.State holds one and a
    handler sets it in place, so that no endpoint has a State output (gradio's MCP server cannot answer a tool whose
    outputs hold one)."""

    value: object = None


@dataclass
class Run:
    """Where a session's streamed request stands on the server: frames rendered, of the total."""

    done: int = 0
    total: int = 0
    ended: threading.Event = field(default_factory=threading.Event)


class Runs:
    """The streamed request of each session and tab, so that Cancel can say where the server stopped (the page's own
    status line trails it by the chunk in flight). A run is kept from its start until its Cancel reads it, or until
    it finishes or fails; at most KEPT runs, the oldest forgotten first."""

    KEPT = 1000

    def __init__(self):
        self._runs: OrderedDict[tuple, Run] = OrderedDict()
        self._guard = threading.Lock()

    def track(self, key: tuple | None, updates: Iterator[jobs.Update]) -> Iterator[jobs.Update]:
        """`updates` passed on, each one's frame count noted first. The run ends when the stream does, after
        `updates` is closed (the render has stopped); one closed early (Cancel) is kept for its Cancel to read."""
        run, kept = Run(), False
        self._put(key, run)
        try:
            for u in updates:
                run.done, run.total = u.done, u.total
                yield u
        except GeneratorExit:                            # closed early (Cancel): kept for its Cancel to read
            kept = True
            raise
        finally:
            updates.close()
            run.ended.set()
            if not kept:
                self._forget(key, run)

    def stopped(self, key: tuple | None, wait: float) -> Run | None:
        """The session's run of a tab once it has ended (waiting up to `wait` seconds for the render to stop at its
        next chunk), then forgotten; None if there is none."""
        with self._guard:
            run = self._runs.get(key)
        if run is None:
            return None
        run.ended.wait(wait)
        self._forget(key, run)
        return run

    def _put(self, key: tuple | None, run: Run) -> None:
        if key is None:
            return
        with self._guard:
            self._runs.pop(key, None)
            self._runs[key] = run
            while len(self._runs) > self.KEPT:
                self._runs.popitem(last=False)

    def _forget(self, key: tuple | None, run: Run) -> None:
        with self._guard:
            if self._runs.get(key) is run:
                del self._runs[key]


RUNS = Runs()
CANCEL_WAIT = 30.0                                     # seconds Cancel waits for the render to stop at its next chunk


def tracked(updates: Iterator[jobs.Update], request: gr.Request | None, tab: str) -> Iterator[jobs.Update]:
    """A tab's stream of updates, noted as the session's run of `tab` (what its Cancel reports)."""
    session = session_of(request)
    return RUNS.track(None if session is None else (session, tab), updates)


def canceller(tab: str):
    """The Cancel button of `tab`: (the status line, the live frame cleared: it belonged to the cancelled clip). The
    status gives the server's count of the frames rendered, once the render has stopped."""
    def cancel(request: gr.Request = None):
        session = session_of(request)
        run = RUNS.stopped(None if session is None else (session, tab), CANCEL_WAIT)
        if run is None or not run.total:
            return "Cancelled.", None
        return f"Cancelled after {run.done} of {run.total} frames.", None
    return cancel


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


def lines(columns: dict | None) -> pd.DataFrame | None:
    """A line plot's value: `columns` as a table (the plot names its axes and colour), None for an empty plot. A value,
    not a component update: an API caller gets the table."""
    return None if columns is None else pd.DataFrame(columns)


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
