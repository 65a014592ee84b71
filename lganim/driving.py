"""What drives a face, for every door that drives one (`Animator.drive`): a `DriveRequest` → its motion track, frame
times and sound → the motion source the pipeline plans with.

- a driving video: its face tracked (or a track file read), its sound kept; with `fps` None, one output frame per
  driving frame at the driving video's own frame times (the video is written at their average rate), else the
  motion resampled by time at `fps`;
- a sound: the mouth follows the speech envelope, with blinks, nods and head sway (tracks.audio);
- text: said by espeak-ng, the mouth following its phonemes (tracks.speech).
A style video shapes the talking face; a prompt adds its language-guided motion on top.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_DRIVEN_FPS, MAX_FPS, StageProgress
from .errors import LganimError
from .media.audio import Audio
from .motion.directions import ControlDirections
from .motion.driven import TrackMotion
from .motion.source import LanguageMotion, MotionSource, MotionSum
from .request import DriveRequest
from .tracks.audio import audio_features, talking_track
from .tracks.speech import speaking_track
from .tracks.track import Track, output_frames
from .tracks.video import driving_track


@dataclass
class DrivenMotion:
    """A driven face's motion, ready to plan: its source, frames and rates, and for speech the envelope."""

    source: MotionSource
    num_frames: int
    fps: int                                # the request's whole fps (what the track is sampled at by default)
    video_fps: float                        # the rate its video is written at
    envelope: np.ndarray | None             # [T] speech envelope in [0, 1] (what the mouth follows), else None


def driving_track_of(request: DriveRequest, progress: StageProgress | None = None) -> tuple[Track, Audio | None]:
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


def driven_motion(request: DriveRequest, track: Track, sound: Audio | None, directions: ControlDirections,
                  language: MotionSource) -> DrivenMotion:
    """The motion source of a driven face: the track through the control directions at the output frames' times,
    plus the prompt's motion through `language` (the domain's language motion) on top."""
    if request.prompt is not None and not isinstance(language, LanguageMotion):
        raise LganimError("This domain's motion source cannot add a prompt's motion on top of a driving track.")
    d = request.driving
    if d.kind == "video" and request.fps is None:     # one frame per driving frame, at its times
        times, num_frames, video_fps = track.t - track.t[0], len(track), track.fps
    else:
        video_fps = request.fps or DEFAULT_DRIVEN_FPS
        times, num_frames = None, output_frames(track.duration, video_fps)
    scales = dict(pose_scale=d.pose_scale, expression_scale=d.expression_scale) if d.kind == "video" else {}
    source: MotionSource = TrackMotion(track, directions, times=times, region=d.region if d.kind == "video" else "all",
                                       audio=sound, **scales)
    if request.prompt is not None:
        source = MotionSum([source, language.with_prompt(request.prompt)])
    envelope = None
    if d.kind != "video":                              # the curve the mouth follows
        loudness = audio_features(sound, video_fps)["loudness"][:num_frames]
        envelope = np.clip((loudness - loudness.min()) / max(np.ptp(loudness), 1e-9), 0, 1)
    return DrivenMotion(source, num_frames, min(MAX_FPS, max(1, round(video_fps))), float(video_fps), envelope)


__all__ = ["DrivenMotion", "driving_track_of", "driven_motion"]
