"""Text to speech with espeak-ng, and the mouth motion of its phonemes.

espeak-ng is GPL-3, so lganim never ships or links it: the installed shared library is loaded with
ctypes at run time, the first time a sentence is spoken. One synthesis gives both the sound and the
exact time of every phoneme in it: the library is initialised for synchronous output with phoneme
events (`espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, espeakINITIALIZE_PHONEME_EVENTS)`), and
the synthesis callback receives the 16-bit samples and, with them, `espeakEVENT_PHONEME` events that
carry the phoneme mnemonic and its `audio_position` in ms. (The command line cannot give these
timings: `--pho` needs MBROLA voices and `-x` prints phonemes without times.) The structure layout
below is the one of `speak_lib.h` (API revision 12, espeak-ng 1.51).

Each phoneme is mapped to one of Rhubarb Lip Sync's nine mouth shapes (A–H and X, rest), each shape to
targets for mouth_open, mouth_wide and smile. Each phoneme holds its target between two key frames
(one, at its middle, when it is short) and the mouth eases (cosine) from key to key: neighbouring
sounds blend (coarticulation), the lips part before the first sound of an utterance and close after
the last, and the tongue-and-teeth consonants that show little on the lips (t, d, k, n, s, ...) only
pull the mouth halfway to their shape. Lip closures (p, b, m) are kept exact on the frame nearest their
middle, so they are never blended away.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import threading
from pathlib import Path

import numpy as np

from .. import checks
from ..config import MAX_FPS, MAX_PROMPT_CHARS, MAX_STRENGTH, StepProgress
from ..errors import LganimError
from ..media.audio import Audio, write_wav
from .audio import audio_features, gestures
from .idle import TALKING_BLINK_RATE, idle_motion
from .style import styled
from .track import Track, output_frames

RATES = (80, 450)                  # words per minute (espeakRATE_MINIMUM, espeakRATE_MAXIMUM)
DEFAULT_RATE = 175                 # words per minute (espeakRATE_NORMAL)
DEFAULT_VOICE = "en"
INSTALL_HINT = "install it with `apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng` (macOS)"
LIBRARIES = ("libespeak-ng.so.1", "libespeak-ng.so", "libespeak-ng.1.dylib", "libespeak-ng.dylib")

# Mouth shapes (the letters of Rhubarb Lip Sync) -> (mouth_open, mouth_wide, smile) targets.
SHAPES: dict[str, tuple[float, float, float]] = {
    "X": (0.0, 0.0, 0.0),          # rest, in pauses
    "A": (0.0, -0.02, 0.0),        # lips pressed together: p, b, m
    "B": (0.08, 0.06, 0.01),       # teeth almost closed, lips spread: "ee", most consonants
    "C": (0.24, 0.04, 0.01),       # open: "bed", "bat", "bit", schwa
    "D": (0.40, 0.02, 0.0),        # wide open: "father", "eye", "cow"
    "E": (0.22, -0.08, 0.0),       # slightly rounded: "off", "bird", "go"
    "F": (0.10, -0.16, 0.0),       # puckered: "you", "w", "book"
    "G": (0.04, 0.0, 0.0),         # upper teeth on the lower lip: f, v
    "H": (0.18, 0.02, 0.0),        # tongue raised behind open teeth: l
}
# espeak-ng mnemonics whose shape the first letter does not tell (English diphthongs and specials)
_EXACT = {"aI": "D", "aU": "D", "A:": "D", "A@": "D", "aa": "D", "V": "C", "a": "C", "a#": "C",
          "0": "E", "3:": "E", "3": "E", "oU": "E", "OI": "E", "i": "B", "i:": "B", "i@": "B", "I": "C",
          "I2": "C", "I#": "C", "U": "F", "U@": "F", "@L": "H", "w": "F", "W": "F", "y": "F", "y:": "F", "j": "B"}
# first letter -> shape, for the rest (and other languages' phonemes)
_FIRST = {**dict.fromkeys("pbm", "A"), **dict.fromkeys("fv", "G"), **dict.fromkeys("lL", "H"),
          **dict.fromkeys("aA", "D"), **dict.fromkeys("eE@&I", "C"), **dict.fromkeys("oO0QY", "E"),
          **dict.fromkeys("uUwW", "F"), "i": "B", "_": "X"}
_VOWEL_START = set("aAeEiIoOuUVyY@3&0Q")
WEAK = 0.5                         # how far a lip-neutral consonant pulls the mouth toward its own shape
TRANSITION_S = 0.06                # s: time to move from one phoneme's shape to the next one's
PAUSE_EASE_S = 0.15                # s: the mouth closes / parts this long after / before the sound


def phoneme_shape(phoneme: str) -> str:
    """Mouth shape letter (A–H, X) of an espeak-ng phoneme mnemonic (e.g. "p" -> "A", "aI" -> "D", "_:" -> "X")."""
    phoneme = phoneme.strip()
    if not phoneme:
        return "X"
    return _EXACT.get(phoneme) or _FIRST.get(phoneme[0], "B")


def _is_weak(phoneme: str) -> bool:
    """A consonant that shows little on the lips (shape B without being a vowel)."""
    return phoneme_shape(phoneme) == "B" and phoneme[:1] not in _VOWEL_START and phoneme not in _EXACT


# ------------------------------------------------------------------------------------- espeak-ng (ctypes)

class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):    # espeak_EVENT
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS, _INITIALIZE_DONT_EXIT = 0x0001, 0x8000
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_POS_CHARACTER, _CHARS_UTF8, _RATE = 1, 1, 1


class _Engine:
    """The espeak-ng library, initialised once per process; synthesis is serialised by a lock."""

    def __init__(self):
        lib = None
        for name in LIBRARIES + tuple(filter(None, [ctypes.util.find_library("espeak-ng")])):
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if lib is None:
            raise LganimError(f"Text to speech needs espeak-ng, which is not installed: {INSTALL_HINT}.")
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                                 _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise LganimError(f"espeak-ng is installed but could not start (its voice data is missing): "
                              f"reinstall it; {INSTALL_HINT}.")
        self.lib = lib
        self.callback = _CALLBACK(self._receive)       # kept alive as long as the library may call it
        lib.espeak_SetSynthCallback(self.callback)
        self.lock = threading.Lock()
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []

    def _receive(self, wav, count, events) -> int:
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events and events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_PHONEME:
                self.events.append((events[i].audio_position, events[i].id.string.decode("utf-8", "replace")))
            i += 1
        return 0                                        # continue synthesis

    def synthesize(self, text: str, voice: str, rate: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """int16 [N] samples at `sample_rate` and the phoneme events [(ms, mnemonic)] of `text`."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise LganimError(f"espeak-ng has no voice '{voice}'; list them with `espeak-ng --voices` "
                                  "(e.g. en, en-us, fr, de).")
            self.lib.espeak_SetParameter(_RATE, rate, 0)
            self.chunks, self.events = [], []
            data = text.encode("utf-8")
            status = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise LganimError(f"espeak-ng failed to speak the sentence (error {status}); try a shorter one.")
            samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)
            return samples, self.events


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE


