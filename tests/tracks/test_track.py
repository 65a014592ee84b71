"""Motion tracks: exact file round trips, resampling by time, smoothing, and refusal of bad files."""
import json

import numpy as np
import pytest

from lganim.config import CHANNELS
from lganim.errors import LganimError
from lganim.tracks.track import FORMAT, VERSION, Track


def _track(n=50, fps=29.97, seed=0) -> Track:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps + rng.uniform(0, 1e-3, n)          # slightly irregular times
    channels = {name: rng.normal(size=n) * 10 ** rng.uniform(-3, 2) for name in CHANNELS}
    valid = rng.random(n) > 0.2
    return Track(fps=fps, t=t, channels=channels, valid=valid,
                 meta={"source": "test.mp4", "seed": seed, "nested": {"a": [1, 2.5]}})


def _same(a: Track, b: Track):
    assert a.fps == b.fps and a.meta == b.meta
    assert np.array_equal(a.t, b.t) and np.array_equal(a.valid, b.valid) and a.valid.dtype == b.valid.dtype
    assert list(a.channels) == list(b.channels)
    for k in a.channels:
        assert np.array_equal(a.channels[k], b.channels[k]), k


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_round_trip_is_exact(tmp_path, suffix):
    track = _track()
    track.channels["yaw"][3] = 0.1 + 0.2                       # a float whose short repr is not its decimal
    track.channels["roll"][4] = 1e-300
    path = track.save(tmp_path / f"a{suffix}")
    _same(track, Track.load(path))
    assert [p.name for p in tmp_path.iterdir()] == [f"a{suffix}"]     # no temporary file left behind


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_round_trip_subset_and_empty(tmp_path, suffix):
    sub = Track(fps=25, t=[0.0, 0.04], channels={"smile": [0.0, 0.5], "yaw": [1.0, 2.0]}, valid=[True, False])
    assert list(sub.channels) == ["yaw", "smile"]              # kept in CHANNELS order
    _same(sub, Track.load(sub.save(tmp_path / f"s{suffix}")))
    empty = Track(fps=25, t=[], channels={}, valid=[])
    assert len(empty) == 0 and empty.duration == 0
    _same(empty, Track.load(empty.save(tmp_path / f"e{suffix}")))


def test_file_layout(tmp_path):
    track = _track(n=3)
    data = json.loads(track.save(tmp_path / "a.json").read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert set(data) == {"format", "version", "fps", "t", "channels", "valid", "meta"}
    lines = track.save(tmp_path / "a.csv").read_text().splitlines()
    assert lines[0].startswith(f"# {FORMAT} v{VERSION} fps=29.97 meta={{")
    assert lines[1] == "frame,t,valid," + ",".join(CHANNELS)
    assert len(lines) == 5


def test_hand_written_csv_without_comment(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("frame,t,valid,mouth_open\n0,0,1,0\n1,0.5,1,0.2\n2,1.0,0,0.1\n")
    track = Track.load(path)
    assert track.fps == 2.0 and track.meta == {}
    assert track.channel("mouth_open").tolist() == [0, 0.2, 0.1] and track.valid.tolist() == [True, True, False]
    assert track.channel("yaw").tolist() == [0, 0, 0]


def test_resample_by_time_does_not_drift():
    # 10 minutes at 29.97 fps, a ramp equal to the time itself, resampled to 25 fps.
    n = int(round(600 * 29.97))
    t = np.arange(n) / 29.97
    track = Track(fps=29.97, t=t, channels={"yaw": t.copy(), "tx": 2 * t + 1}, valid=np.ones(n, bool))
    out = track.resample(25)
    assert len(out) == 15000 and out.fps == 25
    assert np.array_equal(out.t, np.arange(15000) / 25)
    np.testing.assert_allclose(out.channels["yaw"], out.t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out.channels["tx"], 2 * out.t + 1, rtol=0, atol=1e-9)
    assert out.valid.all()
    assert len(track.resample(25, duration=2.0)) == 50


def test_resample_uses_valid_samples_and_nearest_flag():
    t = np.arange(5) / 10
    track = Track(fps=10, t=t, channels={"smile": [0, 1, 99, 3, 4]}, valid=[True, True, False, True, True])
    out = track.resample(30)
    assert len(out) == 15
    np.testing.assert_allclose(out.channels["smile"][:13], np.arange(13) / 3)  # 99 ignored, ramp kept
    assert out.channels["smile"][-1] == 4                                      # held after the last sample
    assert out.valid.tolist() == [True] * 5 + [False] * 3 + [True] * 7        # 5/30 .. 7/30 s are nearest 0.2 s


def test_interpolate_invalid():
    track = Track(fps=1, t=[0, 1, 2, 3, 4], channels={"brow": [9, 1, 9, 3, 9]},
                  valid=[False, True, False, True, False])
    filled = track.interpolate_invalid()
    assert filled.channels["brow"].tolist() == [1, 1, 2, 3, 3]
    assert filled.valid.tolist() == track.valid.tolist()
    with pytest.raises(LganimError, match="invalid"):
        Track(fps=1, t=[0, 1], channels={"brow": [0, 0]}, valid=[False, False]).interpolate_invalid()


def test_smoothing_reduces_jitter_and_keeps_steps():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.02, 0.05, 400))                 # variable frame rate, ~29 fps
    step = (t > t[200]).astype(float)
    noise = rng.normal(0, 0.05, t.size)
    track = Track(fps=29, t=t, channels={"mouth_open": step + noise}, valid=np.ones(t.size, bool))
    assert np.array_equal(track.smooth(0).channels["mouth_open"], step + noise)
    smooth = track.smooth(0.5)
    assert smooth.meta["smoothing"] == 0.5
    away = np.abs(t - (t[200] + t[201]) / 2) > 0.25             # samples outside the step's window
    err_before = np.std((step + noise - step)[away])
    err_after = np.std((smooth.channels["mouth_open"] - step)[away])
    assert err_after < 0.5 * err_before
    # The step stays where it was: the smoothed curve crosses 0.5 between the two samples around it.
    mid = t[np.argmax(smooth.channels["mouth_open"] > 0.5)]
    assert abs(mid - (t[200] + t[201]) / 2) < 0.04
    # A straight line passes through unchanged (the fit is quadratic).
    line = Track(fps=29, t=t, channels={"yaw": 3 * t - 2}, valid=np.ones(t.size, bool)).smooth(1.0)
    np.testing.assert_allclose(line.channels["yaw"], 3 * t - 2, atol=1e-9)
    with pytest.raises(LganimError, match="between 0 and 1"):
        track.smooth(1.5)


