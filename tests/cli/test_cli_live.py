"""`live` and `track` as a user runs them (subprocesses, the demo domain) on a clip made here: a face the tracker's
tests never saw (an altered copy of the fixture face) tilting its head by known angles in a 640×480 frame."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import ROOT
from tests.cli.commands import assert_one_line_error, lganim
from tests.synth import write_camera_clip
from tests.videos import count_frames

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess


def python(*args):
    """Run the environment's Python with `args` from the repository root."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """2 s at 25 fps of the altered face tilting by up to 15 degrees: (path, true roll)."""
    path = tmp_path_factory.mktemp("camera") / "camera.mp4"
    return path, write_camera_clip(path, seconds=2.0, fps=25, altered=True)


def test_live_writes_one_frame_per_input_frame_the_speed_and_the_track(clip, tmp_path):
    video, roll = clip
    out, stats, track = tmp_path / "o.mp4", tmp_path / "s.json", tmp_path / "t.json"
    proc = lganim("live", "--domain", "demo", "--seed", "1", "--video", video, "--out", out,
               "--json", stats, "--track-out", track)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(stats.read_text())
    assert count_frames(out) == report["frames"] == 50
    assert set(report["latency_ms"]) >= {"p50", "p95"} and report["latency_ms"]["p95"] >= report["latency_ms"]["p50"]
    assert report["fps"] > 0 and report["found"] == 1.0 and report["output_size"] == [128, 128]
    measured = np.array(json.loads(track.read_text())["channels"]["roll"])
    print(f"\nlive on 2 s of 640x480: {report['fps']:.1f} frames/s, latency p50 {report['latency_ms']['p50']:.1f} ms, "
          f"p95 {report['latency_ms']['p95']:.1f} ms; roll error median {np.median(np.abs(measured - roll)):.2f}")
    assert len(measured) == 50 and np.median(np.abs(measured - roll)) < 2.0


FILES = ("--video", "--out", "--json", "--track-out")


@pytest.mark.parametrize("change, words", [
    ({"--out": "o.gif"}, ["--out must end in .mp4"]),
    ({"--json": "s.txt"}, ["--json must end in .json"]),
    ({"--track-out": "t.mp4"}, ["--track-out must end in .json or .csv"]),
    ({"--region": "ears"}, ["region must be one of"]),
    ({"--smooth": "3"}, ["smoothing must be a number from 0 to 1"]),
    ({"--threads": "0"}, ["--threads must be a whole number"]),
    ({"--video": "missing.mp4"}, ["missing.mp4"]),
])
def test_live_mistakes_are_one_line_and_leave_nothing(clip, tmp_path, change, words):
    options = {"--video": clip[0], "--out": tmp_path / "o.mp4"}
    options.update({k: tmp_path / v if k in FILES else v for k, v in change.items()})
    proc = lganim("live", "--domain", "demo", "--seed", "1", *[x for kv in options.items() for x in kv])
    assert_one_line_error(proc, *words)
    assert list(tmp_path.iterdir()) == []


def test_track_imports_no_torch_and_finds_the_face_in_every_frame(clip, tmp_path):
    video, roll = clip
    code = ("import sys; from lganim.cli import main; code = main(['track', '--video', sys.argv[1], '--out', "
            "sys.argv[2]]); assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)")
    proc = python("-c", code, video, tmp_path / "t.json")
    assert proc.returncode == 0, proc.stderr
    track = json.loads((tmp_path / "t.json").read_text())
    assert all(track["valid"]) and track["meta"]["searches"] == 1
    assert np.abs(np.array(track["channels"]["roll"]) - roll).max() < 2.0
