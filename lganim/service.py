"""What a web UI needs from the library, without any UI toolkit: models loaded once per domain, a request run as a
stream of updates (frames while they render, then the files), re-rendering a finished clip, and the per-request
folders its files live in.

app.py turns these updates into widgets; everything it shows is decided here. Environment:

    LGANIM_DOMAIN       preferred start domain (default human; the demo domain if its weights are not on disk)
    LGANIM_DEVICE       auto (default), cpu, cuda, cuda:1 ...     LGANIM_DTYPE   fp32 (default), bf16, fp16
    LGANIM_MOTION_<DOMAIN>  a motion checkpoint folder for that domain (e.g. LGANIM_MOTION_HUMAN=runs/ffhq)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checks
from .audio import audio_duration, audio_features, write_wav
from .config import MAX_PROMPT_CHARS, paper_prompts
from .controls import REGIONS, load_controls
from .domains import DOMAINS, Domain, get_domain
from .drive import (STYLE_MODES, TRACK_SUFFIXES, TrackMotion, driving_track, futures, output_frames, speaking_track,
                    talking_track)
from .errors import LganimError
from .media import probe_video
from .pipeline import Animator, FrameChunk, Plan
from .preview import frame_strip, motion_pca, tile, track_curves
from .request import Request
from .sources import Motion, MotionSum
from .tracks import Track
from .video import write_video
from .weights import domain_files, generator_on_disk

REQUEST_DIR_PREFIX = "lganim-"
FILES_MAX_AGE = 3600            # seconds a request's folder is kept
FRAMES_FILE = "frames.npy"      # a finished clip's frames, kept for re-encoding at another fps
CITATION = ("Hang, Yang, Liu, Fu, Geng and Guo, *Language-Guided Face Animation by Recurrent StyleGAN-based "
            "Generator*, IEEE Transactions on Multimedia 2023 ([arXiv 2208.05617](https://arxiv.org/abs/2208.05617)).")
PAPER_PROMPTS = tuple(paper_prompts("person"))

log = logging.getLogger("lganim.app")
Progress = Callable[[float, str], None]        # (fraction done, what is happening)


# -- what the page says about domains ----------------------------------------------------------------------
def domain_label(name: str) -> str:
    d = DOMAINS[name]
    if d.untrained:
        return "demo · untrained random weights, for trying the app offline"
    return f"{d.title} · {d.licence}"


def start_domain() -> tuple[str, str]:
    """The domain the page opens with and a one-line notice when it had to fall back to demo.

    Decided from the disk only (local weights folder or the Hub cache): startup never waits on a download.
    """
    wanted = os.environ.get("LGANIM_DOMAIN", "human")
    spec = DOMAINS.get(wanted)
    if spec is None:
        return "demo", f"LGANIM_DOMAIN={wanted!r} is not a domain ({', '.join(DOMAINS)}): showing the demo domain."
    if generator_on_disk(spec):
        return wanted, ""
    why = "offline (HF_HUB_OFFLINE) and not downloaded" if os.environ.get("HF_HUB_OFFLINE", "").strip() not in (
        "", "0", "false", "False") else "not downloaded yet"
    return "demo", (f"⚠️ The {wanted} weights are {why}: showing the untrained demo domain. Pick {wanted} to "
                    f"download them, or run `python -m lganim download {wanted}`.")


def domain_info(domain: str) -> tuple[str, float]:
    """A line about the chosen domain, and its default truncation ψ for the slider."""
    spec = DOMAINS.get(domain) or DOMAINS["demo"]
    if spec.untrained:
        where = "built locally on first use, no download"
    elif generator_on_disk(spec):
        where = "weights on disk"
    else:
        where = f"weights download on first use ({spec.weights.repo_id})"
    photos = "photos supported" if spec.supports_photos else "sampled faces only (no photo encoder)"
    note = " — **untrained random weights: a check of the plumbing, never a result**" if spec.untrained else ""
    return f"Licence: {spec.licence} · {where} · {photos}{note}", spec.truncation


def footer() -> str:
    licences = "; ".join(f"{d.name}: {d.licence}" for d in DOMAINS.values() if not d.untrained)
    return (f"**Weights and licences** — {licences}. The FFHQ, MetFaces and AFHQ StyleGAN2 weights are NVIDIA's, "
            f"for non-commercial use only. The `demo` domain is untrained random weights built locally: it shows the "
            f"app working offline, never a result. No trained motion model has been published by the authors.\n\n"
            f"**Method** — {CITATION}")


def env_int(name: str, default: int, minimum: int) -> int:
    """A whole-number setting from the environment (a bad one stops the server with one line)."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {value}.")
    return value


