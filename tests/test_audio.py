"""Audio: decoding through ffmpeg, per-frame features, the audio-driven track (muxing: test_video.py)."""
import subprocess
import wave

import imageio_ffmpeg
import numpy as np
import pytest

from lganim import audio as audio_mod
from lganim.audio import Audio, audio_features, audio_track, decode_audio, gestures, has_audio, probe, write_wav
from lganim.errors import LganimError
from lganim.tracks import Track

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
BURSTS = [(0.5, 0.9), (1.4, 2.0), (2.6, 2.9), (3.5, 4.3)]      # s: voiced bursts of the synthetic speech
PITCHES = [120, 140, 160, 180]                                  # Hz: their fundamentals


def voiced(duration: float, rate: int, f0: float) -> np.ndarray:
    """A vowel-like tone: harmonics of f0 (3 Hz vibrato of ±5 %) shaped by formants near 700 and 1200 Hz."""
    t = np.arange(int(duration * rate)) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / rate
    x = np.zeros_like(t)
    for k in range(1, int(3400 / f0)):
        gain = np.exp(-((k * f0 - 700) / 300) ** 2) + 0.6 * np.exp(-((k * f0 - 1200) / 400) ** 2) + 0.05
        x += gain * np.sin(k * phase)
    fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)      # 10 ms ramps, no clicks
    return x / np.abs(x).max() * fade


def speechlike(total: float = 5.0, rate: int = 16000, noise_db: float = -50, seed: int = 0,
               bursts=BURSTS) -> np.ndarray:
    """Background noise with voiced bursts (default BURSTS with PITCHES) at 0.3 of full scale."""
    x = np.random.default_rng(seed).normal(0, 10 ** (noise_db / 20), int(total * rate))
    for i, (a, b) in enumerate(bursts):
        part = 0.3 * voiced(b - a, rate, PITCHES[i % len(PITCHES)])
        x[int(a * rate):int(a * rate) + len(part)] += part
    return x.astype(np.float32)


def ffmpeg(*args):
    subprocess.run([FFMPEG, "-y", "-hide_banner", "-loglevel", "error", "-nostdin", *map(str, args)], check=True)


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
    monkeypatch.setattr(audio_mod, "MAX_SECONDS", 1.5)
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

def test_features(speech_audio):
    fps = 30
    f = audio_features(speech_audio, fps)
    n = int(np.ceil(speech_audio.duration * fps))
    assert all(len(v) == n for v in f.values())
    frame_mid = (np.arange(n) + 0.5) / fps
    far = np.ones(n, bool)                                  # frames whose window holds no burst
    for a, b in BURSTS:
        far &= (frame_mid < a - 0.05) | (frame_mid > b + 0.05)
    for (a, b), f0 in zip(BURSTS, PITCHES):
        core = (frame_mid > a + 0.05) & (frame_mid < b - 0.05)
        assert f["speech"][core].all()
        assert abs(np.median(f["pitch"][core]) - f0) < 0.05 * f0
        assert f["voicing"][core].min() > 0.8
        assert f["loudness"][core].min() > f["loudness"][far].max() + 20
    assert not f["speech"][far].any() and not f["pitch"][far].any()
    onset_frames = [int(a * fps) for a, _ in BURSTS]
    assert all(f["flux"][i:i + 2].max() > 5 * np.median(f["flux"][far]) for i in onset_frames)


def test_all_silent_input(tmp_path):
    path = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", path)
    audio = decode_audio(path)
    f = audio_features(audio, 25)
    assert not f["speech"].any() and not f["pitch"].any()
    track = audio_track(audio, 25, seed=0)
    assert len(track) == 75 and not track.channel("mouth_open").any()
    noisy = Audio.from_array(np.random.default_rng(0).normal(0, 1e-3, 48000), 16000)   # steady hiss
    assert not audio_features(noisy, 25)["speech"].any()


# ------------------------------------------------------------------------------------------- audio track

@pytest.mark.parametrize("fps", [12, 25, 30, 60])
def test_mouth_follows_bursts(speech_audio, fps):
    track = audio_track(speech_audio, fps, seed=0)
    assert isinstance(track, Track) and len(track) == int(np.ceil(speech_audio.duration * fps))
    mouth = track.channel("mouth_open")
    t = track.t
    for a, b in BURSTS:
        near = np.flatnonzero((t >= a - 0.3) & (mouth > 0.1))
        assert abs(t[near[0]] - a) <= 1 / fps + 1e-9, (a, t[near[0]])         # opens within one frame
        assert mouth[(t > a + 0.1) & (t < b - 0.1)].min() > 0.15
        before = mouth[(t > a - 0.2) & (t < a - 1.5 / fps)]
        assert before.max() < 0.1                                               # only the lips part before
    silent = np.ones(len(t), bool)
    voiced = np.zeros(len(t), bool)
    for a, b in BURSTS:
        silent &= (t < a - 0.25) | (t > b + 0.25)
        voiced |= (t > a) & (t < b)
    assert mouth[silent].max() < 0.01
    assert mouth[voiced].mean() >= 2 * mouth[~voiced].mean()
    assert mouth.max() <= 0.5


