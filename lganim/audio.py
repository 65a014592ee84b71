"""Audio for talking faces: decoding, per-frame speech features, and the motion track they drive.

- Decoding goes through the ffmpeg binary that imageio-ffmpeg ships (`-f f32le -ac 1 -ar SR`), so any
  input ffmpeg reads works: wav, mp3, m4a/aac, ogg/opus, flac, or the sound of a video; every channel
  layout is mixed to mono. Clips are limited to `MAX_SECONDS`, checked in the file's header before
  decoding (and again on the decoded samples, should the header be missing or wrong).
- Features (numpy only) are computed per video frame on a `WINDOW_S` Hann window centred on the middle
  of the frame's display interval [i / fps, (i + 1) / fps): speech-band loudness, spectral flux,
  autocorrelation pitch, voicing, spectral centroid and a speech/silence flag with an adaptive threshold.
- The motion track: the mouth follows the loudness envelope (fast attack, slower release), parting a
  little just before each utterance that follows a pause (the mouth leads the sound by 100–300 ms at
  onsets) and staying shut in silence; the mouth widens for bright (front-vowel) spectra and narrows for
  dark (rounded) ones; the head nods at strong onsets and the brows rise at pitch peaks (head motion and
  brow raises go with prosody); blinks and head sway come from `lganim.idle`.
- Muxing puts a sound track under a finished video: `ffmpeg -map 0:v:0 -map 1:a:0 -c:v copy -c:a aac`
  with the sound padded with silence and cut at the video's end (`apad` + `-shortest`), so the video
  keeps every frame and the sound lasts as long as the video (to one AAC frame, 21 ms at 48 kHz).
"""
from __future__ import annotations

import math
import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LganimError
from .files import atomic_path
from .idle import RESTING_BLINK_RATE, TALKING_BLINK_RATE, idle_motion
from .tracks import Track

MAX_SECONDS = 300.0                # longest clip, s
MIN_SOURCE_RATE = 8000             # Hz: below this the speech band is not in the file
SAMPLE_RATES = (8000, 96000)       # Hz: range of rates to decode to
DEFAULT_RATE = 16000               # Hz: decoding rate for speech features
MAX_FPS = 120.0
TIMEOUT_S = 120                    # s: ffmpeg runs longer than this are stopped (a damaged or hostile file)
# Demuxers allowed to open an input (the sound formats, then the video containers): no playlists or
# concat scripts, which could make ffmpeg read other files.
FORMATS = ("wav,w64,mp3,aac,loas,flac,ogg,aiff,caf,amr,au,wv,ape,tta,mpc,mpc8,xwma,"
           "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,asf")

WINDOW_S = 0.05                    # s: analysis window (3 periods of the lowest pitch)
SPEECH_BAND = (300.0, 3400.0)      # Hz: telephone speech band, for loudness, flux and centroid
PITCH_HZ = (60.0, 400.0)           # Hz: pitch search range
PITCH_LOWPASS_HZ = 1200.0          # Hz: the autocorrelation sees only the harmonics below this
VOICED_R = 0.5                     # normalised autocorrelation peak above which a frame is voiced
SILENCE_DB = -55.0                 # dB (full-scale sine = -3 dB): quieter frames are always silence
SPEECH_RISE_DB = 6.0               # dB: the speech threshold is at least this far above the noise floor
FILL_GAP_S = 0.15                  # s: shorter pauses inside speech count as speech
MIN_SPEECH_S = 0.06                # s: shorter bursts are clicks, not speech
CHUNK_VALUES = 1 << 22             # spectrum values analysed at once (bounds the memory to ~100 MB)

OPEN_MAX = 0.4                     # mouth_open at full loudness (an open mouth is 0.3-0.5)
LEVEL_GAMMA = 1.5                  # loudness level -> opening curve (> 1: the mouth closes more between syllables)
ATTACK_S, RELEASE_S = 0.015, 0.05  # s: time constants of the mouth following the envelope
ANTICIPATION_S = 0.15              # s: the lips part this long before an utterance after a pause
ANTICIPATION_OPEN = 0.06           # mouth_open reached by the parting lips at the onset
PAUSE_S = 0.3                      # s: silence before an onset that makes it an utterance start
WIDE_MAX = 0.06                    # mouth_wide at an octave of spectral centroid above/below the speaker's median
WIDE_SMOOTH_S = 0.04               # s: time constant of mouth_wide following the spectrum
NOD_DEG = (1.5, 3.0)               # deg: range of a nod (chin down) at a strong onset
NOD_S = (0.35, 0.5)                # s: range of a nod's duration
NOD_GAP_S = 0.6                    # s: least time between nods
NOD_CHANCE = 0.7                   # probability that a strong onset gets a nod
BROW_RAISE = (0.03, 0.06)          # range of a brow raise at a pitch peak (inter-ocular distances)
BROW_S = (0.5, 0.8)                # s: range of a brow raise's duration
BROW_GAP_S = 1.0                   # s: least time between brow raises
PITCH_PEAK = 1.15                  # a pitch peak is this many times the speaker's median pitch


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


