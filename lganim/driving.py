"""The one driven-face path, for the CLI and the app alike: a `DriveRequest` (a face and what drives it) → its
motion track, frame times and sound → a `Plan` the pipeline renders.

- a driving video: its face tracked (or a track file read), its sound kept; with `fps` None, one output frame per
  driving frame at the driving video's own frame times (the video is written at their average rate), else the
  motion resampled by time at `fps`;
- a sound: the mouth follows the speech envelope, with blinks, nods and head sway (tracks.audio);
- text: said by espeak-ng, the mouth following its phonemes (tracks.speech).
A style video shapes the talking face; a prompt adds its language-guided motion on top.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import DEFAULT_DRIVEN_FPS, MAX_FPS, StageProgress
from .errors import LganimError
from .media.audio import Audio, write_wav
from .motion.calibration import load_controls
from .motion.driven import TrackMotion
from .motion.source import LanguageMotion, MotionSource, MotionSum
from .pipeline import Animator, Plan
from .request import DriveRequest
from .tracks.audio import audio_features, talking_track
from .tracks.speech import speaking_track
from .tracks.track import Track, output_frames
from .tracks.video import driving_track
from .weights.domain_files import domain_files


@dataclass
class DrivenPlan:
    """A driven face, ready to render: the plan, the rate its video is written at, and, for speech, the speech
    envelope per output frame in [0, 1] (what the mouth follows), else None."""

    plan: Plan
    video_fps: float
    envelope: np.ndarray | None = None


def driving_motion(request: DriveRequest, progress: StageProgress | None = None) -> tuple[Track, Audio | None]:
    """The motion track of what drives the face, and the sound for its video (None: a silent driving video)."""
    d = request.driving
    steps = None if progress is None else (lambda stage: lambda done, total: progress(stage, done, total))
    seed = request.seed or 0
    talking = dict(blink_rate=None if d.blinks_per_minute is None else d.blinks_per_minute / 60,
                   pose_scale=d.pose_scale, expression_scale=d.expression_scale, still=d.still, style=d.style,
                   style_mode=d.style_mode, progress=steps and steps("Tracking the style video"))
    fps = request.fps or DEFAULT_DRIVEN_FPS
    if d.kind == "video":
        return driving_track(d.source, d.smooth, steps and steps("Tracking the face"))
    if d.kind == "audio":
        return talking_track(d.source, fps, seed, **talking)
    return speaking_track(d.text, fps, seed, voice=d.voice, rate=d.rate, **talking)


def prepare_drive(anim: Animator, request: DriveRequest, scratch: Path, *,
                  progress: StageProgress | None = None) -> DrivenPlan:
    """Plan a driven face: the track of what drives it, the domain's control directions (calibrated on first use
    on a GPU only), the frame times, and the face (plus the prompt's motion on top). The sound goes into `scratch`
    (a folder that must outlive the rendering of the plan)."""
    if request.prompt is not None and not isinstance(anim.motion, LanguageMotion):
        raise LganimError("This domain's motion source cannot add a prompt's motion on top of a driving track.")
    track, sound = driving_motion(request, progress)
    if progress is not None:
        progress("Finding the control directions", 0, 0)
    calibrating = None if progress is None else (lambda done, total: progress("Calibrating the control directions",
                                                                              done, total))
    controls = load_controls(anim.domain, anim.files or domain_files(anim.domain), anim.stylegan,
                             calibrate_if_missing=anim.device.type == "cuda", progress=calibrating)
    own_times = request.driving.kind == "video" and request.fps is None
    if own_times:                               # one frame per driving frame, at its times
        times, num_frames, video_fps = track.t - track.t[0], len(track), track.fps
    else:
        video_fps = request.fps or DEFAULT_DRIVEN_FPS
        times, num_frames = None, output_frames(track.duration, video_fps)
    fps = min(MAX_FPS, max(1, round(video_fps)))
    sound_file = None if sound is None else write_wav(sound, Path(scratch) / "sound.wav")
    d = request.driving
    scales = dict(pose_scale=d.pose_scale, expression_scale=d.expression_scale) if d.kind == "video" else {}
    source: MotionSource = TrackMotion(track, controls, times=times, region=d.region if d.kind == "video" else "all",
                                       audio=sound_file, **scales)
    if request.prompt is not None:
        source = MotionSum([source, anim.motion.with_prompt(request.prompt)])
    plan = anim.prepare(request.face(num_frames, fps), source=source)
    envelope = None
    if d.kind != "video":                        # the curve the mouth follows
        loudness = audio_features(sound, video_fps)["loudness"][:num_frames]
        envelope = np.clip((loudness - loudness.min()) / max(np.ptp(loudness), 1e-9), 0, 1)
    return DrivenPlan(plan, float(video_fps), envelope)


__all__ = ["DrivenPlan", "driving_motion", "prepare_drive"]