def test_mouth_opens_within_a_frame_of_any_onset():
    rng = np.random.default_rng(1)
    starts = np.cumsum(rng.uniform(0.9, 1.6, 20))           # onsets anywhere within a frame
    bursts = [(a, a + rng.uniform(0.15, 0.6)) for a in starts]
    audio = Audio.from_array(speechlike(starts[-1] + 1.5, bursts=bursts), 16000)
    for fps in (25, 30):
        track = audio_track(audio, fps, seed=0)
        mouth, t = track.channel("mouth_open"), track.t
        for a, _ in bursts:
            first = t[np.flatnonzero((t >= a - 0.3) & (mouth > 0.1))[0]]
            assert abs(first - a) <= 1 / fps, (fps, a, first)


def test_anticipation_before_an_utterance(speech_audio):
    track = audio_track(speech_audio, 30, seed=0)
    mouth, t = track.channel("mouth_open"), track.t
    for a, _ in BURSTS:
        lead = mouth[(t >= a - 0.12) & (t < a - 0.02)]
        assert (lead > 0).all() and (lead < 0.1).all()


def test_track_channels_meta_and_determinism(speech_audio):
    a = audio_track(speech_audio, 25, seed=3)
    b = audio_track(speech_audio, 25, seed=3)
    c = audio_track(speech_audio, 25, seed=4)
    assert set(a.channels) == {"yaw", "pitch", "roll", "mouth_open", "mouth_wide", "eye_l", "eye_r", "brow"}
    assert all(np.array_equal(a.channels[k], b.channels[k]) for k in a.channels)
    assert not np.array_equal(a.channel("yaw"), c.channel("yaw"))
    assert a.meta["source"] == "audio" and a.meta["seed"] == 3 and a.meta["fps"] == 25
    assert a.valid.all() and a.t[1] == pytest.approx(1 / 25)
    # nods (chin down) only around onsets, and a brow raise at the highest pitch
    nods = gestures(audio_features(speech_audio, 25), 25, seed=3)["pitch"]
    assert nods.max() <= 0 and nods.min() < -1.0
    near_onset = np.zeros(len(nods), bool)
    for start, _ in BURSTS:
        near_onset |= (a.t > start - 0.3) & (a.t < start + 0.8)
    assert not nods[~near_onset].any() and nods[~near_onset].size
    assert a.channel("brow").max() > 0.02 and a.channel("brow").min() >= 0
    last = (a.t > BURSTS[-1][0] - 0.5) & (a.t < BURSTS[-1][1] + 0.5)
    assert a.channel("brow")[last].max() == a.channel("brow").max()            # the 180 Hz burst


def test_still_and_scales(speech_audio):
    still = audio_track(speech_audio, 25, seed=1, still=True)
    assert not any(still.channel(k).any() for k in ("yaw", "pitch", "roll"))
    assert still.channel("mouth_open").any() and still.meta["still"] is True
    base = audio_track(speech_audio, 25, seed=1)
    big = audio_track(speech_audio, 25, seed=1, expression_scale=2.0, pose_scale=0.5)
    assert np.allclose(big.channel("mouth_open"), 2 * base.channel("mouth_open"))
    assert np.allclose(big.channel("yaw"), 0.5 * base.channel("yaw"))
    quiet = audio_track(speech_audio, 25, seed=1, blink_rate=0.0)
    assert not quiet.channel("eye_l").any()
    for bad in (dict(fps=0), dict(fps=500), dict(pose_scale=-1), dict(expression_scale=float("inf")),
                dict(seed=-2), dict(blink_rate=5.0)):
        with pytest.raises(LganimError):
            audio_track(speech_audio, **(dict(fps=25) | bad))


def test_track_saves(tmp_path, speech_audio):
    track = audio_track(speech_audio, 25, seed=0)
    back = Track.load(track.save(tmp_path / "talk.json"))
    assert back.meta == track.meta and np.array_equal(back.channel("mouth_open"), track.channel("mouth_open"))