@dataclass(frozen=True)
class MediaInfo:
    """What the header of a media file says (from `ffmpeg -i`)."""

    duration: float | None         # s (None when the container does not say)
    has_audio: bool
    has_video: bool
    sample_rate: int | None        # Hz of the first audio stream
    channels: int | None           # channels of the first audio stream


# ------------------------------------------------------------------------------------------- decoding

def _ffmpeg() -> str:
    import imageio_ffmpeg  # third-party, imported when ffmpeg is first needed (as in lganim.video)
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    """Run ffmpeg with the output captured, stopped after TIMEOUT_S seconds."""
    try:
        return subprocess.run([_ffmpeg(), "-hide_banner", "-nostdin", *cmd], capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise LganimError(f"ffmpeg took over {TIMEOUT_S} s on {what}; convert the file to WAV and try again.") \
            from None


def _input_args(path: Path) -> list[str]:
    # local files in the listed formats only; "file:" keeps a name with a colon from being read as a protocol
    return ["-format_whitelist", FORMATS, "-protocol_whitelist", "file", "-i", f"file:{path.resolve()}"]


def _check_input(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise LganimError(f"The file '{path}' does not exist; check the path.")
    if not path.is_file():
        raise LganimError(f"'{path}' is not a file; give an audio or video file.")
    return path


def _check_rate(rate) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) \
            or not SAMPLE_RATES[0] <= rate <= SAMPLE_RATES[1]:
        raise LganimError(f"The sample rate must be a whole number of Hz from {SAMPLE_RATES[0]} to "
                          f"{SAMPLE_RATES[1]}, got {rate!r}.")
    return int(rate)


def _check_length(seconds: float, what: str) -> None:
    if seconds > MAX_SECONDS:
        raise LganimError(f"{what} lasts {round(seconds, 1):g} s; lganim takes at most {MAX_SECONDS:g} s: "
                          "cut it shorter first.")


def _last_line(text: bytes) -> str:
    lines = [ln.strip() for ln in text.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _channel_count(layout: str) -> int | None:
    """Channels of an ffmpeg layout name: "mono", "5.1(side)", "7.1.4", "6 channels", ..."""
    layout = layout.strip()
    named = {"mono": 1, "stereo": 2, "binaural": 2, "downmix": 2, "quad": 4, "hexagonal": 6,
             "octagonal": 8, "cube": 8, "hexadecagonal": 16}
    base = layout.split("(")[0]
    if base in named:
        return named[base]
    if re.fullmatch(r"\d+(\.\d+)+", base):                  # "5.1" = 5 + 1, "7.1.4" = 7 + 1 + 4
        return sum(int(x) for x in base.split("."))
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else None


def probe(path) -> MediaInfo:
    """Read the header of a media file with `ffmpeg -i` (no ffprobe ships with imageio-ffmpeg)."""
    path = _check_input(path)
    done = _run(_input_args(path), f"the header of '{path.name}'")
    text = done.stderr.decode(errors="replace")
    if "Input #0" not in text:                               # ffmpeg could not open it
        raise LganimError(f"'{path.name}' is not an audio or video file lganim can read "
                          f"({_last_line(done.stderr)}); use wav, mp3, m4a, ogg, flac or a video.")
    match = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    duration = int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3)) if match else None
    streams = re.findall(r"Stream #0:\d+\S*: (Audio|Video): (.*)", text)
    audio = [desc for kind, desc in streams if kind == "Audio"]
    rate = channels = None
    if audio:
        match = re.search(r"(\d+) Hz, ([^,]+)", audio[0])
        if match:
            rate, channels = int(match.group(1)), _channel_count(match.group(2))
    video = [desc for kind, desc in streams if kind == "Video" and "attached pic" not in desc]  # not cover art
    return MediaInfo(duration, bool(audio), bool(video), rate, channels)


