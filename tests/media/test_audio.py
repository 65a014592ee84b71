"""Decoding any sound to mono float32, and writing WAV."""
import wave

import numpy as np
import pytest

import lganim.media.audio
from lganim.errors import LganimError
from lganim.media.audio import Audio, decode_audio, has_audio, write_wav
from lganim.media.ffmpeg import probe
from tests.synth import ffmpeg, speechlike

pytestmark = pytest.mark.slow                # every test here runs ffmpeg (a subprocess)


@pytest.fixture(scope="module")
def speech_audio():
    return Audio.from_array(speechlike(), 16000)


# ----------------------------------------------------------------------------------------------- decoding

@pytest.mark.parametrize("name, source, codec, rate, channels", [
    ("a.wav", "sine=f=220:d=2:sample_rate=8000", [], 8000, 1),
    ("b.wav", "sine=f=220:d=2:sample_rate=96000", ["-ac", "6"], 96000, 6),
    ("c.mp3", "sine=f=220:d=2:sample_rate=44100", ["-ac", "2"], 44100, 2),
    ("d.m4a", "sine=f=220:d=2:sample_rate=48000", [], 48000, 1),
    ("e.opus", "sine=f=220:d=2:sample_rate=48000", ["-c:a", "libopus"], 48000, 1),
    ("f.ogg", "sine=f=220:d=2:sample_rate=22050", ["-c:a", "libvorbis"], 22050, 1),
    ("g.flac", "sine=f=220:d=2:sample_rate=32000", [], 32000, 1),
])
def test_decode_formats(tmp_path, name, source, codec, rate, channels):
    path = tmp_path / name
    ffmpeg("-f", "lavfi", "-i", source, *codec, path)
    audio = decode_audio(path)
    assert audio.sample_rate == 16000 and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.source_rate == rate and audio.channels == channels
    assert abs(audio.duration - 2.0) < 0.06
    middle = audio.samples[4000:28000]
    assert 0.03 < np.sqrt(np.mean(middle ** 2)) < 1       # the tone survives the mix to mono
    assert has_audio(path)


def test_decode_video_sound_and_rates(tmp_path):
    path = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=d=1.5:s=64x64:r=25", "-f", "lavfi", "-i", "sine=f=300:d=1.5",
           "-pix_fmt", "yuv420p", "-shortest", path)
    info = probe(path)
    assert info.has_video and info.has_audio and abs(info.duration - 1.5) < 0.05
    for rate in (8000, 22050, 48000):
        audio = decode_audio(path, rate)
        assert audio.sample_rate == rate and abs(audio.duration - 1.5) < 0.05


def test_decode_refuses_bad_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not sound\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.wav"                   # a valid WAV header and no samples
    with wave.open(str(header_only), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    good = tmp_path / "good.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=d=2", good)
    data = good.read_bytes()
    broken_start = tmp_path / "broken_start.mp3"            # only the tag and the first frames survive
    broken_start.write_bytes(data[:400] + b"\xff" * (len(data) - 400))
    broken_body = tmp_path / "broken_body.mp3"              # the frames after the first few are destroyed
    broken_body.write_bytes(data[:600] + b"\xff" * (len(data) - 600))
    silent_video = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=d=1:s=64x64", "-pix_fmt", "yuv420p", silent_video)
    unreadable = "not an audio or video file lganim can read"
    for path, words in [(text, unreadable), (empty, unreadable), (header_only, "no sound samples"),
                        (broken_start, unreadable), (broken_body, "damaged"), (silent_video, "no audio track"),
                        (tmp_path / "missing.wav", "does not exist"), (tmp_path, "not a file")]:
        with pytest.raises(LganimError) as err:
            decode_audio(path)
        message = str(err.value)
        assert words in message and "\n" not in message, (path.name, message)


def test_playlists_are_not_followed(tmp_path):
    write_wav(Audio.from_array(np.full(16000, 0.5, np.float32), 16000), tmp_path / "other.wav")
    for name, text in [("concat.mp3", "ffconcat version 1.0\nfile 'other.wav'\n"),
                       ("list.m4a", "#EXTM3U\n#EXTINF:1,\nother.wav\n")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(LganimError, match="not an audio or video file"):
            decode_audio(tmp_path / name)


def test_three_hours_refused_from_the_header(tmp_path):
    # a one-second FLAC whose STREAMINFO claims three hours of 8 kHz samples
    path = tmp_path / "long.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "1", path)
    data = bytearray(path.read_bytes())
    field = int.from_bytes(data[18:26], "big")             # sample rate, channels, bits, 36-bit sample count
    data[18:26] = ((field >> 36 << 36) | 3 * 3600 * 8000).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    assert probe(path).duration == 3 * 3600
    with pytest.raises(LganimError, match="10800 s; lganim takes at most 300 s"):
        decode_audio(path)


def test_limit_checked_on_a_small_file(tmp_path, monkeypatch):
    path = tmp_path / "two.wav"
    write_wav(Audio.from_array(np.zeros(32000, np.float32), 16000), path)
    monkeypatch.setattr(lganim.media.audio, "MAX_AUDIO_SECONDS", 1.5)
    with pytest.raises(LganimError, match="lasts 2 s; lganim takes at most 1.5 s"):
        decode_audio(path)


def test_bad_rates(tmp_path):
    path = tmp_path / "low.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1:sample_rate=4000", path)
    with pytest.raises(LganimError, match="4000 Hz"):
        decode_audio(path)
    with pytest.raises(LganimError, match="sample rate"):
        decode_audio(path, 1000)
    with pytest.raises(LganimError):
        Audio.from_array(np.zeros(10), 44)
    with pytest.raises(LganimError):
        Audio.from_array(np.zeros(0), 16000)
    with pytest.raises(LganimError):
        Audio.from_array(np.full(10, np.nan), 16000)
    with pytest.raises(LganimError, match="numbers"):
        Audio.from_array(np.array(["a", "b"]), 16000)


def test_wav_round_trip(tmp_path, speech_audio):
    path = write_wav(speech_audio, tmp_path / "speech.wav")
    back = decode_audio(path)
    assert back.samples.shape == speech_audio.samples.shape
    assert np.abs(back.samples - speech_audio.samples).max() < 1e-3
    stereo = Audio.from_array(np.stack([np.ones(100), -np.ones(100)], axis=1) * 0.5, 16000)
    assert stereo.channels == 2 and not stereo.samples.any()
    assert list(tmp_path.iterdir()) == [path]               # no temporary file left


# ----------------------------------------------------------------------------------------------- features

