"""Text to speech: espeak-ng through ctypes (skipped where it is not installed), phonemes -> mouth shapes."""
import ctypes.util

import numpy as np
import pytest

from lganim.config import MAX_PROMPT_CHARS
from lganim.errors import LganimError
from lganim.media.audio import decode_audio
from lganim.tracks import speech
from lganim.tracks.audio import audio_track
from lganim.tracks.speech import SHAPES, phoneme_shape, say, speech_track, viseme_motion

needs_espeak = pytest.mark.skipif(not speech.available(),
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")

# Recorded from espeak-ng 1.51, voice en-us, 175 words/min: "My mom made a cheap blue pie." (1.545 s)
DURATION = 1.545
EVENTS = [(0.0, "m"), (0.072, "aI"), (0.138, "m"), (0.213, "0"), (0.315, "m"), (0.402, "m"), (0.465, "eI"),
          (0.544, "d"), (0.593, "a#"), (0.696, "tS"), (0.755, "i:"), (0.907, "p"), (1.016, "b"), (1.033, "l"),
          (1.106, "u:"), (1.236, "p"), (1.268, "aI"), (1.538, "_:"), (1.545, "_")]


def segment(phoneme: str, nth: int = 0) -> tuple[float, float]:
    """Start and end (s) of the nth occurrence of `phoneme` in EVENTS."""
    ends = [t for t, _ in EVENTS[1:]] + [DURATION]
    spans = [(t, end) for (t, ph), end in zip(EVENTS, ends) if ph == phoneme]
    return spans[nth]


def test_phoneme_shapes():
    for phonemes, shape in [("p b m", "A"), ("f v", "G"), ("aI aU A: aa", "D"), ("u: U w", "F"),
                            ("i: i j", "B"), ("l @L", "H"), ("_ _: _|", "X"), ("O: 0 oU 3:", "E"),
                            ("E e eI @ a#", "C"), ("t d k s z n N tS dZ S Z T D h r", "B"),
                            ("O~ y: Y: e- @-", None)]:
        for ph in phonemes.split():
            if shape is not None:
                assert phoneme_shape(ph) == shape, ph
            assert phoneme_shape(ph) in SHAPES      # French/German phonemes get a shape too


def test_visemes_on_recorded_events():
    fps = 30
    mouth = viseme_motion(EVENTS, DURATION, fps)
    n = int(np.ceil(DURATION * fps))
    assert all(len(v) == n for v in mouth.values())
    mid = (np.arange(n) + 0.5) / fps
    for ph, count in [("m", 4), ("p", 2), ("b", 1)]:           # lips shut at every p, b, m
        for k in range(count):
            a, b = segment(ph, k)
            assert mouth["mouth_open"][np.argmin(np.abs(mid - (a + b) / 2))] == 0.0, (ph, k)
    a, b = segment("aI", 1)                                    # "pie": wide open
    assert mouth["mouth_open"][(mid > a + 0.05) & (mid < b - 0.05)].min() > 0.3
    a, b = segment("u:")                                       # "blue": rounded
    assert mouth["mouth_wide"][np.argmin(np.abs(mid - (a + b) / 2))] < -0.1
    a, b = segment("i:")                                       # "cheap": spread
    assert mouth["mouth_wide"][np.argmin(np.abs(mid - (a + b) / 2))] > 0.03
    assert mouth["mouth_open"].max() <= 0.41 and mouth["mouth_open"].min() >= 0
    # coarticulation: no jumps between frames bigger than the full range of one shape change
    assert np.abs(np.diff(mouth["mouth_open"])).max() <= 0.41


def test_pauses_close_the_mouth():
    events = [(0.0, "_"), (0.5, "h"), (0.6, "aI"), (0.9, "_:"), (2.0, "h"), (2.1, "aI"), (2.4, "_")]
    fps = 25
    mouth = viseme_motion(events, 3.0, fps)["mouth_open"]
    mid = (np.arange(len(mouth)) + 0.5) / fps
    assert not mouth[mid < 0.35].any()                          # rest before the first sound
    assert not mouth[(mid > 1.05) & (mid < 1.85)].any()         # rest in the long pause
    assert not mouth[mid > 2.55].any()                          # and after the last sound
    assert 0 < mouth[np.argmin(np.abs(mid - 0.45))] < 0.2       # the lips part just before speaking


def test_speech_track_from_events():
    track = speech_track(EVENTS, DURATION, 25, seed=2)
    assert len(track) == int(np.ceil(DURATION * 25)) and track.meta["source"] == "speech"
    assert set(track.channels) == {"yaw", "pitch", "roll", "mouth_open", "mouth_wide", "smile", "eye_l", "eye_r",
                                   "brow"}
    again = speech_track(EVENTS, DURATION, 25, seed=2)
    assert all(np.array_equal(track.channels[k], again.channels[k]) for k in track.channels)
    still = speech_track(EVENTS, DURATION, 25, seed=2, still=True, expression_scale=0.5)
    assert not any(still.channel(k).any() for k in ("yaw", "pitch", "roll"))
    assert np.allclose(still.channel("mouth_open"), 0.5 * track.channel("mouth_open"))
    for bad in (dict(events=[]), dict(duration=0.0), dict(fps=0), dict(pose_scale=-1.0)):
        with pytest.raises(LganimError):
            speech_track(**(dict(events=EVENTS, duration=DURATION, fps=25) | bad))


def test_missing_espeak_says_how_to_install(monkeypatch):
    monkeypatch.setattr(speech, "_ENGINE", None)
    monkeypatch.setattr(speech, "LIBRARIES", ("libespeak-ng-not-here.so.1",))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(LganimError, match="apt-get install espeak-ng"):
        say("Hello.")
    assert not speech.available()


def test_refused_sentences_before_synthesis():
    for text, words in [("", "empty"), ("   \n\t", "empty"), ("a" * (MAX_PROMPT_CHARS + 1), "at most 1000")]:
        with pytest.raises(LganimError, match=words):
            say(text)
    for kwargs in (dict(voice=""), dict(voice="en us; rm"), dict(rate=20), dict(rate=1000), dict(rate=1.5)):
        with pytest.raises(LganimError):
            say("Hello.", **kwargs)


@needs_espeak
def test_say_gives_sound_and_phoneme_times(tmp_path):
    audio, events = say("Peter picked a bushel of pickled peppers, my mom said.", tmp_path / "s.wav",
                        voice="en-us", rate=175)
    assert audio.sample_rate == 22050 and 2.0 < audio.duration < 5.0
    assert np.abs(audio.samples).max() > 0.1
    times = np.array([t for t, _ in events])
    assert times[0] >= 0 and times[-1] <= audio.duration and (np.diff(times) > 0).all()
    phonemes = {ph for _, ph in events}
    assert {"p", "b", "m"} <= phonemes
    back = decode_audio(tmp_path / "s.wav", 22050)
    assert abs(back.duration - audio.duration) < 1e-3
    # a faster rate gives a shorter sentence
    fast, _ = say("Peter picked a bushel of pickled peppers, my mom said.", voice="en-us", rate=300)
    assert fast.duration < 0.8 * audio.duration


@needs_espeak
def test_say_errors():
    with pytest.raises(LganimError, match="no voice 'xx-nope'"):
        say("Hello.", voice="xx-nope")
    with pytest.raises(LganimError, match="no speech"):
        say("... ?!")
    audio, events = say("Bonjour, je m'appelle Pierre.", voice="fr")     # other languages work too
    assert audio.duration > 0.5 and len(events) > 10


@needs_espeak
def test_speech_track_agrees_with_the_sound():
    audio, events = say("The quick brown fox jumps over the lazy dog, and then it runs away.", voice="en")
    fps = 30
    track = speech_track(events, audio.duration, fps, seed=0, audio=audio)
    heard = audio_track(audio, fps, seed=0)
    assert len(track) == len(heard)
    # the mouth of the phonemes and the mouth of the loudness envelope move together, without lag
    lags = range(-3, 4)
    corr = [np.corrcoef(np.roll(track.channel("mouth_open"), k), heard.channel("mouth_open"))[0, 1] for k in lags]
    assert max(corr) > 0.55 and abs(list(lags)[int(np.argmax(corr))]) <= 1
    assert track.channel("brow").any() or track.channel("pitch").min() < -1      # prosodic gestures
