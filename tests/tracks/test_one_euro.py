"""The One-Euro filter: causal (a later sample never changes an earlier output), steadier than its input on a noisy
still signal, and quick on a fast move."""
import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.tracks.one_euro import OneEuroFilter


def run(values, times, **settings):
    f = OneEuroFilter(**settings)
    return np.array([f(v, t) for v, t in zip(values, times)])


def test_a_later_sample_never_changes_an_earlier_output():
    times = np.arange(40) / 25
    signal = np.sin(times * 3)[:, None] * [1.0, 2.0]                       # [40, 2]: elements filtered on their own
    changed = signal.copy()
    changed[21:] += 5.0
    a, b = run(signal, times), run(changed, times)
    np.testing.assert_array_equal(a[:21], b[:21])
    assert not np.allclose(a[21], b[21])


def test_steadies_a_still_signal_and_follows_a_fast_move():
    rng = np.random.default_rng(0)
    times = np.arange(200) / 25
    noisy = 1.0 + rng.normal(0, 0.05, 200)                                # jitter of a still face
    out = run(noisy, times, min_cutoff=1.0, beta=0.0)
    assert out[50:].std() < noisy[50:].std() / 3
    step = np.where(times < 2, 0.0, 10.0)                                  # a fast move: 10 units at t = 2 s
    quick = run(step, times, min_cutoff=1.0, beta=2.0)
    slow = run(step, times, min_cutoff=1.0, beta=0.0)
    k = int(np.searchsorted(times, 2.0)) + 2                               # two frames after the move
    assert quick[k] > 9 and slow[k] < 6                                    # the speed term cuts the lag


def test_reset_and_bad_use():
    f = OneEuroFilter()
    f(np.ones(3), 0.0)
    with pytest.raises(LganimError, match="time order"):
        f(np.ones(3), 0.0)
    f.reset()
    np.testing.assert_array_equal(f(np.full(3, 7.0), 0.0), 7.0)           # forgotten: the first sample as it is
    with pytest.raises(LganimError, match="min_cutoff > 0"):
        OneEuroFilter(min_cutoff=0)
