"""A web request as a stream of updates, without any UI toolkit: a clip (frames while they render, then the files),
a re-render of a finished clip, a driven face, predicted futures, an edited video. The page turns these updates into
widgets; what it shows is decided here. Every update pickles (on ZeroGPU they come from the GPU worker).

Every request enters through its door on the Animator (`anim(request)`, `anim.drive`, `anim.predict`,
`anim.edit_video`) and its frames go through the library's output stage (lganim.outputs) into the request's folder:
one MP4 per clip chunk by chunk (what stays in memory is a chunk, the frames of the strip and frame 0), playable as
soon as the last frame is rendered; the GIF and the side-by-side video are made from the MP4 by ffmpeg afterwards. A
request stops between two chunks when it runs past its time budget or its disk budget; closing its stream (Cancel)
stops it and removes its folder.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lganim.errors import LganimError
from lganim.media.preview import motion_curves, tile, track_curves
from lganim.motion.directions import LAYER_GROUPS
from lganim.outputs import Outputs, OutputWriter
from lganim.pipeline import AnimationResult, Animator
from lganim.plan import FrameChunk, Plan
from lganim.request import DriveRequest, PredictRequest, Request, VideoEditRequest

from .files import make_room, release, request_dir, size_of
from .models import Animators
from .settings import Settings

log = logging.getLogger("lganim.app")
StatusProgress = Callable[[float, str], None]        # (fraction done, what is happening): gradio's progress bar
BYTES_PER_PIXEL = 0.5                                 # a generous bound of what H.264 writes per pixel of a frame
STATUS_EVERY = 0.2                                    # seconds between two status lines of background work
STREAM_STEPS = 4                                      # time steps a streamed chunk holds at most: the live frame
                                                      # changes every few frames, whatever the renderer's batch
clock = time.monotonic                                # what the time budget is measured with
GROUPS = {**LAYER_GROUPS, "fine": tuple(range(9, 18))}   # the motion plot's layer groups (fine: colour, identity)


def layer_groups(num_ws: int) -> dict[str, tuple[int, ...]]:
    """GROUPS within a generator's `num_ws` W+ layers."""
    return {name: kept for name, layers in GROUPS.items() if (kept := tuple(i for i in layers if i < num_ws))}


@dataclass
class Clip:
    """What a re-render of a finished clip starts from: its plan (tensors on the CPU) and its first frames."""

    domain: str
    plan: Plan
    first: np.ndarray                       # uint8 [B, H, W, 3]: frame 0 of every clip, reused by a re-render


@dataclass
class Update:
    """What one step of a request shows: streamed frames while rendering, then the results."""

    status: str
    live: np.ndarray | None = None          # uint8 [H, W, 3]: the newest frame (a grid for batches)
    videos: list[Path] | None = None        # one MP4 per clip
    captions: list[str] | None = None       # what each video is
    gif: Path | None = None                 # clip 0 as a GIF (after the MP4)
    side_by_side: Path | None = None        # the driving video beside the driven face (after the MP4)
    strip: np.ndarray | None = None
    plot: dict | None = None                # columns frame, distance, curve: the motion over time
    aligned: np.ndarray | None = None       # uint8 [S, S, 3]: the aligned face crop of a photo (what is animated)
    clip: Clip | None = None                # set with the results: what a re-render starts from
    tracks: list[Path] | None = None        # the motion track that drove the face, as JSON and CSV
    curves: dict | None = None              # columns t, value, channel: the track's channels over time
    done: int = 0                           # frames rendered so far, of
    total: int = 0                          # the frames of the request


@dataclass
class Budget:
    """A request's time and disk budgets (ui/settings.py)."""

    settings: Settings
    started: float = field(default_factory=lambda: clock())

    def check(self, done: int, total: int) -> None:
        if clock() - self.started > self.settings.request_seconds:
            raise LganimError(f"Stopped after {done} of {total} frames: the request ran past the "
                              f"{self.settings.request_seconds} s one request may take; ask for fewer frames.")


def quiet(fraction: float, text: str) -> None:
    """No progress bar (on ZeroGPU the callback could not cross to the GPU worker)."""


def labels_of(request: Request) -> list[str]:
    """A caption per clip: its face and its prompt."""
    prompts = request.prompts or ("driven",) * request.batch
    return [f"{i}: {'photo' if s is None else f'seed {s}'} · {p[:60]}"
            for i, (s, p) in enumerate(zip(request.seeds, prompts))]