def available() -> bool:
    """True when espeak-ng can be loaded (for tests and the UI: offer text to speech or not)."""
    try:
        _engine()
    except LganimError:
        return False
    return True


def say(text: str, wav_path=None, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE) \
        -> tuple[Audio, list[tuple[float, str]]]:
    """Speak `text` with espeak-ng: the sound and its phoneme events [(start time s, mnemonic)].

    voice: an espeak-ng voice, named by language ("en", "en-us", "fr", "de", ...; a variant after "+",
    e.g. "en+f3"). rate: words per minute, 80–450. wav_path: if given, the sound is also written there
    (16-bit WAV, atomically). Events are in time order, strictly increasing, within the sound; pauses
    are phonemes starting with "_".
    """
    text = " ".join(str(text).replace("\0", " ").split())
    if not text:
        raise LganimError("The sentence is empty: type what the face should say.")
    if len(text) > MAX_PROMPT_CHARS:
        raise LganimError(f"The sentence has {len(text)} characters; text to speech takes at most {MAX_PROMPT_CHARS}: "
                          "shorten it.")
    if not isinstance(voice, str) or not re.fullmatch(r"[A-Za-z0-9_+-]{1,40}", voice):
        raise LganimError(f"The voice must be an espeak-ng voice name such as en, en-us or fr, got {voice!r}.")
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or not RATES[0] <= rate <= RATES[1]:
        raise LganimError(f"The speaking rate must be a whole number of words per minute from {RATES[0]} "
                          f"to {RATES[1]}, got {rate!r}.")
    engine = _engine()
    samples, raw = engine.synthesize(text, voice, int(rate))
    spoken = [ph for _, ph in raw if not ph.startswith("_")]
    if samples.size == 0 or not spoken or not np.any(samples):
        raise LganimError(f"espeak-ng produced no speech for {text[:40]!r}; write words in the voice's language.")
    audio = Audio.from_array(samples, engine.sample_rate)
    events: list[tuple[float, str]] = []
    for ms, phoneme in sorted(raw, key=lambda e: e[0]):    # stable: the later of two equal times wins
        t = min(ms / 1000, audio.duration)
        if events and t <= events[-1][0]:
            events.pop()                                    # a zero-length phoneme
        events.append((t, phoneme))
    if wav_path is not None:
        write_wav(audio, wav_path)
    return audio, events