def decode_audio(path, sample_rate: int = DEFAULT_RATE) -> Audio:
    """Decode the first audio stream of `path` (any format ffmpeg reads) to mono float32 at `sample_rate` Hz.

    Refuses files that are not media, have no sound, last longer than `MAX_SECONDS` (read from the
    header before decoding) or decode to nothing.
    """
    path = _check_input(path)
    rate = _check_rate(sample_rate)
    info = probe(path)
    if not info.has_audio:
        raise LganimError(f"'{path.name}' has no audio track; give a file with sound "
                          "(wav, mp3, m4a, ogg, flac, or a video with sound).")
    if info.duration is not None:
        _check_length(info.duration, f"'{path.name}'")
    if info.sample_rate is not None and info.sample_rate < MIN_SOURCE_RATE:
        raise LganimError(f"'{path.name}' is sampled at {info.sample_rate} Hz; speech needs at least "
                          f"{MIN_SOURCE_RATE} Hz: record or export it at 16 kHz or more.")
    # -t bounds the output even when the header lies about the length.
    done = _run(["-loglevel", "error", *_input_args(path), "-map", "0:a:0", "-t", f"{MAX_SECONDS + 1:g}",
                 "-f", "f32le", "-ac", "1", "-ar", str(rate), "pipe:1"], f"'{path.name}'")
    if done.returncode != 0:
        raise LganimError(f"ffmpeg could not decode the sound of '{path.name}' ({_last_line(done.stderr)}); "
                          "the file may be damaged: export it again, e.g. as WAV.")
    samples = np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)
    if samples.size == 0:
        raise LganimError(f"'{path.name}' holds no sound samples (empty or damaged); export it again, e.g. as WAV.")
    seconds = samples.size / rate
    _check_length(seconds, f"'{path.name}'")
    if done.stderr.strip() and info.duration and seconds < 0.5 * info.duration:
        raise LganimError(f"Only {seconds:.1f} s of the {info.duration:.1f} s in '{path.name}' could be decoded "
                          f"({_last_line(done.stderr)}); the file is damaged: export it again.")
    return Audio(samples, rate, info.sample_rate, info.channels)


def has_audio(path) -> bool:
    """True when the media file has at least one audio stream."""
    return probe(path).has_audio


def audio_duration(path) -> float:
    """Seconds of sound in the first audio stream of `path`, counted on the decoded samples (48 kHz)."""
    return decode_audio(path, 48000).duration


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

def num_frames(duration: float, fps: float) -> int:
    """Frames of a video at `fps` that covers `duration` seconds: ceil(duration * fps), at least 1."""
    return max(1, math.ceil(duration * fps - 1e-6))           # the tolerance absorbs float noise


