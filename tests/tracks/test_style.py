"""Style reference: statistics of a tracked clip, applied to a driven track, or its head pose copied."""
import math

import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.tracks.idle import CLOSED, idle_motion
from lganim.tracks.style import StyleStats, apply_style, copy_pose, style_stats
from lganim.tracks.track import Track

FPS = 30


def reference(seconds: float = 20.0, blink_every: float = 2.0, invalid: bool = False) -> Track:
    """A tracked-looking clip with known habits: yaw 6 + 4 sin(2π 0.25 t), pitch 2 (1 - cos(2π 0.5 t)),
    a 0.12-amplitude mouth at 4 Hz, a blink (5 frames shut) every `blink_every` s from 1 s on."""
    t = np.arange(int(seconds * FPS)) / FPS
    eye = np.zeros(len(t))
    for start in np.arange(1.0, seconds - 0.5, blink_every):
        i = int(start * FPS)
        eye[i:i + 5] = CLOSED
    channels = {"yaw": 6 + 4 * np.sin(2 * math.pi * 0.25 * t), "pitch": 2 * (1 - np.cos(2 * math.pi * 0.5 * t)),
                "roll": 0.5 * np.sin(2 * math.pi * 0.1 * t), "tx": 0.01 * np.sin(2 * math.pi * 0.2 * t),
                "mouth_open": 0.12 * (1 + np.sin(2 * math.pi * 4 * t)), "eye_l": eye, "eye_r": eye.copy()}
    valid = np.ones(len(t), bool)
    if invalid:                                   # the face was lost for a while: garbage values, flagged
        valid[100:130] = False
        for v in channels.values():
            v[100:130] = 100.0
    return Track(fps=FPS, t=t, channels=channels, valid=valid, meta={"source": "video"})


def driven(seconds: float = 60.0, seed: int = 0) -> Track:
    """An audio-like track: quick head sway, mouth bursts, resting blinks."""
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    idle = idle_motion(n, FPS, seed)
    mouth = np.clip(np.sin(2 * math.pi * 3 * t), 0, None) * 0.3 * ((t % 4) < 3)
    channels = {"yaw": idle["yaw"], "pitch": idle["pitch"], "roll": idle["roll"], "mouth_open": mouth,
                "mouth_wide": 0.02 * np.sin(2 * math.pi * 1.3 * t), "eye_l": idle["eye_l"], "eye_r": idle["eye_r"],
                "brow": 0.03 * np.clip(np.sin(2 * math.pi * 0.2 * t), 0, None)}
    return Track(fps=FPS, t=t, channels=channels, valid=np.ones(n, bool), meta={"source": "audio", "seed": seed})


def test_stats_of_a_known_clip():
    stats = style_stats(reference())
    assert isinstance(stats, StyleStats) and stats.duration == pytest.approx(20.0)
    assert stats.amplitude["yaw"] == pytest.approx(4 / math.sqrt(2), rel=0.02)
    assert stats.amplitude["mouth_open"] == pytest.approx(0.12 / math.sqrt(2), rel=0.02)
    # a sinusoid's autocorrelation is cos(2π f τ): it falls to 1/e at arccos(1/e) / (2π f)
    assert stats.rhythm["yaw"] == pytest.approx(math.acos(1 / math.e) / (2 * math.pi * 0.25), rel=0.05)
    assert stats.rhythm["mouth_open"] == pytest.approx(math.acos(1 / math.e) / (2 * math.pi * 4), rel=0.1)
    assert stats.blink_rate == pytest.approx(10 / 20, rel=0.01)
    assert stats.pose_mean["yaw"] == pytest.approx(0.0, abs=0.1)       # its first frame is its mean
    assert stats.pose_mean["pitch"] == pytest.approx(2.0, abs=0.05)
    assert stats.to_dict()["amplitude"]["yaw"] == stats.amplitude["yaw"]


def test_stats_ignore_lost_frames():
    clean, lost = style_stats(reference()), style_stats(reference(invalid=True))
    assert lost.amplitude["yaw"] == pytest.approx(clean.amplitude["yaw"], rel=0.05)
    assert lost.blink_rate == pytest.approx(clean.blink_rate, rel=0.15)


def test_stats_refuse_short_or_unusable_references():
    with pytest.raises(LganimError, match="at least 2 s"):
        style_stats(reference(seconds=1.5))
    short = reference()
    short.valid[45:] = False                      # only 1.5 s of it tracked
    with pytest.raises(LganimError, match="1.5 s"):
        style_stats(short)
    with pytest.raises(LganimError):
        style_stats("a video.mp4")