def test_relative_to_and_channel():
    track = Track(fps=1, t=[0, 1], channels={"scale": [0.5, 0.7]}, valid=[True, True])
    np.testing.assert_allclose(track.relative_to(0).channels["scale"], [0, 0.2])
    assert track.duration == 2.0
    with pytest.raises(LganimError, match="Unknown track channel"):
        track.channel("jaw")


@pytest.mark.parametrize("kwargs, match", [
    (dict(channels={"jaw": [0.0]}), "unknown channel"),
    (dict(channels={"yaw": [np.nan]}), "NaN"),
    (dict(channels={"yaw": [0.0, 1.0]}), "has 2 values"),
    (dict(t=[0.0, 0.0], valid=[True, True], channels={}), "strictly increasing"),
    (dict(fps=0), "fps"),
    (dict(valid=[1]), "booleans"),
])
def test_bad_tracks_refused(kwargs, match):
    args = dict(fps=25, t=[0.0], channels={"yaw": [0.0]}, valid=[True])
    with pytest.raises(LganimError, match=match):
        Track(**{**args, **kwargs})


def test_bad_files_refused(tmp_path):
    good = _track(n=4)
    text = good.save(tmp_path / "good.json").read_text()
    data = json.loads(text)
    cases = {
        "other.json": json.dumps({**data, "format": "something.else"}),
        "version.json": json.dumps({**data, "version": 2}),
        "nan.json": text.replace(repr(float(good.t[1])), "NaN", 1),
        "inf.json": text.replace(repr(float(good.t[1])), "Infinity", 1),
        "truncated.json": text[: len(text) // 2],
        "length.json": json.dumps({**data, "valid": data["valid"][:-1]}),
        "order.json": json.dumps({**data, "t": data["t"][::-1]}),
        "list.json": "[1, 2]",
    }
    csv_text = good.save(tmp_path / "good.csv").read_text()
    cases["truncated.csv"] = csv_text[: len(csv_text) - 20]
    cases["version.csv"] = csv_text.replace(" v1 ", " v7 ", 1)
    cases["nan.csv"] = csv_text.replace(repr(float(good.t[2])), "nan", 1)
    cases["header.csv"] = csv_text.replace("frame,t,valid", "f,t,v", 1)
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(LganimError) as info:
            Track.load(tmp_path / name)
        assert "\n" not in str(info.value), name
    with pytest.raises(LganimError, match=".json or .csv"):
        good.save(tmp_path / "a.txt")
    with pytest.raises(LganimError, match="Cannot read"):
        Track.load(tmp_path / "missing.json")
    with pytest.raises(LganimError, match="meta"):
        Track(fps=1, t=[0], channels={}, valid=[True], meta={"x": object()}).save(tmp_path / "m.json")
