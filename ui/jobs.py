"""A web request as a stream of updates, without any UI toolkit: a clip (frames while they render, then the files),
a re-render of a finished clip, a driven face, predicted futures. The page turns these updates into widgets; what it
shows is decided here. Every update pickles (on ZeroGPU they come from the GPU worker).
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lganim.driving import prepare_drive
from lganim.media.preview import frame_strip, motion_pca, tile, track_curves
from lganim.media.writers import write_video
from lganim.motion.calibration import load_controls
from lganim.motion.futures import futures
from lganim.motion.source import Motion
from lganim.pipeline import Animator, FrameChunk, Plan
from lganim.request import DriveRequest, Request

from .files import FRAMES_FILE, request_dir
from .models import Animators
from .text import PAPER_PROMPTS

log = logging.getLogger("lganim.app")
StatusProgress = Callable[[float, str], None]        # (fraction done, what is happening)


@dataclass
class Clip:
    """What is kept of a finished request to re-render it: its plan (tensors on the CPU) and its frames' file."""

    domain: str
    plan: Plan
    frames: Path                            # FRAMES_FILE: uint8 [B, T, H, W, 3]


@dataclass
class Update:
    """What one step of a request shows: streamed frames while rendering, then the results."""

    status: str
    live: np.ndarray | None = None          # uint8 [H, W, 3]: the newest frame (a grid for batches)
    videos: list[Path] | None = None        # one MP4 per clip
    gif: Path | None = None                 # clip 0 as a GIF
    strip: np.ndarray | None = None
    plot: dict | None = None                # columns of the motion plot (preview.motion_pca)
    aligned: np.ndarray | None = None       # uint8 [S, S, 3]: the aligned face crop of a photo (what is animated)
    clip: Clip | None = None                # set with the results: what a re-render starts from
    tracks: list[Path] | None = None        # the motion track that drove the face, as JSON and CSV
    curves: dict | None = None              # columns t, value, channel: the track's channels over time


def quiet(fraction: float, text: str) -> None:
    """No progress bar (on ZeroGPU the callback could not cross to the GPU worker)."""


def run(animators: Animators, domain: str, request: Request, files_root: str | Path, progress: StatusProgress | None,
        write_gif: bool) -> Iterator[Update]:
    """Load (once), plan, render chunk by chunk, then write the files. Closing the iterator stops the work and
    removes the request's folder. Every update pickles (ZeroGPU sends them from its GPU worker)."""
    progress = progress or quiet
    t0 = time.perf_counter()
    first_load = domain not in animators.loaded
    if first_load:
        progress(0, f"Loading the {domain} models (first request only)…")
    yield Update(f"Loading the {domain} models…" if first_load else "Planning the motion…")
    anim = animators.get(domain)
    progress(0, "Planning the motion…")

    def optimising(step: int, total: int, loss: float) -> None:  # photo refinement / fitting a new prompt
        progress(step / total, f"Fitting the motion to the prompt: step {step}/{total} (loss {loss:.3f})")

    plan = anim.prepare(request, progress=optimising)
    if plan.photo is not None:
        yield Update("Face found and aligned: animating this crop…", aligned=plan.photo.aligned.image)
    yield from render(anim.render(plan), plan, anim, files_root, progress, write_gif, t0)


def rerender(animators: Animators, clip: Clip, files_root: str | Path, progress: StatusProgress | None, *,
             strength: float, truncation: float, fps: int) -> Iterator[Update]:
    """A finished clip with another strength, truncation ψ or fps, from its cached motion (no CLIP, fitting or
    motion model); only fps changed: the same frames, encoded again."""
    progress = progress or quiet
    t0 = time.perf_counter()
    anim = animators.get(clip.domain)
    frames = np.load(clip.frames, mmap_mode="r")
    plan, chunks = anim.rerender(clip.plan.to(anim.device), frames, strength=strength,
                                 truncation=truncation, fps=fps)
    if chunks is None:
        yield from encode(np.asarray(frames), plan, anim, files_root, progress, True, t0)
    else:
        yield from render(chunks, plan, anim, files_root, progress, True, t0)


def drive(animators: Animators, domain: str, request: DriveRequest, files_root: str | Path,
          progress: StatusProgress | None) -> Iterator[Update]:
    """A face driven by a video, a track, speech or text (lganim.driving): track → control directions → frames,
    then the MP4 with the sound, the track files and its curves."""
    progress = progress or quiet
    t0 = time.perf_counter()
    yield Update("Reading what drives the face…")
    anim = animators.get(domain)

    def stage(what: str, done: int, total: int) -> None:
        progress(done / total if total else 0, f"{what}… {done}/{total}" if total else f"{what}…")

    with tempfile.TemporaryDirectory(prefix="lganim-sound-") as scratch:
        driven = prepare_drive(anim, request, Path(scratch), progress=stage)
        plan = driven.plan
        yield from render(anim.render(plan), plan, anim, files_root, progress, False, t0, driven.envelope,
                          driven.video_fps)


