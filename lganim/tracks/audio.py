"""What speech makes a face do: per-frame speech features and the talking-face motion track they drive.

- Features (numpy only) are computed per video frame on a `WINDOW_S` Hann window centred on the middle
  of the frame's display interval [i / fps, (i + 1) / fps): speech-band loudness, spectral flux,
  autocorrelation pitch, voicing, spectral centroid and a speech/silence flag with an adaptive threshold.
- The motion track: the mouth follows the loudness envelope (fast attack, slower release), parting a
  little just before each utterance that follows a pause (the mouth leads the sound by 100–300 ms at
  onsets) and staying shut in silence; the mouth widens for bright (front-vowel) spectra and narrows for
  dark (rounded) ones; the head nods at strong onsets and the brows rise at pitch peaks (head motion and
  brow raises go with prosody); blinks and head sway come from `idle.py` (docs/facts.md, "Tracks and control
  directions").
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import checks
from ..config import MAX_FPS, MAX_STRENGTH, StepProgress
from ..media.audio import FEATURE_RATE, SOUND_RATE, Audio, decode_audio
from .idle import RESTING_BLINK_RATE, TALKING_BLINK_RATE, idle_motion
from .style import styled
from .track import Track, output_frames

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


ATTACK_S = 0.015                   # s: time constant of the mouth opening with the envelope


RELEASE_S = 0.05                   # s: time constant of the mouth closing with it


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


def audio_features(audio: Audio, fps: float) -> dict[str, np.ndarray]:
    """Per-frame speech features, arrays of ceil(duration * fps) values (frame i shows [i / fps, (i + 1) / fps)).

    Keys: loudness (dB, speech band, a full-scale sine = -3 dB), flux (spectral flux: mean rise of the
    log spectrum since the previous frame, ≥ 0; peaks at onsets), pitch (Hz, 0 where unvoiced or
    silent), voicing (normalised autocorrelation peak, 0..1), centroid (Hz, speech-band spectral
    centroid), speech (bool, adaptive threshold over the whole clip; all False for silence).
    """
    fps = checks.number("fps", fps, 1, MAX_FPS)
    rate = audio.sample_rate
    n = output_frames(audio.duration, fps)
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
    fps = checks.number("fps", fps, 1, MAX_FPS)
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
    fps = checks.number("fps", fps, 1, MAX_FPS)
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


def audio_track(audio: Audio, fps: float, seed: int = 0, blink_rate: float | None = None,
                pose_scale: float = 1.0, expression_scale: float = 1.0, still: bool = False) -> Track:
    """The talking-face motion track of `audio`: ceil(duration * fps) frames at times i / fps.

    Channels: mouth_open, mouth_wide, brow (expression, times `expression_scale`), yaw, pitch, roll
    (head sway and nods, times `pose_scale`; all 0 when `still`), eye_l, eye_r (blinks at `blink_rate`
    per second; default `TALKING_BLINK_RATE` when the clip is mostly speech, else `RESTING_BLINK_RATE`).
    Deterministic for a `seed`.
    """
    fps = checks.number("fps", fps, 1, MAX_FPS)
    pose_scale = 0.0 if still else checks.number("The head motion scale", pose_scale, 0.0, MAX_STRENGTH)
    expression_scale = checks.number("The expression scale", expression_scale, 0.0, MAX_STRENGTH)
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


def talking_track(audio: Path, fps: int, seed: int, *, blink_rate: float | None = None, pose_scale: float = 1.0,
                  expression_scale: float = 1.0, still: bool = False, style: Path | None = None,
                  style_mode: str = "stats", progress: StepProgress | None = None) -> tuple[Track, Audio]:
    """The track of a face talking along with a sound file (ceil(duration × fps) frames), and the sound for the
    video. blink_rate: blinks a second (default: resting or talking rate)."""
    track = audio_track(decode_audio(audio, FEATURE_RATE), fps, seed=seed, blink_rate=blink_rate,
                        pose_scale=pose_scale, expression_scale=expression_scale, still=still)
    return styled(track, style, style_mode, seed, progress), decode_audio(audio, SOUND_RATE)



__all__ = ["audio_features", "mouth_motion", "gestures", "audio_track", "talking_track"]
