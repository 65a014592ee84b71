"""Idle motion: blink statistics and shape, head sway, determinism."""
import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.tracks.idle import (
    CLOSED,
    RESTING_BLINK_RATE,
    SWAY_RMS,
    TALKING_BLINK_RATE,
    blinks,
    head_sway,
    idle_motion,
)


def closures(eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end frames of the runs where the eye is more than half closed."""
    shut = eye < CLOSED / 2
    edges = np.diff(np.concatenate([[0], shut.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


@pytest.mark.parametrize("rate", [RESTING_BLINK_RATE, TALKING_BLINK_RATE])
def test_blink_rate_over_ten_minutes(rate):
    fps, minutes = 30, 10
    for seed in range(3):
        eye = blinks(fps * 60 * minutes, fps, seed, rate)
        starts, _ = closures(eye)
        per_minute = len(starts) / minutes
        assert abs(per_minute - 60 * rate) <= 0.15 * 60 * rate, (seed, per_minute)


def test_blink_shape_and_duration():
    for fps in (25, 30, 60):
        eye = blinks(fps * 120, fps, seed=1, rate=0.5)
        starts, ends = closures(eye)
        shut_s = (ends - starts) / fps
        # more than half closed for about 100-150 ms (whole frames: up to one frame more or less)
        assert shut_s.min() >= 0.1 - 1 / fps and shut_s.max() <= 0.17 + 1 / fps, (fps, shut_s.min(), shut_s.max())
        assert eye.max() == 0.0 and eye.min() >= CLOSED
        # every blink reaches (nearly) full closure on some frame
        assert all(eye[s:e].min() <= 0.9 * CLOSED + 1e-9 for s, e in zip(starts, ends))
    # even at 8 fps each blink shows one fully closed frame
    eye = blinks(8 * 120, 8, seed=2, rate=0.5)
    starts, ends = closures(eye)
    assert len(starts) > 30 and all(eye[s:e].min() <= 0.9 * CLOSED + 1e-9 for s, e in zip(starts, ends))


def test_blinks_never_start_or_end_closed():
    for seed in range(200):
        eye = blinks(90, 30, seed, rate=1.0)                 # 3 s at the highest rate
        assert eye[0] == 0.0 and eye[-1] == 0.0 and eye[-2] == 0.0, seed


def test_deterministic_for_a_seed():
    a = idle_motion(900, 30, seed=7)
    b = idle_motion(900, 30, seed=7)
    c = idle_motion(900, 30, seed=8)
    assert set(a) == {"yaw", "pitch", "roll", "eye_l", "eye_r"}
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["yaw"], c["yaw"]) and not np.array_equal(a["eye_l"], c["eye_l"])
    assert np.array_equal(a["eye_l"], a["eye_r"])


def test_head_sway():
    fps = 30
    pose = head_sway(fps * 600, fps, seed=3)
    for name, rms in SWAY_RMS.items():
        x = pose[name]
        assert x[0] == 0.0
        assert 0.5 * rms <= x.std() <= 1.5 * rms, (name, x.std())
        assert np.abs(np.diff(x)).max() * fps < 6            # deg/s: slow and smooth
    still = head_sway(300, fps, seed=3, amount=0.0)
    assert all(not v.any() for v in still.values())


def test_talking_moves_blinks_to_pauses_and_grows_sway():
    fps = 30
    talking = (np.arange(fps * 600) // (3 * fps)) % 2 == 0      # 3 s talking, 3 s pause
    eye = blinks(len(talking), fps, seed=4, rate=TALKING_BLINK_RATE, talking=talking)
    starts, _ = closures(eye)
    assert np.mean(~talking[starts]) > 0.6                  # most blinks in the pauses (half of the time)
    assert abs(len(starts) / 10 - 26) <= 0.15 * 26           # the mean rate is kept
    calm = head_sway(len(talking), fps, seed=4)
    lively = head_sway(len(talking), fps, seed=4, talking=np.ones(len(talking), bool))
    assert lively["yaw"].std() > 1.3 * calm["yaw"].std()


def test_no_blinks_at_rate_zero():
    assert not blinks(3000, 30, seed=0, rate=0.0).any()


@pytest.mark.parametrize("kwargs", [dict(blink_rate=-0.1), dict(blink_rate=2.0), dict(blink_rate=float("nan")),
                                    dict(sway=-1.0), dict(seed=-1), dict(seed=1.5),
                                    dict(talking=np.ones(3, bool)), dict(num_frames=0), dict(fps=0)])
def test_bad_arguments(kwargs):
    args = dict(num_frames=100, fps=30, seed=0) | kwargs
    with pytest.raises(LganimError):
        idle_motion(**args)
