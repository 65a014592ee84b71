"""Where the app runs: a Hugging Face Space, ZeroGPU (GPU work in a forked worker, behind `@spaces.GPU`), and the
GPU time a request is given there (`duration`, estimated from the request: loading, fitting, the photo, frames)."""
from __future__ import annotations

import math
import os
from pathlib import Path

from lganim.config import TRACK_SUFFIXES
from lganim.errors import LganimError
from lganim.media.audio import audio_duration
from lganim.media.video_reader import probe_video
from lganim.request import DriveRequest, Request, VideoEditRequest
from lganim.tracks.track import Track
from lganim.weights.registry import get_domain

from .models import Animators


# -- where the app runs ----------------------------------------------------------------------------------------
def on_space() -> bool:
    """Running as a Hugging Face Space (the Space runtime sets SPACE_ID)."""
    return bool(os.environ.get("SPACE_ID"))


def on_zero_gpu() -> bool:
    """Running on ZeroGPU, where GPU work runs in a forked worker (the rule of the `spaces` package)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def gpu_seconds(animators: Animators, domain: str, request: Request | None = None, frames: int | None = None,
                controls: bool = False) -> int:
    """A generous estimate of the GPU time one request needs (ZeroGPU's `duration`): loading on first use, the
    fits of prompts not fitted yet (the step time earlier fits measured on this device, `FittedMotion.fit_seconds`),
    the photo, the frames (`frames`, default the request's) and, for a request that needs the domain's control
    directions (`controls`: Drive, Talk, Edit), their calibration when it is not cached; 20 s to 300 s. Fits and
    calibration are counted once the domain is loaded (before that, the loading allowance)."""
    spec = get_domain(domain)
    per_frame = 0.05 if spec.stylegan.size >= 1024 else 0.02 if spec.stylegan.size >= 512 else 0.01
    seconds = 10.0
    anim = animators.loaded.get(spec.name)
    if request is not None:
        frames = request.batch * request.num_frames if frames is None else frames
        if anim is None:
            seconds += 60                                           # loading (the files are on disk on a Space)
        elif hasattr(anim.motion, "fit_seconds"):
            seconds += anim.motion.fit_seconds(request.prompts)
        if request.image is not None:
            seconds += 5 + request.refine_steps * 4 * per_frame
    if controls and anim is not None:
        seconds += anim.calibration_seconds()
    seconds += (frames or 0) * per_frame
    return int(min(max(seconds, 20), 300))


def drive_seconds(animators: Animators, domain: str, request: DriveRequest) -> int:
    """`gpu_seconds` of a driven face: its length read from the media's header (text: about 12 characters a
    second), plus tracking the driving or style video (dlib, about 0.1 s a frame)."""
    driving = request.driving
    fps = request.fps or 30
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
    face = request.as_request(1, fps)
    return int(min(gpu_seconds(animators, domain, face, frames=math.ceil(seconds * fps), controls=True) + tracking,
                   300))


def video_seconds(animators: Animators, domain: str, request: VideoEditRequest) -> int:
    """`gpu_seconds` of an edited video: its frames from the header, each inverted and rendered twice (the edited face
    and its reconstruction), plus tracking it (dlib, about 0.1 s a frame) and the prompt's fit if it is new."""
    try:
        info = probe_video(request.video)
    except LganimError:                                         # the request itself will say what is wrong
        return 60
    frames = math.ceil((info.duration or 60.0) * (info.fps or 30.0))
    face = Request(prompts=() if request.prompt is None else (request.prompt,))
    return int(min(gpu_seconds(animators, domain, face, frames=2 * frames) + 0.1 * frames, 300))


__all__ = ["on_space", "on_zero_gpu", "gpu_seconds", "drive_seconds", "video_seconds"]
