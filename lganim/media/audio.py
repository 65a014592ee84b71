"""Sound in and out: decoding any sound ffmpeg reads to mono float32, and writing WAV.

Decoding goes through the one ffmpeg runner (`-f f32le -ac 1 -ar SR`), so any input ffmpeg reads works: wav, mp3,
m4a/aac, ogg/opus, flac, or the sound of a video; every channel layout is mixed to mono. Clips are limited to
MAX_AUDIO_SECONDS, checked in the file's header before decoding (and again on the decoded samples, should the
header be missing or wrong). What a sound makes a face do is `lganim.tracks.audio`; putting a sound under a video
is `writers.mux_audio`.
"""
from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import checks
from ..config import MAX_AUDIO_SECONDS
from ..errors import LganimError
from ..files import atomic_path
from . import ffmpeg

MIN_SOURCE_RATE = 8000             # Hz: below this the speech band is not in the file
SAMPLE_RATES = (8000, 96000)       # Hz: range of rates to decode to
FEATURE_RATE = 16_000              # Hz: the rate speech is analysed at
SOUND_RATE = 48_000                # Hz: the rate a sound is decoded at to go into a video


@dataclass(frozen=True, eq=False)
class Audio:
    """Decoded sound: float32 [N] mono samples at `sample_rate` Hz, and what the file held."""

    samples: np.ndarray            # float32 [N], nominally in [-1, 1]
    sample_rate: int               # Hz of `samples`
    source_rate: int | None        # Hz of the file (None when ffmpeg does not say)
    channels: int | None           # channels of the file, mixed to mono here (None when unknown)

    @property
    def duration(self) -> float:
        """Seconds of sound."""
        return self.samples.size / self.sample_rate

    @classmethod
    def from_array(cls, samples, sample_rate: int) -> Audio:
        """Audio from samples in memory: float in [-1, 1] or int16, [N] or [N, C] (channels averaged)."""
        rate = _check_rate(sample_rate)
        samples = np.asarray(samples)
        if samples.ndim not in (1, 2) or samples.size == 0:
            raise LganimError(f"Audio samples must be a non-empty [N] or [N, channels] array, "
                              f"got shape {list(samples.shape)}.")
        scale = 1 / 32768 if samples.dtype == np.int16 else 1.0
        try:
            samples = samples.astype(np.float64) * scale
        except (TypeError, ValueError):
            raise LganimError(f"Audio samples must be numbers, got {samples.dtype}.") from None
        channels = 1 if samples.ndim == 1 else samples.shape[1]
        mono = (samples if samples.ndim == 1 else samples.mean(axis=1)).astype(np.float32)
        if not np.isfinite(mono).all():
            raise LganimError("Audio samples hold NaN or infinite values; fix the signal first.")
        _check_length(mono.size / rate, "The sound")
        return cls(mono, rate, rate, channels)


def _check_rate(rate) -> int:
    return checks.whole("The sample rate (Hz)", rate, *SAMPLE_RATES)


def _check_length(seconds: float, what: str) -> None:
    if seconds > MAX_AUDIO_SECONDS:
        raise LganimError(f"{what} lasts {round(seconds, 1):g} s; lganim takes at most {MAX_AUDIO_SECONDS:g} s: "
                          "cut it shorter first.")


def probe_audio(path) -> ffmpeg.MediaInfo:
    """Read the header of a sound (or a video's sound) and check it: a media file with sound, at most
    MAX_AUDIO_SECONDS long, sampled fast enough for speech."""
    path = Path(path)
    info = ffmpeg.probe(path)
    if not info.has_audio:
        raise LganimError(f"'{path.name}' has no audio track; give a file with sound "
                          "(wav, mp3, m4a, ogg, flac, or a video with sound).")
    if info.duration is not None:
        _check_length(info.duration, f"'{path.name}'")
    if info.sample_rate is not None and info.sample_rate < MIN_SOURCE_RATE:
        raise LganimError(f"'{path.name}' is sampled at {info.sample_rate} Hz; speech needs at least "
                          f"{MIN_SOURCE_RATE} Hz: record or export it at 16 kHz or more.")
    return info


def decode_audio(path, sample_rate: int = FEATURE_RATE) -> Audio:
    """Decode the first audio stream of `path` (any format ffmpeg reads) to mono float32 at `sample_rate` Hz.

    Refuses files that are not media, have no sound, last longer than MAX_AUDIO_SECONDS (read from the
    header before decoding) or decode to nothing.
    """
    path = Path(path)
    rate = _check_rate(sample_rate)
    info = probe_audio(path)
    # -t bounds the output even when the header lies about the length.
    done = ffmpeg.run(["-loglevel", "error", *ffmpeg.input_args(path), "-map", "0:a:0",
                       "-t", f"{MAX_AUDIO_SECONDS + 1:g}", "-f", "f32le", "-ac", "1", "-ar", str(rate), "pipe:1"],
                      f"'{path.name}'")
    if done.returncode != 0:
        raise LganimError(f"ffmpeg could not decode the sound of '{path.name}' ({ffmpeg.last_line(done.stderr)}); "
                          "the file may be damaged: export it again, e.g. as WAV.")
    samples = np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)
    if samples.size == 0:
        raise LganimError(f"'{path.name}' holds no sound samples (empty or damaged); export it again, e.g. as WAV.")
    seconds = samples.size / rate
    _check_length(seconds, f"'{path.name}'")
    if done.stderr.strip() and info.duration and seconds < 0.5 * info.duration:
        raise LganimError(f"Only {seconds:.1f} s of the {info.duration:.1f} s in '{path.name}' could be decoded "
                          f"({ffmpeg.last_line(done.stderr)}); the file is damaged: export it again.")
    return Audio(samples, rate, info.sample_rate, info.channels)


def has_audio(path) -> bool:
    """True when the media file has at least one audio stream."""
    return ffmpeg.probe(path).has_audio


def audio_duration(path) -> float:
    """Seconds of sound in the first audio stream of `path`, counted on the decoded samples."""
    return decode_audio(path, SOUND_RATE).duration


def write_wav(audio: Audio, path) -> Path:
    """Write `audio` as a 16-bit mono WAV file, atomically; returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".wav":
        raise LganimError(f"The sound file name must end in .wav, got '{path.name}'.")
    if not path.parent.is_dir():
        raise LganimError(f"The folder '{path.parent}' does not exist; create it first.")
    pcm = np.round(np.clip(audio.samples, -1, 1) * 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(audio.sample_rate)
            out.writeframes(pcm.tobytes())
    return path


# ------------------------------------------------------------------------------------------- features


# ---------------------------------------------------------------------------------------- motion track


__all__ = ["Audio", "FEATURE_RATE", "SOUND_RATE", "probe_audio", "decode_audio", "has_audio", "audio_duration",
           "write_wav"]
