"""What the app's tabs share: the models, where result files go, the GPU work (behind `@spaces.GPU` where `spaces` is
installed: on ZeroGPU it runs in a forked worker, so arguments and updates pickle), uploaded files, plots, and
library errors as `gr.Error`. Widgets only in app.py and the tab modules; the work is `ui.jobs` over the library."""
from __future__ import annotations

try:  # on ZeroGPU, `spaces` must be imported before anything initialises CUDA (elsewhere its decorator does nothing)
    import spaces
except ImportError:
    spaces = None

from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import pandas as pd

from lganim.errors import LganimError
from lganim.request import DriveRequest, Request

from . import jobs, zerogpu
from .models import Animators

ANIMATORS = Animators()
FILES = Path(gr.utils.get_upload_folder())          # gradio's cache: uploads, and the per-request result folders


@contextmanager
def user_errors():
    """The one place where the library's errors become messages in the browser (and for API clients)."""
    try:
        yield
    except LganimError as e:
        raise gr.Error(str(e), print_exception=False) from None


def reporter(progress: gr.Progress):
    """The progress bar, where the work runs in this process (not on ZeroGPU: it cannot cross to the GPU worker)."""
    return None if zerogpu.on_zero_gpu() else lambda fraction, text: progress(fraction, desc=text)


def on_gpu(duration):
    """`@spaces.GPU(duration=...)` where `spaces` is installed; else the function itself."""
    return spaces.GPU(duration=duration) if spaces is not None else (lambda fn: fn)


def uploaded_file(payload, upload_root: str | Path, name: str = "image", kind: str = "image") -> Path | None:
    """The path of a file a web client uploaded ({"path": ...}), or None for no file.

    Only files inside `upload_root` (the server's upload cache) are accepted: a client must upload the file,
    never name one that is already on the server.
    """
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else None
    if (not isinstance(path, str) or not Path(path).is_file()
            or not Path(path).resolve().is_relative_to(Path(upload_root).resolve())):
        raise LganimError(f"{name} must be an uploaded {kind} file (gradio_client.handle_file(path)), or empty.")
    return Path(path)


def upload(payload, name: str = "image", kind: str = "image") -> Path | None:
    """The path of an uploaded file (its payload {"path": ...}), or None."""
    return uploaded_file(payload, FILES, name, kind)


def scatter(columns: dict | None, color: str):
    return gr.ScatterPlot(value=pd.DataFrame(columns), color=color) if columns is not None else None


def lines(columns: dict | None):
    return gr.LinePlot(value=pd.DataFrame(columns)) if columns is not None else None


@on_gpu(duration=lambda domain, request, write_gif, progress: zerogpu.gpu_seconds(ANIMATORS, domain, request))
def generate(domain: str, request: Request, write_gif: bool, progress):
    """The GPU work of one request, as updates."""
    yield from jobs.run(ANIMATORS, domain, request, FILES, progress, write_gif)


@on_gpu(duration=lambda clip, strength, truncation, fps, progress: zerogpu.gpu_seconds(
    ANIMATORS, clip.domain, frames=clip.plan.request.batch * clip.plan.request.num_frames))
def regenerate(clip: jobs.Clip, strength: float, truncation: float, fps: int, progress):
    """The GPU work of a re-render of a finished clip, as updates."""
    yield from jobs.rerender(ANIMATORS, clip, FILES, progress, strength=strength, truncation=truncation, fps=fps)


@on_gpu(duration=lambda domain, request, progress: zerogpu.drive_seconds(ANIMATORS, domain, request))
def drive(domain: str, request: DriveRequest, progress):
    """The work of a driven face (tracking, control directions, rendering), as updates."""
    yield from jobs.drive(ANIMATORS, domain, request, FILES, progress)


@on_gpu(duration=lambda domain, face, samples, progress: zerogpu.gpu_seconds(
    ANIMATORS, domain, face, frames=samples * face.num_frames))
def predict(domain: str, face: Request, samples: int, progress):
    """The work of K predicted futures of one face, as updates."""
    yield from jobs.predict(ANIMATORS, domain, face, samples, FILES, progress)
