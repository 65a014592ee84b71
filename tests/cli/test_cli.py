"""`python -m lganim` as a user runs it: a subprocess, exit status, files and stderr."""
import json
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lganim.face.landmarks import detect_faces
from lganim.weights.registry import DOMAINS
from tests import ROOT
from tests.cli.commands import assert_one_line_error, lganim
from tests.videos import count_frames

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess
ASTRONAUT = ROOT / "tests" / "fixtures" / "faces" / "astronaut.png"


def closed_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once, as with no network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# HF_HUB_OFFLINE set (as in every test), or unset with the Hub unreachable (an endpoint that refuses connections)
HUB_DOWN = {"offline": ({}, "HF_HUB_OFFLINE is set"),
            "unreachable": ({"HF_HUB_OFFLINE": None, "HF_ENDPOINT": "http://127.0.0.1:{port}"},
                            "the Hugging Face Hub cannot be reached")}


def test_help_lists_the_commands():
    proc = lganim("--help")
    assert proc.returncode == 0
    for command in ("animate", "align", "download", "domains"):
        assert command in proc.stdout


def test_help_imports_no_torch():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "lganim", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "lganim.cli.parser" in imported
    assert not {m for m in imported if m.split(".")[0] == "torch"}


def test_a_missing_file_is_refused_before_torch_with_nothing_on_stdout(tmp_path):
    """The request is built and its files checked before the command's module (and torch) is imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "lganim", "retarget", "--domain", "demo",
                           "--image", "missing.png", "--driving", "missing.mp4", "--out", "r.mp4"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    timings = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in timings}
    assert "lganim.cli.requests" in imported and not {m for m in imported if m.split(".")[0] == "torch"}
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    assert_one_line_error(proc, "missing.mp4", "was not found")
    assert list(tmp_path.iterdir()) == []


def test_animate_writes_the_gif_and_strip_asked_for_from_the_same_frames(tmp_path):
    out, gif, strip = tmp_path / "x.mp4", tmp_path / "x.gif", tmp_path / "x.png"
    proc = lganim("animate", "--domain", "demo", "--seed", 1, "--seed", 2, "--prompt", "The person is smiling.",
                  "--frames", 5, "--out", out, "--gif", gif, "--strip", strip)
    assert proc.returncode == 0, proc.stderr
    assert [count_frames(tmp_path / f"x_{i}.mp4") for i in (0, 1)] == [5, 5] and count_frames(gif) == 5
    assert Image.open(strip).size[1] == 2 * 96                                  # a row of frames per clip
    assert proc.stdout.splitlines()[0].startswith(f"wrote {tmp_path / 'x_0.mp4'} (5 frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gif", "x.png", "x_0.mp4", "x_1.mp4"]


def test_animate_demo_writes_exactly_the_frames(tmp_path):
    out = tmp_path / "x.mp4"
    proc = lganim("animate", "--domain", "demo", "--seed", 1, "--prompt", "The person is smiling.",
                  "--frames", 12, "--fps", 12, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert count_frames(out) == 12


def test_animate_photo_and_gif(tmp_path):
    out = tmp_path / "v.gif"
    proc = lganim("animate", "--domain", "demo", "--image", ASTRONAUT, "--prompt", "The person is smiling.",
                  "--frames", 6, "--fps", 6, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert count_frames(out) == 6
    assert Image.open(out).size == (512, 512)  # pasted back into the photo


@pytest.mark.parametrize("args, words", [
    (["--image", "/etc/hostname"], ["not an image"]),
    (["--seed", 1, "--frames", 0], ["num_frames"]),
    (["--seed", 1, "--domain", "cats"], ["Unknown domain"]),
    (["--seed", 1, "--out", "x.avi"], [".mp4 or .gif"]),
])
def test_bad_input_is_one_line_and_leaves_no_file(tmp_path, args, words):
    full = ["animate", "--domain", "demo", "--prompt", "x", "--frames", 4, "--out", tmp_path / "y.mp4", *args]
    proc = lganim(*full)
    assert_one_line_error(proc, *words)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("hub", HUB_DOWN)
def test_a_missing_file_with_the_hub_down_is_one_line_with_its_path_and_no_retries(tmp_path, weights_dir, hub):
    env, reason = HUB_DOWN[hub]
    env = {k: v and v.format(port=closed_port()) for k, v in env.items()}
    proc = lganim("animate", "--domain", "human", "--seed", 1, "--prompt", "The person is smiling.",
                  "--out", tmp_path / "x.mp4", env=env)
    basename = DOMAINS["human"].weights.basename
    assert_one_line_error(proc, f"{basename} is missing: {reason}", "LGANIM_WEIGHTS",   # today: 11 lines of retries
                          f"(on this machine: {weights_dir / basename})")
    assert proc.returncode == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("hub", HUB_DOWN)
def test_doctor_with_the_hub_down_says_which_and_never_retries(tmp_path, weights_dir, hub):
    env, reason = HUB_DOWN[hub]
    env = {k: v and v.format(port=closed_port()) for k, v in env.items()}
    proc = lganim("doctor", "--domain", "human", "--json", tmp_path / "h.json", env=env)
    assert proc.returncode == 2 and "Retrying in" not in proc.stderr                    # today: 30 such lines
    assert_one_line_error(proc, "error: not ready", reason, report=True)
    report = json.loads((tmp_path / "h.json").read_text())
    assert report["ok"] is False and report["hub"]["state"] == hub and reason in report["hub"]["reason"]
    assert f"hub: {hub}: {reason}" in proc.stdout


def test_no_face_in_a_gray_image(tmp_path):
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(gray)
    proc = lganim("animate", "--domain", "demo", "--image", gray, "--prompt", "x", "--frames", 4,
                  "--out", tmp_path / "g.mp4")
    assert_one_line_error(proc, "No face")
    assert not (tmp_path / "g.mp4").exists()


def test_align_writes_a_centred_crop(tmp_path):
    out = tmp_path / "a.png"
    proc = lganim("align", "--image", ASTRONAUT, "--size", 256, "--out", out)
    assert proc.returncode == 0, proc.stderr
    crop = np.asarray(Image.open(out).convert("RGB"))
    assert crop.shape == (256, 256, 3)
    faces = detect_faces(crop)
    assert len(faces) == 1
    cx, cy = (faces[0].left + faces[0].right) / 2, (faces[0].top + faces[0].bottom) / 2
    assert abs(cx - 128) < 256 * 0.1 and abs(cy - 128) < 256 * 0.15


def test_domains_lists_licences():
    proc = lganim("domains")
    assert proc.returncode == 0
    assert "non-commercial" in proc.stdout and "demo" in proc.stdout
