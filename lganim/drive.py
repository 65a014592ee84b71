"""Motion tracks drive the face: a track's channels become W+ offsets through the domain's control directions, its
roll, shift and scale move the face in the frame. Driving videos (retargeting), audio and speech (talking faces)
and predicted futures all end here as a `TrackMotion`, one motion source among the others (sources.py).

Everything is relative to the track's first sample: the face starts as it is, and moves as the driving face moved
from its first frame.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checks
from .align import crop_transform
from .audio import Audio, audio_track, decode_audio, has_audio
from .config import MAX_STRENGTH, PAPER_EXPRESSIONS
from .controls import REGIONS, Controls
from .errors import LganimError
from .face_track import track_video
from .idle import RESTING_BLINK_RATE, idle_motion
from .media import probe_video
from .request import Request
from .sources import Motion, MotionSource, MotionSum, TrainedMotion
from .speech import say, speech_track
from .style import apply_style, copy_pose, style_stats
from .tracks import Track

POSE_CHANNELS = ("yaw", "pitch", "roll", "tx", "ty", "scale")   # head motion: scaled by the pose scale
CROP_CHANNELS = ("roll", "tx", "ty", "scale")                    # move the face in the frame, not W+
TRACK_SUFFIXES = (".json", ".csv")
SOUND_RATE = 48_000        # Hz a sound is decoded at for the output video
FEATURE_RATE = 16_000      # Hz speech is analysed at
STYLE_MODES = ("stats", "copy")
Progress = Callable[[int, int, float], None]
Steps = Callable[[int, int], None]            # (done, expected)


class TrackMotion:
    """Motion from a motion track (see the module docstring).

    times: the output frames' times in seconds from the track's start (default: k / the request's fps), e.g. the
    driving video's own frame times. region: which channels drive the face (controls.REGIONS: all, pose,
    expression, lips, eyes). pose_scale / expression_scale: multipliers of the head motion / of the face's
    expression channels. audio: a sound file to carry into the video.
    """

    needs_first_frames = False

    def __init__(self, track: Track, controls: Controls, *, times: np.ndarray | None = None, region: str = "all",
                 pose_scale: float = 1.0, expression_scale: float = 1.0, audio: Path | None = None):
        self.region = checks.choice("region", region, tuple(REGIONS))
        self.pose_scale = checks.number("pose scale", pose_scale, -MAX_STRENGTH, MAX_STRENGTH)
        self.expression_scale = checks.number("expression scale", expression_scale, -MAX_STRENGTH, MAX_STRENGTH)
        self.track = track.interpolate_invalid()
        self.controls, self.times, self.audio = controls, times, audio

    def values(self, num_frames: int, fps: float) -> Track:
        """The track at the output frames' times, relative to its first sample, scaled; channels outside the
        region are left out."""
        times = np.arange(num_frames) / fps if self.times is None else np.asarray(self.times, np.float64)
        if len(times) != num_frames:
            raise LganimError(f"The driving track gives {len(times)} frame times for {num_frames} frames.")
        t = self.track.t - self.track.t[0]
        used = set(REGIONS[self.region]) | (set(CROP_CHANNELS) if self.region in ("all", "pose") else set())
        channels = {}
        for name in used & set(self.track.channels):
            v = np.interp(times, t, self.track.channels[name])
            scale = self.pose_scale if name in POSE_CHANNELS else self.expression_scale
            channels[name] = scale * (v - v[0])
        meta = dict(self.track.meta, region=self.region, pose_scale=self.pose_scale,
                    expression_scale=self.expression_scale)
        return Track(fps=fps, t=times, channels=channels, valid=np.ones(num_frames, dtype=bool), meta=meta)

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: Progress | None = None) -> Motion:
        track = self.values(request.num_frames, request.fps)
        driven = {name: v for name, v in track.channels.items() if name in self.controls.directions}
        dw = self.controls.offsets(driven) if driven else torch.zeros(request.num_frames, *w0.shape[1:])  # [T, L, D]
        moves = None
        if any(name in track.channels for name in CROP_CHANNELS):
            moves = np.stack([crop_transform(*(float(track.channel(c)[k]) for c in CROP_CHANNELS))
                              for k in range(request.num_frames)])                                   # [T, 3, 3]
        offsets = dw.to(w0)[None].expand(request.batch, -1, -1, -1).contiguous()                    # [B, T, L, D]
        return Motion(offsets, moves, self.audio, track)


def driving_track(path: Path, smooth: float = 0.0, progress: Steps | None = None) -> tuple[Track, Audio | None]:
    """What drives a retargeted face: a track file (.json, .csv), or a video's tracked face and its sound (None
    when it has none). The video's limits are checked from its header before anything is decoded."""
    path = Path(path)
    if path.suffix.lower() in TRACK_SUFFIXES:
        track, sound = Track.load(path), None
    else:
        probe_video(path)
        track = track_video(path, progress=progress).track
        sound = decode_audio(path, SOUND_RATE) if has_audio(path) else None
    return (track.smooth(smooth) if smooth else track), sound