def run(animators: Animators, domain: str, request: Request, files_root: str | Path, progress: StatusProgress | None,
        settings: Settings, write_gif: bool = True) -> Iterator[Update]:
    """Load (once), plan, render chunk by chunk into the MP4s, then the GIF. Closing the iterator stops the work and
    removes the request's folder."""
    progress = progress or quiet
    budget = Budget(settings)
    first_load = domain not in animators.loaded
    if first_load:
        progress(0, f"Loading the {domain} models (first request only)…")
    yield Update(f"Loading the {domain} models…" if first_load else "Planning the motion…")
    anim = animators.get(domain)
    make_room(files_root, settings.disk_bytes, estimate(request, anim))       # or refused before any work
    progress(0, "Planning the motion…")
    result: AnimationResult = yield from in_background(lambda report: anim(request, progress=report), progress,
                                                       budget)
    plan = result.plan
    if plan.photo is not None:
        yield Update("Face found and aligned: animating this crop…", aligned=plan.photo.aligned.image)
    yield from stream_clip(result.chunks(STREAM_STEPS), plan, anim, files_root, progress, budget, write_gif=write_gif)


def stages(progress: StatusProgress):
    """A door's progress(stage, done, total) as the status line."""
    return lambda stage, done, total: progress(done / total if total else 0,
                                               f"{stage}: step {done}/{total}" if total else f"{stage}…")


def rerender(animators: Animators, clip: Clip, files_root: str | Path, progress: StatusProgress | None,
             settings: Settings, *, strength: float, truncation: float | None, fps: int,
             write_gif: bool = True) -> Iterator[Update]:
    """A finished clip with another strength, truncation ψ or fps, from its motion (no CLIP, fitting or motion
    model), with its GIF as the first render had; frame 0 is reused where its code did not change."""
    progress = progress or quiet
    anim = animators.get(clip.domain)
    result = AnimationResult(clip.plan.to(anim.device), anim, first=clip.first).rerender(
        strength=strength, truncation=truncation, fps=fps)
    plan = result.plan
    if plan.photo is not None:                               # the crop again, for a caller that reads the last answer
        yield Update("Re-rendering…", aligned=plan.photo.aligned.image)
    yield from stream_clip(result.chunks(STREAM_STEPS), plan, anim, files_root, progress, Budget(settings),
                           write_gif=write_gif)


def background(work: Callable, progress: StatusProgress) -> Iterator:
    """Run `work(report)` on a thread while its reports (stage, done, expected) come out as status lines; its result
    is the generator's return value. Closing the generator stops the work at its next report."""
    events: queue.Queue = queue.Queue(maxsize=4)          # the work waits for its reports to be read
    stop = threading.Event()

    def put(event: tuple, stoppable: bool) -> None:
        while True:
            if stoppable and stop.is_set():
                raise LganimError("Cancelled.")
            try:
                events.put(event, timeout=0.1)
                return
            except queue.Full:
                if not stoppable and stop.is_set():
                    return                                # nobody reads any more
                continue

    def target() -> None:
        try:
            put(("done", work(lambda stage, done, expected: put(("progress", stage, done, expected), True))), False)
        except BaseException as err:                      # re-raised where the stream is read
            put(("error", err), False)

    thread = threading.Thread(target=target, daemon=True, name="lganim-background")
    thread.start()
    shown = 0.0
    try:
        while True:
            kind, *rest = events.get()
            if kind == "done":
                return rest[0]
            if kind == "error":
                raise rest[0]
            stage, done, expected = rest
            line = f"{stage}… {done}/{expected}" if expected else f"{stage}…"
            progress(done / expected if expected else 0, line)
            if time.monotonic() - shown >= STATUS_EVERY or not done:   # a few lines a second, not one per frame
                shown = time.monotonic()
                yield line
    finally:
        stop.set()
        while thread.is_alive():                          # let a blocked report see the stop
            try:
                events.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def in_background(work: Callable, progress: StatusProgress, budget: Budget) -> Generator[Update, None, object]:
    """`background(work)` as status updates (the slow stages of a door: a photo's refinement, a new prompt's fit,
    tracking), within the request's time budget; returns the work's result (`result = yield from ...`)."""
    lines = background(work, progress)
    while True:
        try:
            line = next(lines)
        except StopIteration as end:
            return end.value
        budget.check(0, 0)
        yield Update(line)