def check_fps(fps) -> float:
    """`fps` as a float, or an error unless it is a number from 1 to MAX_FPS."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) \
            or not math.isfinite(fps) or not 1 <= fps <= MAX_FPS:
        raise LganimError(f"fps must be a number from 1 to {MAX_FPS:g}, got {fps!r}.")
    return float(fps)


def audio_features(audio: Audio, fps: float) -> dict[str, np.ndarray]:
    """Per-frame speech features, arrays of ceil(duration * fps) values (frame i shows [i / fps, (i + 1) / fps)).

    Keys: loudness (dB, speech band, a full-scale sine = -3 dB), flux (spectral flux: mean rise of the
    log spectrum since the previous frame, ≥ 0; peaks at onsets), pitch (Hz, 0 where unvoiced or
    silent), voicing (normalised autocorrelation peak, 0..1), centroid (Hz, speech-band spectral
    centroid), speech (bool, adaptive threshold over the whole clip; all False for silence).
    """
    fps = check_fps(fps)
    rate = audio.sample_rate
    n = num_frames(audio.duration, fps)
    win = round(WINDOW_S * rate)
    nfft = 1 << (2 * win - 1).bit_length()                    # ≥ 2 * win: linear, not circular, autocorrelation
    hann = np.hanning(win)
    freqs = np.fft.rfftfreq(nfft, 1 / rate)                   # [F] Hz
    band = (freqs >= SPEECH_BAND[0]) & (freqs <= SPEECH_BAND[1])
    low = freqs <= PITCH_LOWPASS_HZ
    lag_lo, lag_hi = math.floor(rate / PITCH_HZ[1]), math.ceil(rate / PITCH_HZ[0])
    # autocorrelation of the window itself, to undo its taper (Boersma 1993)
    window_acf = np.fft.irfft(np.abs(np.fft.rfft(hann, nfft)) ** 2)[:lag_hi + 2]
    window_acf /= window_acf[0]
    # the last window may reach half a frame past the end of the sound
    padded = np.pad(audio.samples.astype(np.float64), (win, win + math.ceil(rate / fps)))
    centres = np.round((np.arange(n) + 0.5) / fps * rate).astype(np.int64) + win   # [n] in padded samples

    loudness, flux, centroid = np.empty(n), np.empty(n), np.empty(n)
    voicing, period = np.empty(n), np.empty(n)
    previous = None                                            # log band spectrum of the previous frame
    chunk = max(16, CHUNK_VALUES // nfft)                      # frames at once
    for start in range(0, n, chunk):
        idx = centres[start:start + chunk, None] + np.arange(win) - win // 2               # [c, win]
        frames = padded[idx]
        frames -= frames.mean(axis=1, keepdims=True)
        power = np.abs(np.fft.rfft(frames * hann, nfft)) ** 2                              # [c, F]
        band_power = power[:, band]
        # mean square of the band-limited signal (Parseval, corrected for the window's energy)
        mean_square = 2 * band_power.sum(axis=1) / (nfft * (hann ** 2).sum())
        part = slice(start, start + len(frames))
        loudness[part] = 10 * np.log10(mean_square + 1e-10)
        centroid[part] = (band_power * freqs[band]).sum(axis=1) / (band_power.sum(axis=1) + 1e-20)
        log_spec = np.log1p(band_power / (1e-6 * nfft * (hann ** 2).sum()))
        before = np.vstack([log_spec[:1] if previous is None else previous, log_spec[:-1]])
        flux[part] = np.maximum(log_spec - before, 0).mean(axis=1)
        previous = log_spec[-1:]
        voicing[part], period[part] = _autocorrelation_peak(power * low, window_acf, lag_lo, lag_hi)

    speech = _speech_mask(loudness, fps)
    voiced = speech & (voicing > VOICED_R)
    pitch = np.where(voiced, rate / period, 0.0)
    return {"loudness": loudness, "flux": flux, "pitch": pitch, "voicing": np.clip(voicing, 0, 1),
            "centroid": centroid, "speech": speech}


def _autocorrelation_peak(power: np.ndarray, window_acf: np.ndarray, lag_lo: int, lag_hi: int):
    """Per frame, the normalised autocorrelation peak in [lag_lo, lag_hi] and its lag (samples, sub-sample).

    The first local maximum within 90 % of the highest wins, so that the true period beats its multiples.
    """
    acf = np.fft.irfft(power)[:, :lag_hi + 2]                                      # [c, L]
    r = acf / (acf[:, :1] + 1e-20) / np.maximum(window_acf, 1e-3)
    inner = r[:, lag_lo:lag_hi + 1]
    is_peak = (inner >= r[:, lag_lo - 1:lag_hi]) & (inner >= r[:, lag_lo + 1:lag_hi + 2])
    best = np.where(is_peak, inner, -np.inf).max(axis=1, keepdims=True)
    first = np.argmax(is_peak & (inner >= 0.9 * best), axis=1)                    # [c]
    rows = np.arange(len(r))
    lag = first + lag_lo
    left, mid, right = r[rows, lag - 1], r[rows, lag], r[rows, lag + 1]
    curvature = left - 2 * mid + right
    shift = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1), 0.0)
    peak = np.where(np.isfinite(best[:, 0]), mid, 0.0)
    return peak, lag + np.clip(shift, -0.5, 0.5)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a bool [N] mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _speech_mask(loudness: np.ndarray, fps: float) -> np.ndarray:
    """Speech where the loudness rises far enough above the clip's noise floor; short gaps filled, clicks dropped."""
    floor, peak = np.percentile(loudness, 10), np.percentile(loudness, 99)
    if peak < SILENCE_DB:
        return np.zeros(len(loudness), dtype=bool)
    threshold = max(SILENCE_DB, floor + max(SPEECH_RISE_DB, 0.3 * (peak - floor)))
    speech = loudness > threshold
    starts, ends = _runs(~speech)
    for s, e in zip(starts, ends):                             # pauses inside speech
        if s > 0 and e < len(speech) and (e - s) / fps < FILL_GAP_S:
            speech[s:e] = True
    starts, ends = _runs(speech)
    for s, e in zip(starts, ends):                             # clicks
        if (e - s) / fps < MIN_SPEECH_S:
            speech[s:e] = False
    return speech