def checked_domain(name, request: Request) -> Domain:
    """The domain a request names, refused before anything loads when it cannot serve the request."""
    spec = get_domain(name)
    if request.image is not None and not spec.supports_photos:
        raise LganimError(f"The {spec.name} domain cannot animate photos (no face encoder for it): clear the photo "
                          f"or pick {', '.join(n for n, d in DOMAINS.items() if d.supports_photos)}.")
    return spec


# -- models, loaded once per domain --------------------------------------------------------------------------
class Animators:
    """Each domain's `Animator`, loaded on first use and kept; concurrent first requests load it once."""

    def __init__(self):
        self.loaded: dict[str, Animator] = {}
        self.locks = {name: threading.Lock() for name in DOMAINS}   # one per domain: a slow download blocks no other

    def preload(self, domain: str) -> Animator:
        """Load a domain completely now (a Space does it for its start domain at startup)."""
        anim = self.get(domain)
        anim.load()
        return anim

    def get(self, domain: str) -> Animator:
        with self.locks[get_domain(domain).name]:
            if domain not in self.loaded:
                self.loaded[domain] = Animator.from_pretrained(
                    domain, motion=os.environ.get(f"LGANIM_MOTION_{domain.upper()}") or None,
                    device=os.environ.get("LGANIM_DEVICE", "auto"), dtype=os.environ.get("LGANIM_DTYPE") or None)
            return self.loaded[domain]


# -- where the app runs ----------------------------------------------------------------------------------------
def on_space() -> bool:
    """Running as a Hugging Face Space (the Space runtime sets SPACE_ID)."""
    return bool(os.environ.get("SPACE_ID"))