# ------------------------------------------------------------------------------------------ mouth motion

def _keys(events: list[tuple[float, str]], duration: float) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Key frames of the mouth: times [K] (s), values [K, 3] (open, wide, smile), and lip-closure times."""
    starts = [t for t, _ in events] + [duration]
    segments = [(a, b, ph) for (a, ph), b in zip(events, starts[1:]) if b > a]
    if not segments or segments[0][0] > 0:                  # silence before the first sound
        segments.insert(0, (0.0, segments[0][0] if segments else duration, "_"))
    if segments[-1][1] < duration:
        segments.append((segments[-1][1], duration, "_"))
    targets = [np.array(SHAPES[phoneme_shape(ph)]) for _, _, ph in segments]
    times, values, closures = [], [], []
    for i, (a, b, ph) in enumerate(segments):
        shape = phoneme_shape(ph)
        value = targets[i]
        if _is_weak(ph):
            neighbours = [targets[j] for j in (i - 1, i + 1) if 0 <= j < len(segments)]
            value = WEAK * value + (1 - WEAK) * np.mean(neighbours, axis=0)
        # the shape is held between two keys, reached TRANSITION_S after the start and left as long
        # before the end (rest: PAUSE_EASE_S); a short phoneme has one key at its middle
        ease = min(PAUSE_EASE_S if shape == "X" else TRANSITION_S, (b - a) / 2)
        times += [a + ease, b - ease]
        values += [value, value]
        if shape == "A":
            closures.append((a + b) / 2)
    times, values = np.array(times), np.array(values)
    keep = np.concatenate([[True], np.diff(times) > 0])     # a short segment gives two equal times
    return times[keep], values[keep], closures


def viseme_motion(events: list[tuple[float, str]], duration: float, fps: float) -> dict[str, np.ndarray]:
    """mouth_open, mouth_wide, smile float64 [ceil(duration * fps)] from phoneme events [(start s, mnemonic)].

    Frame i is sampled at the middle of its display interval, (i + 0.5) / fps.
    """
    if not math.isfinite(duration) or duration <= 0:
        raise LganimError(f"The speech duration must be a positive number of seconds, got {duration!r}.")
    fps = checks.number("fps", fps, 1, MAX_FPS)
    times, values, closures = _keys(sorted(events, key=lambda e: e[0]), duration)
    n = output_frames(duration, fps)
    t = (np.arange(n) + 0.5) / fps                           # [n] s
    right = np.clip(np.searchsorted(times, t, side="right"), 1, len(times) - 1)   # key after each frame
    left = right - 1
    span = times[right] - times[left]
    s = np.clip((t - times[left]) / np.where(span > 0, span, 1), 0, 1)
    ease = (0.5 - 0.5 * np.cos(math.pi * s))[:, None]                              # [n, 1] cosine ease
    mouth = (1 - ease) * values[left] + ease * values[right]                       # [n, 3]
    for c in closures:                                       # lips shut on the frame nearest a p/b/m
        i = min(n - 1, max(0, round(c * fps - 0.5)))
        mouth[i] = SHAPES["A"]
    return {"mouth_open": mouth[:, 0], "mouth_wide": mouth[:, 1], "smile": mouth[:, 2]}


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """`x` cut or zero-padded to `n` values (the sound's frame count may differ from the track's by one)."""
    return np.pad(x, (0, max(0, n - len(x))))[:n]


def speech_track(events: list[tuple[float, str]], duration: float, fps: float, seed: int = 0,
                 audio: Audio | None = None, blink_rate: float = TALKING_BLINK_RATE, pose_scale: float = 1.0,
                 expression_scale: float = 1.0, still: bool = False) -> Track:
    """The talking-face track of synthesised speech: ceil(duration * fps) frames at times i / fps.

    Mouth channels come from the phoneme events (`viseme_motion`), times `expression_scale`; blinks and
    head sway from `idle.py` (blinks gather in the pauses); with the `audio` of the same synthesis,
    also the nods and brow raises of `lganim.audio.gestures`. `still`: no head motion.
    """
    if not events:
        raise LganimError("There are no phoneme events; speak a sentence with lganim.speech.say first.")
    pose_scale = 0.0 if still else checks.number("The head motion scale", pose_scale, 0.0, MAX_STRENGTH)
    expression_scale = checks.number("The expression scale", expression_scale, 0.0, MAX_STRENGTH)
    events = sorted(events, key=lambda e: e[0])
    mouth = viseme_motion(events, duration, fps)
    n = len(mouth["mouth_open"])
    t = np.arange(n) / fps
    times = np.array([e[0] for e in events] + [duration])
    sounding = np.array([not ph.startswith("_") for _, ph in events])
    talking = sounding[np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(events) - 1)]
    idle = idle_motion(n, fps, seed, blink_rate=blink_rate, sway=pose_scale, talking=talking)
    pitch, brow = idle["pitch"], np.zeros(n)
    if audio is not None:
        gesture = gestures(audio_features(audio, fps), fps, np.random.SeedSequence([seed, 1]), pose_scale,
                           expression_scale)
        pitch, brow = pitch + _fit_length(gesture["pitch"], n), _fit_length(gesture["brow"], n)
    channels = {"yaw": idle["yaw"], "pitch": pitch, "roll": idle["roll"],
                **{k: expression_scale * v for k, v in mouth.items()},
                "eye_l": idle["eye_l"], "eye_r": idle["eye_r"], "brow": brow}
    meta = {"source": "speech", "seed": int(seed), "fps": float(fps), "duration": float(duration),
            "phonemes": int(sounding.sum()), "blink_rate": float(blink_rate), "pose_scale": pose_scale,
            "expression_scale": float(expression_scale), "still": bool(still)}
    return Track(fps=fps, t=t, channels=channels, valid=np.ones(n, dtype=bool), meta=meta)


def speaking_track(text: str, fps: int, seed: int, *, voice: str = "en", rate: int = 175,
                   blink_rate: float | None = None, pose_scale: float = 1.0, expression_scale: float = 1.0,
                   still: bool = False, style: Path | None = None, style_mode: str = "stats",
                   progress: StepProgress | None = None) -> tuple[Track, Audio]:
    """The track of a face saying `text` (espeak-ng speech, mouth shapes from its phonemes), and the speech."""
    sound, events = say(text, voice=voice, rate=rate)
    kwargs = {} if blink_rate is None else {"blink_rate": blink_rate}
    track = speech_track(events, sound.duration, fps, seed=seed, audio=sound, pose_scale=pose_scale,
                         expression_scale=expression_scale, still=still, **kwargs)
    return styled(track, style, style_mode, seed, progress), sound


__all__ = ["SHAPES", "available", "phoneme_shape", "say", "speech_track", "viseme_motion", "speaking_track"]