# ---------------------------------------------------------------------------------------- motion track

def _one_pole(target: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    """Follow `target` with a rising time constant `attack_s` and a falling one `release_s` (s)."""
    up, down = 1 - math.exp(-1 / (fps * attack_s)), 1 - math.exp(-1 / (fps * release_s))
    out = np.empty_like(target)
    value = 0.0
    for i, x in enumerate(target):
        value += (up if x > value else down) * (x - value)
        out[i] = value
    return out


def _bump(times: np.ndarray, centre: float, length: float) -> np.ndarray:
    """A raised-cosine pulse of height 1 and `length` seconds centred on `centre`, sampled at `times`."""
    phase = np.clip((times - centre) / length + 0.5, 0, 1)
    return 0.5 - 0.5 * np.cos(2 * math.pi * phase)


def _loudness_level(features: dict[str, np.ndarray]) -> np.ndarray:
    """Loudness mapped to [0, 1] between quiet and loud speech of this clip; 0 outside speech."""
    speech = features["speech"]
    if not speech.any():
        return np.zeros(len(speech))
    loud = features["loudness"][speech]
    low, high = np.percentile(loud, 5) - SPEECH_RISE_DB, np.percentile(loud, 95)
    level = np.clip((features["loudness"] - low) / max(high - low, 1e-6), 0, 1) ** LEVEL_GAMMA
    return np.where(speech, level, 0.0)


def mouth_motion(features: dict[str, np.ndarray], fps: float) -> dict[str, np.ndarray]:
    """mouth_open and mouth_wide float64 [N] from audio features (see the module docstring)."""
    fps = check_fps(fps)
    speech = features["speech"]
    level = _loudness_level(features)
    # unvoiced speech (fricatives) opens the mouth less than vowels
    target = OPEN_MAX * level * (0.6 + 0.4 * features["voicing"]) * speech
    mouth_open = _one_pole(target, fps, ATTACK_S, RELEASE_S)
    lead = max(1, round(ANTICIPATION_S * fps))
    pause = max(1, round(PAUSE_S * fps))
    starts, _ = _runs(speech)
    for s in starts:                                          # the lips part before an utterance
        if s >= pause and not speech[s - pause:s].any():
            ramp = ANTICIPATION_OPEN * np.linspace(0, 1, lead + 1)[1:] ** 2
            mouth_open[s - lead:s] = np.maximum(mouth_open[s - lead:s], ramp)
    mouth_wide = np.zeros(len(speech))
    if speech.any():
        ref = np.median(features["centroid"][speech])
        brightness = np.clip(np.log2(np.maximum(features["centroid"], 1.0) / ref), -1, 1)
        mouth_wide = _one_pole(WIDE_MAX * brightness * level, fps, WIDE_SMOOTH_S, WIDE_SMOOTH_S)
    return {"mouth_open": mouth_open, "mouth_wide": mouth_wide}


def _local_peaks(x: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Indices where x is a local maximum (≥ left, > right) and `allowed` holds."""
    inner = (x[1:-1] >= x[:-2]) & (x[1:-1] > x[2:]) & allowed[1:-1]
    return np.flatnonzero(inner) + 1


def _spaced(times: np.ndarray, strength: np.ndarray, gap: float) -> list[int]:
    """Indices of events kept strongest first, none closer than `gap` seconds to a kept one, in time order."""
    kept: list[int] = []
    for i in np.argsort(-strength, kind="stable"):
        if all(abs(times[i] - times[j]) >= gap for j in kept):
            kept.append(int(i))
    return sorted(kept, key=lambda i: times[i])


def gestures(features: dict[str, np.ndarray], fps: float, seed: int | np.random.SeedSequence = 0,
             pose_scale: float = 1.0, expression_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Prosodic gestures float64 [N]: pitch (deg; chin-down nods at strong onsets) and brow (raises at pitch peaks)."""
    fps = check_fps(fps)
    rng = np.random.default_rng(seed)
    speech, flux, pitch = features["speech"], features["flux"], features["pitch"]
    n = len(speech)
    times = np.arange(n) / fps
    nod, brow = np.zeros(n), np.zeros(n)
    if not speech.any():
        return {"pitch": nod, "brow": brow}
    # strong onsets: utterance starts after a pause, and spectral-flux peaks in the top 15 % of speech
    pause = max(1, round(PAUSE_S * fps))
    starts = [s for s in _runs(speech)[0] if s == 0 or not speech[max(0, s - pause):s].any()]
    flux_high = np.percentile(flux[speech], 85)
    peaks = _local_peaks(flux, speech & (flux > flux_high))
    onsets = np.concatenate([starts, peaks]).astype(np.int64)
    strength = np.concatenate([np.ones(len(starts)), np.clip(flux[peaks] / (2 * flux_high + 1e-12), 0.5, 1)])
    for i in _spaced(times[onsets], strength, NOD_GAP_S):
        if rng.random() < NOD_CHANCE:
            length = rng.uniform(*NOD_S)
            nod -= rng.uniform(*NOD_DEG) * strength[i] * _bump(times, times[onsets[i]] + 0.3 * length, length)
    # pitch peaks: voiced local maxima well above the speaker's median pitch
    voiced = pitch > 0
    if voiced.any():
        high = PITCH_PEAK * np.median(pitch[voiced])
        tops = _local_peaks(pitch, voiced & (pitch > high))
        for i in _spaced(times[tops], pitch[tops], BROW_GAP_S):
            length = rng.uniform(*BROW_S)
            brow += rng.uniform(*BROW_RAISE) * _bump(times, times[tops[i]], length)
    return {"pitch": pose_scale * nod, "brow": expression_scale * brow}


def check_scale(value, name: str) -> float:
    """A motion scale (1 = natural) as a float, or an error naming `name` unless it is from 0 to 10."""
    value = float(value)
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise LganimError(f"{name} must be from 0 to 10 (1 = natural), got {value!r}.")
    return value


def audio_track(audio: Audio, fps: float, seed: int = 0, blink_rate: float | None = None,
                pose_scale: float = 1.0, expression_scale: float = 1.0, still: bool = False) -> Track:
    """The talking-face motion track of `audio`: ceil(duration * fps) frames at times i / fps.

    Channels: mouth_open, mouth_wide, brow (expression, times `expression_scale`), yaw, pitch, roll
    (head sway and nods, times `pose_scale`; all 0 when `still`), eye_l, eye_r (blinks at `blink_rate`
    per second; default `TALKING_BLINK_RATE` when the clip is mostly speech, else `RESTING_BLINK_RATE`).
    Deterministic for a `seed`.
    """
    fps = check_fps(fps)
    pose_scale = 0.0 if still else check_scale(pose_scale, "The head motion scale")
    expression_scale = check_scale(expression_scale, "The expression scale")
    features = audio_features(audio, fps)
    speech = features["speech"]
    n = len(speech)
    if blink_rate is None:
        blink_rate = TALKING_BLINK_RATE if speech.mean() > 0.3 else RESTING_BLINK_RATE
    idle = idle_motion(n, fps, seed, blink_rate=blink_rate, sway=pose_scale, talking=speech)
    mouth = mouth_motion(features, fps)
    gesture = gestures(features, fps, np.random.SeedSequence([seed, 1]), pose_scale, expression_scale)  # own stream
    channels = {"yaw": idle["yaw"], "pitch": idle["pitch"] + gesture["pitch"], "roll": idle["roll"],
                "mouth_open": expression_scale * mouth["mouth_open"],
                "mouth_wide": expression_scale * mouth["mouth_wide"],
                "eye_l": idle["eye_l"], "eye_r": idle["eye_r"], "brow": gesture["brow"]}
    meta = {"source": "audio", "seed": int(seed), "fps": fps, "duration": audio.duration,
            "sample_rate": audio.sample_rate, "blink_rate": float(blink_rate), "pose_scale": pose_scale,
            "expression_scale": expression_scale, "still": bool(still),
            "speech_fraction": float(speech.mean())}
    return Track(fps=fps, t=np.arange(n) / fps, channels=channels, valid=np.ones(n, dtype=bool), meta=meta)


__all__ = ["Audio", "MediaInfo", "MAX_SECONDS", "audio_duration", "audio_features", "audio_track", "check_fps",
           "check_scale", "decode_audio", "gestures", "has_audio", "mouth_motion", "num_frames", "probe",
           "write_wav"]