def predict(animators: Animators, domain: str, face: Request, samples: int, files_root: str | Path,
            progress: StatusProgress | None, diversity: float = 4.0) -> Iterator[Update]:
    """K plausible futures of one face (the request's first seed, or its photo) as K videos (drive.futures); the
    request's prompt, if it is not the default, drives every future."""
    progress = progress or quiet
    t0 = time.perf_counter()
    yield Update("Drawing the futures…")
    anim = animators.get(domain)
    controls = load_controls(anim.domain, anim.files, anim.stylegan, calibrate_if_missing=anim.device.type == "cuda")
    face = face.with_changes(prompts=face.prompts[:1], seeds=face.seeds[:1])
    prompt = None if face.prompts[0] == PAPER_PROMPTS[0] else face.prompts[0]
    drawn = futures(anim.motion, controls, anim.domain.subject, samples, face.seeds[0] or 0, face.num_frames,
                    face.fps, prompt, diversity)
    frames, plans = [], []
    for k, future in enumerate(drawn):
        plans.append(anim.prepare(face.with_changes(prompts=[future.prompt]), source=future.source,
                                  generator=future.generator))
        frames.append(np.concatenate([c.frames for c in anim.render(plans[-1])], axis=1)[0])   # [T, H, W, 3]
        progress((k + 1) / samples, f"Future {k + 1}/{samples}: {future.prompt}")
        yield Update(f"Future {k + 1}/{samples}: {future.prompt}", live=frames[-1][-1])
    request = face.with_changes(prompts=[f.prompt for f in drawn], seeds=face.seeds * samples)
    motion = Motion(torch.cat([p.motion.offsets for p in plans]))                           # [K, T, L, D]
    plan = Plan(request, plans[0].w0.expand(samples, -1, -1), motion, plans[0].truncation, plans[0].photo)
    yield from encode(np.stack(frames), plan, anim, files_root, progress, False, t0)


def render(frame_chunks: Iterator[FrameChunk], plan: Plan, anim: Animator, files_root: str | Path,
           progress: StatusProgress, write_gif: bool, t0: float, envelope: np.ndarray | None = None,
           video_fps: float | None = None) -> Iterator[Update]:
    """Stream a plan's frames as updates, then write its files (nothing is written if stopped before)."""
    b, t = plan.request.batch, plan.request.num_frames
    chunks: list[np.ndarray] = []
    rendered = False
    try:
        for chunk in frame_chunks:                                          # chunk.frames [B, n, H, W, 3]
            chunks.append(chunk.frames)
            done = chunk.start + chunk.frames.shape[1]
            progress(done / t, f"Rendered {done}/{t} frames")
            yield Update(f"Rendering… {done}/{t} frames", live=tile(chunk.frames[:, -1]))
        rendered = True
    finally:
        if not rendered:                                                    # failed or cancelled
            log.info("%s: stopped after %d/%d frames", anim.domain.name, sum(c.shape[1] for c in chunks), t)
    log.info("%s: %d clip(s) × %d frames rendered in %.2f s", anim.domain.name, b, t, time.perf_counter() - t0)
    yield from encode(np.concatenate(chunks, axis=1), plan, anim, files_root, progress, write_gif, t0, envelope,
                      video_fps)


def encode(frames: np.ndarray, plan: Plan, anim: Animator, files_root: str | Path, progress: StatusProgress,
           write_gif: bool, t0: float, envelope: np.ndarray | None = None,
           video_fps: float | None = None) -> Iterator[Update]:
    """Write the videos, the GIF and the frames of a finished plan into a new request folder, with the motion's
    sound and its track (JSON and CSV); one last Update. envelope: the speech envelope, a curve beside the track's;
    video_fps: the rate the videos are written at (default: the request's)."""
    workdir = request_dir(files_root)
    finished = False
    try:
        progress(1.0, "Writing the video…")
        request = plan.request
        rate = video_fps or request.fps
        videos = [write_video(clip, workdir / f"clip{i}.mp4", rate, audio=plan.motion.audio)
                  for i, clip in enumerate(frames)]
        gif = write_video(frames[0], workdir / "clip0.gif", rate) if write_gif else None
        np.save(workdir / FRAMES_FILE, np.ascontiguousarray(frames))
        motion, tracks, curves = plan.motion, None, None
        if motion.audio is not None:                        # kept with the clip: a re-render muxes it again
            motion = dataclasses.replace(motion, audio=Path(shutil.copy2(motion.audio, workdir / "sound.wav")))
        if motion.track is not None:
            tracks = [motion.track.save(workdir / "track.json"), motion.track.save(workdir / "track.csv")]
            curves = (track_curves(motion.track) if envelope is None else
                      track_curves(motion.track, ["mouth_open"], {"speech envelope": envelope}))
        plan = dataclasses.replace(plan, motion=motion)
        labels = [f"{i}: {'photo' if s is None else f'seed {s}'} · {p[:40]}"
                  for i, (s, p) in enumerate(zip(request.seeds, request.prompts or ("driven",) * request.batch))]
        b, t, h, w = frames.shape[:4]
        status = (f"Done: {b} clip{'s' * (b > 1)} × {t} frames · {w}×{h} px · {rate:g} fps · "
                  f"{time.perf_counter() - t0:.1f} s · domain {anim.domain.name}"
                  + (" (untrained: a check of the plumbing, not a result)" if anim.domain.untrained else ""))
        update = Update(status, live=tile(frames[:, -1]), videos=videos, gif=gif, strip=frame_strip(frames),
                        plot=motion_pca(plan.ws.float().cpu().numpy(), labels),
                        clip=Clip(anim.domain.name, plan.to("cpu"), workdir / FRAMES_FILE), tracks=tracks,
                        curves=curves)
        finished = True
        yield update
    finally:
        if not finished:                                                    # failed or cancelled
            shutil.rmtree(workdir, ignore_errors=True)


__all__ = ["Clip", "Update", "quiet", "run", "rerender", "drive", "predict", "render", "encode"]