def drive(animators: Animators, domain: str, request: DriveRequest, files_root: str | Path,
          progress: StatusProgress | None, settings: Settings) -> Iterator[Update]:
    """A face driven by a video, a track, speech or text (lganim.driving): track → control directions → frames,
    then the MP4 with the sound, the track files and its curves, and for a driving video, both side by side."""
    progress = progress or quiet
    budget = Budget(settings)
    yield Update("Reading what drives the face…")
    anim = animators.get(domain)
    result: AnimationResult = yield from in_background(lambda report: anim.drive(request, progress=report), progress,
                                                       budget)
    plan = result.plan
    beside = request.driving.source if request.driving.kind == "video" else None
    if beside is not None and Path(beside).suffix.lower() in (".json", ".csv"):
        beside = None                                         # a track file: nothing to show beside the face
    yield from stream_clip(result.chunks(STREAM_STEPS), plan, anim, files_root, progress, budget, beside=beside)


def edit_video(animators: Animators, domain: str, request: VideoEditRequest, files_root: str | Path,
               progress: StatusProgress | None, settings: Settings) -> Iterator[Update]:
    """An existing video's face edited (lganim.video_edit): tracking and fitting as status lines, then the one-frame
    preview (original | edited), then every frame beside its original while the MP4 (with the video's own sound) is
    written, then the original and the edited video side by side. The status says when the frames were scaled down
    and in how many the face was lost (those pass through unedited)."""
    progress = progress or quiet
    budget = Budget(settings)
    yield Update("Reading the video…")
    anim = animators.get(domain)
    result: AnimationResult = yield from in_background(lambda report: anim.edit_video(request, progress=report),
                                                       progress, budget)
    info = result.info
    (w, h), (sw, sh) = info["size"], info["source_size"]
    notes = (f" · scaled from {sw}×{sh} to {w}×{h}" if (w, h) != (sw, sh) else "") + (
        f" · face lost in {info['lost']} of {info['frames']} frames (left as they are)" if info["lost"] else "")
    yield Update(f"Preview: frame {info['preview_index']} ({info['preview_time']:.2f} s){notes}. Editing every "
                 f"frame…", live=tile(np.stack(info["preview"])), total=info["frames"])
    for update in stream_clip(result.chunks(STREAM_STEPS), result.plan, anim, files_root, progress, budget,
                              beside=request.video):
        yield dataclasses.replace(update, status=update.status + notes) if update.videos else update


def predict(animators: Animators, domain: str, request: PredictRequest, files_root: str | Path,
            progress: StatusProgress | None, settings: Settings) -> Iterator[Update]:
    """K plausible futures of one face (`anim.predict`) as K videos captioned with the prompt each animates."""
    progress = progress or quiet
    budget = Budget(settings)
    yield Update("Drawing the futures…")
    anim = animators.get(domain)
    results = anim.predict(request, progress=stages(progress))
    t, k = request.num_frames, len(results)
    folder = request_dir(files_root, max_age=settings.files_seconds, total=settings.disk_bytes,
                         needed=estimate(results[0].plan.request, anim) * k)
    finished = False
    try:
        videos, strips, offsets = [], [], []
        for i, result in enumerate(results):
            room = settings.request_bytes - size_of(folder)                  # all the futures count together
            with OutputWriter(Outputs(videos=[folder / f"future{i}.mp4"], max_bytes=room), result.plan) as writer:
                for chunk in result.chunks():
                    writer.add(chunk)
                    budget.check(writer.done, t)
                written = writer.finish()
            videos.append(written.videos[0])
            strips.append(written.strip)
            offsets.append(result.plan.motion.offsets[0].float().cpu().numpy())
            line = f"Future {i + 1}/{k}: {result.info['prompt']}"
            progress((i + 1) / k, line)
            yield Update(line, live=written.last[0], done=(i + 1) * t, total=k * t)
        captions = [r.info["prompt"] for r in results]
        h, w = written.last.shape[1:3]
        warnings = tuple(dict.fromkeys(line for r in results for line in r.plan.warnings))
        update = Update(done_line(anim, k, t, h, w, request.fps, budget, warnings), live=written.last[0],
                        videos=videos, captions=captions, strip=np.concatenate(strips, axis=0),
                        plot=motion_curves(np.stack(offsets), [f"{i}: {c[:40]}" for i, c in enumerate(captions)]),
                        done=k * t, total=k * t)
        finished = True
        yield update
    finally:
        if not finished:                                     # failed or cancelled
            shutil.rmtree(folder, ignore_errors=True)
        release(folder)