def test_no_eyes_no_blink_rate():
    ref = reference()
    no_eyes = Track(fps=ref.fps, t=ref.t, channels={"yaw": ref.channels["yaw"]}, valid=ref.valid)
    stats = style_stats(no_eyes)
    assert stats.blink_rate is None
    track = driven()
    styled = apply_style(track, stats)
    assert np.array_equal(styled.channel("eye_l"), track.channel("eye_l"))


def test_apply_style_matches_the_reference():
    stats = style_stats(reference())
    track = driven(seconds=120)
    styled = apply_style(track, stats)
    settled = styled.t > 1.0
    assert styled.channel("mouth_open").std() == pytest.approx(stats.amplitude["mouth_open"], rel=0.01)
    assert styled.channel("mouth_open").min() >= 0                          # scaled, not shifted
    assert np.array_equal(styled.channel("mouth_wide"), track.channel("mouth_wide"))   # no reference amplitude
    for name in ("yaw", "pitch", "roll"):
        x = styled.channel(name)
        assert x[0] == pytest.approx(0.0, abs=1e-9)                          # frame 0 keeps the input pose
        assert x.std() == pytest.approx(stats.amplitude[name], rel=0.1)
        assert x[settled].mean() == pytest.approx(stats.pose_mean[name], abs=0.1 + 0.05 * stats.amplitude[name])
    # the sway is already slower than the reference's yaw: not smoothed further
    assert style_stats(styled).rhythm["yaw"] == pytest.approx(style_stats(track).rhythm["yaw"], rel=0.02)
    # blinks redrawn at the reference's rate (0.5/s), never closed at the ends
    eye = styled.channel("eye_l")
    assert style_stats(styled).blink_rate == pytest.approx(stats.blink_rate, rel=0.2)
    assert eye[0] == 0 and eye[-1] == 0 and np.array_equal(eye, styled.channel("eye_r"))
    assert styled.meta["style"]["mode"] == "stats" and styled.meta["seed"] == 0
    again = apply_style(track, stats)
    assert all(np.array_equal(styled.channels[k], again.channels[k]) for k in styled.channels)
    with pytest.raises(LganimError):
        apply_style(track, {"amplitude": {}})
    with pytest.raises(LganimError):
        apply_style(track, stats, seed=-1)


def test_apply_style_slows_a_restless_head():
    track = driven(seconds=120)
    noise = np.random.default_rng(0).normal(size=len(track))
    kernel = np.exp(-0.5 * (np.arange(-10, 11) / 3) ** 2)                 # σ = 0.1 s: a quick, jittery head
    track.channels["yaw"] = np.convolve(noise, kernel / kernel.sum(), mode="same")
    track.channels["yaw"] -= track.channels["yaw"][0]
    stats = style_stats(reference())
    before, after = (style_stats(tr).rhythm["yaw"] for tr in (track, apply_style(track, stats)))
    assert before < 0.4 * stats.rhythm["yaw"]
    assert after == pytest.approx(stats.rhythm["yaw"], rel=0.25)


def test_copy_pose_ping_pongs_without_jumps():
    ref = reference(seconds=3.0)
    track = driven(seconds=10)
    copied = copy_pose(track, ref)
    m = len(ref)
    for name in ("yaw", "pitch", "roll", "tx"):
        x, r = copied.channel(name), ref.channels[name] - ref.channels[name][0]
        assert x[0] == 0.0
        assert np.allclose(x[:m], r)                                         # forward
        assert np.allclose(x[m:2 * m - 2], r[-2:0:-1])                       # then backward
        assert np.abs(np.diff(x)).max() <= np.abs(np.diff(r)).max() + 1e-12  # no jump at the seams
    assert np.array_equal(copied.channel("mouth_open"), track.channel("mouth_open"))
    assert copied.meta["style"]["mode"] == "copy" and len(copied) == len(track)
    # a reference at another frame rate is resampled by time
    slow = Track(fps=15, t=np.arange(45) / 15, channels={"yaw": np.linspace(0, 3, 45)}, valid=np.ones(45, bool))
    assert copy_pose(track, slow).channel("yaw")[30] == pytest.approx(1.0 * 3 / (44 / 15), rel=1e-6)
    mouth_only = Track(fps=FPS, t=ref.t, channels={"mouth_open": ref.channels["mouth_open"]}, valid=ref.valid)
    with pytest.raises(LganimError, match="no head pose"):
        copy_pose(track, mouth_only)