def on_zero_gpu() -> bool:
    """Running on ZeroGPU, where GPU work runs in a forked worker (the rule of the `spaces` package)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def gpu_seconds(animators: Animators, domain: str, request: Request | None = None, frames: int | None = None) -> int:
    """A generous estimate of the GPU time one request needs (ZeroGPU's `duration`): loading on first use, the
    fits of prompts not fitted yet, the photo, and the frames (`frames`, default the request's); 20 s to 300 s."""
    spec = get_domain(domain)
    per_frame = 0.05 if spec.generator.size >= 1024 else 0.02 if spec.generator.size >= 512 else 0.01
    seconds = 10.0
    anim = animators.loaded.get(spec.name)
    if request is not None:
        frames = request.batch * request.num_frames if frames is None else frames
        if anim is None:
            seconds += 60                                           # loading (the files are on disk on a Space)
        elif hasattr(anim.motion, "unfitted"):
            steps = anim.motion.fitter.settings.steps
            seconds += len(anim.motion.unfitted(request.prompts)) * steps * 10 * per_frame
        if request.image is not None:
            seconds += 5 + request.refine_steps * 4 * per_frame
    seconds += (frames or 0) * per_frame
    return int(min(max(seconds, 20), 300))


def drive_seconds(animators: Animators, domain: str, face: Request, driving: "Driving") -> int:
    """`gpu_seconds` of a driven face: its length read from the media's header (text: about 12 characters a
    second), plus tracking the driving or style video (dlib, about 0.1 s a frame)."""
    try:
        if driving.kind == "text":
            seconds = len(driving.text) / 12
        elif driving.kind == "audio":
            seconds = audio_duration(driving.source)
        elif Path(driving.source).suffix.lower() in TRACK_SUFFIXES:
            seconds = Track.load(driving.source).duration
        else:
            seconds = probe_video(driving.source).duration or 60.0
        style = probe_video(driving.style).duration or 60.0 if driving.style is not None else 0.0
    except LganimError:                                         # the request itself will say what is wrong
        return 60
    tracking = 0.1 * 30 * (seconds * (driving.kind == "video") + style)
    return int(min(gpu_seconds(animators, domain, face, frames=math.ceil(seconds * face.fps)) + tracking, 300))


# -- files of a request ------------------------------------------------------------------------------------------
def request_dir(root: str | Path) -> Path:
    """A fresh folder under `root` for one request's files; folders of requests older than FILES_MAX_AGE go."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - FILES_MAX_AGE
    for old in root.glob(REQUEST_DIR_PREFIX + "*"):
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=REQUEST_DIR_PREFIX, dir=root))


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


def run(animators: Animators, domain: str, request: Request, files_root: str | Path, progress: Progress | None,
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


def rerender(animators: Animators, clip: Clip, files_root: str | Path, progress: Progress | None, *,
             strength: float, truncation: float, fps: int) -> Iterator[Update]:
    """A finished clip with another strength, truncation ψ or fps, from its cached motion (no CLIP, fitting or
    motion model); only fps changed: the same frames, encoded again."""
    progress = progress or quiet
    t0 = time.perf_counter()
    anim = animators.get(clip.domain)
    frames = np.load(clip.frames, mmap_mode="r")
    plan, chunks = anim.rerender(clip.plan.to(anim.generator.input.input.device), frames, strength=strength,
                                 truncation=truncation, fps=fps)
    if chunks is None:
        yield from encode(np.asarray(frames), plan, anim, files_root, progress, True, t0)
    else:
        yield from render(chunks, plan, anim, files_root, progress, True, t0)


@dataclass(frozen=True)
class Driving:
    """What drives a face in the app (every field pickles: on ZeroGPU it crosses to the GPU worker).

    kind "video": `source` is a driving video or a motion track file (region, scales, smoothing apply);
    "audio": `source` is speech (a sound file, or a video's sound); "text": `text` is said by espeak-ng in `voice`.
    For audio and text, `style` is a video of someone talking whose style (`style_mode` stats or copy) the face
    takes, `still` keeps the head still. `prompt`, if any, adds its language-guided motion on top.
    """

    kind: str
    source: Path | None = None
    text: str = ""
    voice: str = "en"
    region: str = "all"
    pose_scale: float = 1.0
    expression_scale: float = 1.0
    smooth: float = 0.0
    style: Path | None = None
    style_mode: str = "stats"
    still: bool = False
    prompt: str = ""

    def __post_init__(self):
        checks.choice("kind", self.kind, ("video", "audio", "text"))
        checks.choice("region", self.region, tuple(REGIONS))
        checks.choice("style mode", self.style_mode, STYLE_MODES)
        checks.number("pose_scale", self.pose_scale, -10, 10)
        checks.number("expression_scale", self.expression_scale, -10, 10)
        if self.kind in ("video", "audio") and self.source is None:
            raise LganimError(f"Give the {'driving video' if self.kind == 'video' else 'audio'} to drive the face.")
        if self.kind == "text":
            checks.text("text", self.text, "type what the face should say.", MAX_PROMPT_CHARS)
        checks.number("smoothing", self.smooth, 0.0, 1.0)


def drive(animators: Animators, domain: str, face: Request, driving: Driving, files_root: str | Path,
          progress: Progress | None) -> Iterator[Update]:
    """A face (the request's seed or photo) driven by a video, a track, speech or text: track → control
    directions → frames, then the MP4 with the sound, the track files and its curves. `face.fps` is the output
    rate; the length follows what drives it."""
    progress = progress or quiet
    t0 = time.perf_counter()
    yield Update("Reading what drives the face…")
    anim = animators.get(domain)
    seed = face.seeds[0] or 0
    talking = {"pose_scale": driving.pose_scale, "expression_scale": driving.expression_scale,
              "still": driving.still, "style": driving.style, "style_mode": driving.style_mode}
    envelope = None
    if driving.kind == "video":
        track, sound = driving_track(driving.source, driving.smooth)
        scales = {"pose_scale": driving.pose_scale, "expression_scale": driving.expression_scale}
    elif driving.kind == "audio":
        track, sound = talking_track(driving.source, face.fps, seed, **talking)
        scales = {}
    else:
        track, sound = speaking_track(driving.text, face.fps, seed, voice=driving.voice, **talking)
        scales = {}
    if driving.kind != "video":                             # the curve the mouth follows
        loudness = audio_features(sound, face.fps)["loudness"]
        envelope = np.clip((loudness - loudness.min()) / max(np.ptp(loudness), 1e-9), 0, 1)
    progress(0, "Finding the control directions…")
    controls = load_controls(anim.domain, domain_files(anim.domain), anim.generator,
                             calibrate_if_missing=anim.device.type == "cuda")
    with tempfile.TemporaryDirectory(prefix="lganim-sound-") as scratch:
        sound_path = None if sound is None else write_wav(sound, Path(scratch) / "sound.wav")
        source = TrackMotion(track, controls, region=driving.region if driving.kind == "video" else "all",
                             audio=sound_path, **scales)
        if driving.prompt.strip():
            source = MotionSum([source, anim.motion])
        num_frames = output_frames(track.duration, face.fps)
        request = face.with_changes(prompts=[driving.prompt.strip() or "the driving motion"], num_frames=num_frames,
                                    driven=True)
        plan = anim.prepare(request, source=source)
        yield from render(anim.render(plan), plan, anim, files_root, progress, False, t0, envelope)


def predict(animators: Animators, domain: str, face: Request, samples: int, files_root: str | Path,
            progress: Progress | None, diversity: float = 4.0) -> Iterator[Update]:
    """K plausible futures of one face (the request's first seed, or its photo) as K videos (drive.futures); the
    request's prompt, if it is not the default, drives every future."""
    progress = progress or quiet
    t0 = time.perf_counter()
    yield Update("Drawing the futures…")
    anim = animators.get(domain)
    controls = load_controls(anim.domain, domain_files(anim.domain), anim.generator,
                             calibrate_if_missing=anim.device.type == "cuda")
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
           progress: Progress, write_gif: bool, t0: float, envelope: np.ndarray | None = None) -> Iterator[Update]:
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
    yield from encode(np.concatenate(chunks, axis=1), plan, anim, files_root, progress, write_gif, t0, envelope)


def encode(frames: np.ndarray, plan: Plan, anim: Animator, files_root: str | Path, progress: Progress,
           write_gif: bool, t0: float, envelope: np.ndarray | None = None) -> Iterator[Update]:
    """Write the videos, the GIF and the frames of a finished plan into a new request folder, with the motion's
    sound and its track (JSON and CSV); one last Update. envelope: the speech envelope, a curve beside the track's."""
    workdir = request_dir(files_root)
    finished = False
    try:
        progress(1.0, "Writing the video…")
        request = plan.request
        videos = [write_video(clip, workdir / f"clip{i}.mp4", request.fps, audio=plan.motion.audio)
                  for i, clip in enumerate(frames)]
        gif = write_video(frames[0], workdir / "clip0.gif", request.fps) if write_gif else None
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
                  for i, (s, p) in enumerate(zip(request.seeds, request.prompts))]
        b, t, h, w = frames.shape[:4]
        status = (f"Done: {b} clip{'s' * (b > 1)} × {t} frames · {w}×{h} px · {request.fps} fps · "
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


__all__ = ["PAPER_PROMPTS", "env_int", "checked_domain", "on_space", "on_zero_gpu", "gpu_seconds", "drive_seconds",
           "quiet",
           "domain_label", "start_domain", "domain_info", "footer", "Animators", "request_dir", "Clip", "Update", "run",
           "rerender", "Driving", "drive", "predict", "render", "encode"]
