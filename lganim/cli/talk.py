"""`talk` and `say`: a face that talks from audio (or from text spoken by espeak-ng), with the sound in the video.

Mouth motion follows the speech envelope (`talk`) or the phonemes of the synthesis (`say`): it is not
phoneme-exact lip sync of recorded speech.
"""
from __future__ import annotations

import tempfile
from contextlib import nullcontext
from pathlib import Path

from ..audio import write_wav
from ..drive import TrackMotion, speaking_track, talking_track
from ..errors import LganimError
from ..tracks import Track
from .common import TRACK_SUFFIXES, check_out, controls_of, drive_face, load, steps_bar


def speak_with_face(args, track: Track, sound: Path) -> int:
    """Render the face driven by `track`, with `sound` in the video, into --out (and the track into --track-out)."""
    anim = load(args)
    drive_face(args, anim, TrackMotion(track, controls_of(anim), audio=sound), len(track), args.fps, args.fps,
               "talking")
    return 0


def check(args) -> None:
    check_out(args.out, (".mp4",))
    if args.track_out is not None:
        check_out(args.track_out, TRACK_SUFFIXES, "--track-out")
    if not 1 <= args.fps <= 60:
        raise LganimError(f"--fps must be from 1 to 60, got {args.fps}.")
    if args.blink_rate is not None and not 0 <= args.blink_rate <= 60:
        raise LganimError(f"--blink-rate must be from 0 to 60 blinks a minute, got {args.blink_rate}.")


def blink_rate(args) -> float | None:
    return None if args.blink_rate is None else args.blink_rate / 60        # per minute -> per second


def options(args) -> dict:
    """The keyword arguments of drive.talking_track / speaking_track from the command's options."""
    return dict(blink_rate=None if args.blink_rate is None else args.blink_rate / 60,   # a minute -> a second
                pose_scale=args.pose_scale, expression_scale=args.expression_scale, still=args.still,
                style=args.style, style_mode=args.style_mode)


def talk(args) -> int:
    check(args)
    with steps_bar("tracking the style video") if args.style else nullcontext() as progress:
        track, sound = talking_track(args.audio, args.fps, args.seed or 0, progress=progress, **options(args))
    with tempfile.TemporaryDirectory(prefix="lganim-talk-") as scratch:
        return speak_with_face(args, track, write_wav(sound, Path(scratch) / "sound.wav"))


def say(args) -> int:
    check(args)
    with steps_bar("tracking the style video") if args.style else nullcontext() as progress:
        track, sound = speaking_track(args.text, args.fps, args.seed or 0, voice=args.voice, rate=args.rate,
                                      progress=progress, **options(args))
    with tempfile.TemporaryDirectory(prefix="lganim-say-") as scratch:
        return speak_with_face(args, track, write_wav(sound, Path(scratch) / "speech.wav"))