def estimate(request: Request, anim: Animator) -> int:
    """A generous bound of the bytes a request's videos take (to make room for them before writing)."""
    side = min(1024, anim.stylegan.size)
    return int(request.batch * request.num_frames * side * side * BYTES_PER_PIXEL)


def done_line(anim: Animator, clips: int, frames: int, height: int, width: int, fps: float, budget: Budget,
              warnings: tuple[str, ...] = ()) -> str:
    """The status of a finished request, with its warnings (a fit its time budget stopped)."""
    return (f"Done: {clips} clip{'s' * (clips > 1)} × {frames} frames · {width}×{height} px · {fps:g} fps · "
            f"{clock() - budget.started:.1f} s · domain {anim.domain.name}"
            + (" (untrained: a check of the plumbing, not a result)" if anim.domain.untrained else "")
            + "".join(f" · ⚠️ {line}" for line in warnings))


def stream_clip(frame_chunks: Iterator[FrameChunk], plan: Plan, anim: Animator, files_root: str | Path,
                progress: StatusProgress, budget: Budget, *, beside: Path | None = None,
                write_gif: bool = False) -> Iterator[Update]:
    """Stream a plan's frames as updates while the output stage encodes them, one MP4 per clip (with the motion's
    sound); then the results (MP4s, strip, motion, track files); then the GIF or the side-by-side video. Nothing is
    left if it stops before the MP4s are written."""
    request = plan.request
    b, t = request.batch, request.num_frames
    settings = budget.settings
    folder = request_dir(files_root, max_age=settings.files_seconds, total=settings.disk_bytes,
                         needed=estimate(request, anim))
    outputs = Outputs(videos=[folder / f"clip{i}.mp4" for i in range(b)],
                      gifs=[folder / "clip0.gif"] if write_gif else [],
                      tracks=[folder / "track.json", folder / "track.csv"] if plan.motion.track is not None else [],
                      beside=None if beside is None else folder / "side_by_side.mp4", driving=beside,
                      max_bytes=settings.request_bytes)
    done = 0
    try:
        with OutputWriter(outputs, plan) as writer:
            for chunk in frame_chunks:                                      # chunk.frames [B, n, H, W, 3]
                writer.add(chunk)
                done = writer.done
                progress(done / t, f"Rendered {done}/{t} frames")
                newest = chunk.frames[:, -1] if chunk.source is None else np.stack([chunk.source[-1],
                                                                                    chunk.frames[0, -1]])
                yield Update(f"Rendering… {done}/{t} frames", live=tile(newest), done=done, total=t)
                budget.check(done, t)
            progress(1.0, "Writing the video…")
            written = writer.finish()
    except BaseException:                                                   # failed or cancelled: nothing is left
        log.info("%s: stopped after %d/%d frames", anim.domain.name, done, t)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        release(folder)                       # its files are whole (or gone): they may go for room from now on
    log.info("%s: %d clip(s) × %d frames in %.2f s", anim.domain.name, b, t, clock() - budget.started)
    motion, curves = plan.motion, None
    if motion.track is not None:
        curves = (track_curves(motion.track) if plan.envelope is None else
                  track_curves(motion.track, ["mouth_open"], {"speech envelope": plan.envelope}))
    h, w = written.last.shape[1:3]
    status = done_line(anim, b, t, h, w, written.fps, budget, plan.warnings)
    result = Update(status, live=tile(written.last), videos=written.videos, captions=labels_of(request),
                    strip=written.strip,
                    plot=motion_curves(motion.offsets.float().cpu().numpy(), labels_of(request),
                                       layer_groups(anim.stylegan.num_ws)),
                    clip=Clip(anim.domain.name, plan.to("cpu"), written.first), tracks=written.tracks or None,
                    curves=curves, done=t, total=t)
    if not (write_gif or beside):
        yield result
        return
    yield dataclasses.replace(result, status=status + " · making the " + ("GIF…" if write_gif else
                                                                           "side-by-side video…"))
    writer.finish_derived()
    result.gif = written.gifs[0] if written.gifs else None
    result.side_by_side = written.beside
    yield result


__all__ = ["Clip", "Update", "Budget", "quiet", "labels_of", "run", "stages", "rerender", "background", "in_background",
           "drive", "edit_video", "predict", "estimate", "stream_clip"]
