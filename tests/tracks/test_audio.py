"""What speech makes a face do: per-frame features and the talking-face track."""
import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.media.audio import Audio, decode_audio
from lganim.tracks.audio import audio_features, audio_track, gestures
from lganim.tracks.track import Track
from tests.synth import BURSTS, PITCHES, ffmpeg, speechlike


@pytest.fixture(scope="module")
def speech_audio():
    return Audio.from_array(speechlike(), 16000)


# ----------------------------------------------------------------------------------------------- decoding

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