def styled(track: Track, style: Path | None, mode: str, seed: int, progress: Steps | None = None) -> Track:
    """An audio-driven track in the style of a reference video of someone talking: its statistics (per-channel
    amplitude, rhythm, blink rate, head-pose habits), or a copy of its head pose relative to its first frame."""
    if style is None:
        return track
    checks.choice("style mode", mode, STYLE_MODES)
    reference = track_video(style, progress=progress).track
    return copy_pose(track, reference) if mode == "copy" else apply_style(track, style_stats(reference), seed=seed)


def talking_track(audio: Path, fps: int, seed: int, *, blink_rate: float | None = None, pose_scale: float = 1.0,
                  expression_scale: float = 1.0, still: bool = False, style: Path | None = None,
                  style_mode: str = "stats", progress: Steps | None = None) -> tuple[Track, Audio]:
    """The track of a face talking along with a sound file (ceil(duration × fps) frames), and the sound for the
    video. blink_rate: blinks a second (default: resting or talking rate)."""
    track = audio_track(decode_audio(audio, FEATURE_RATE), fps, seed=seed, blink_rate=blink_rate,
                        pose_scale=pose_scale, expression_scale=expression_scale, still=still)
    return styled(track, style, style_mode, seed, progress), decode_audio(audio, SOUND_RATE)


def speaking_track(text: str, fps: int, seed: int, *, voice: str = "en", rate: int = 175,
                   blink_rate: float | None = None, pose_scale: float = 1.0, expression_scale: float = 1.0,
                   still: bool = False, style: Path | None = None, style_mode: str = "stats",
                   progress: Steps | None = None) -> tuple[Track, Audio]:
    """The track of a face saying `text` (espeak-ng speech, mouth shapes from its phonemes), and the speech."""
    sound, events = say(text, voice=voice, rate=rate)
    kwargs = {} if blink_rate is None else {"blink_rate": blink_rate}
    track = speech_track(events, sound.duration, fps, seed=seed, audio=sound, pose_scale=pose_scale,
                         expression_scale=expression_scale, still=still, **kwargs)
    return styled(track, style, style_mode, seed, progress), sound


def idle_track(num_frames: int, fps: float, seed: int, blink_rate: float = RESTING_BLINK_RATE,
               sway: float = 1.0) -> Track:
    """Blinks and slow head sway of a resting face, from the seed (lganim.idle)."""
    channels = idle_motion(num_frames, fps, seed, blink_rate=blink_rate, sway=sway)
    return Track(fps=fps, t=np.arange(num_frames) / fps, channels=channels, valid=np.ones(num_frames, dtype=bool),
                 meta={"source": "idle", "seed": int(seed), "blink_rate": blink_rate})


def future_prompt(subject: str, rng: np.random.Generator, steps: int = 2) -> str:
    """A plausible sequence of the paper's expressions, e.g. "The person is smiling; then surprised."."""
    picks = rng.choice(len(PAPER_EXPRESSIONS), size=steps, replace=False)
    names = [PAPER_EXPRESSIONS[int(i)] for i in picks]
    return f"The {subject} is {names[0]}; " + "; ".join(f"then {n}" for n in names[1:]) + "."


@dataclass
class Future:
    """One predicted future of a face: its language motion plus idle motion, and how it was drawn."""

    prompt: str
    source: MotionSum
    generator: torch.Generator               # draws the recurrent generator's hidden state
    info: dict


def futures(language: MotionSource, controls: Controls, subject: str, samples: int, seed: int, num_frames: int,
            fps: int, prompt: str | None = None, diversity: float = 4.0) -> list[Future]:
    """K plausible futures of a face (face video prediction), all drawn from `seed`: each a sequence of the paper's
    prompts (or `prompt`) through the domain's language motion — with a trained recurrent generator, from its own
    hidden-state draw spread by `diversity` — plus blinks and head sway."""
    checks.whole("samples", samples, 1, 16)
    checks.number("diversity", diversity, 0.0, 100.0)
    trained = isinstance(language, TrainedMotion)
    out = []
    for k in range(samples):
        rng = np.random.default_rng([seed, k])
        text = prompt or future_prompt(subject, rng)
        idle_seed, hidden_seed = (int(x) for x in rng.integers(2 ** 31, size=2))
        idle = TrackMotion(idle_track(num_frames, fps, idle_seed), controls)
        motion = TrainedMotion(language.model, language.clip, hidden_scale=diversity) if trained else language
        info = {"prompt": text, "idle_seed": idle_seed}
        if trained:
            info.update(hidden_seed=hidden_seed, diversity=diversity)
        out.append(Future(text, MotionSum([motion, idle]), torch.Generator().manual_seed(hidden_seed), info))
    return out


def output_frames(duration: float, fps: float) -> int:
    """Frames of a video `duration` seconds long at `fps`: ceil(duration × fps), at least one."""
    return max(1, math.ceil(duration * fps - 1e-6))


__all__ = ["TrackMotion", "POSE_CHANNELS", "CROP_CHANNELS", "driving_track", "styled", "talking_track",
           "speaking_track", "idle_track", "future_prompt", "Future", "futures", "output_frames"]
