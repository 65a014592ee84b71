"""`python -m lganim edit-video` as a user runs it, on the demo domain: a 4 s 25 fps clip of the example photo moving,
with sound, edited with a sentence — the same frame count, the sound kept, the background untouched, strength 0 the
clip itself, a time range edited only inside it; a 60 s clip's edit in bounded memory; mistakes in one line."""
import os
import subprocess
import sys

import numpy as np
import pytest

from lganim.media.audio import has_audio
from lganim.media.video_reader import read_video
from lganim.video_edit import follow_face
from tests import ROOT
from tests.cli.commands import assert_one_line_error, lganim
from tests.synth import write_camera_clip
from tests.videos import count_frames

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess
PROMPT = "The person is smiling."
MARGIN = 24                                  # pixels around the face boxes that count as near the face


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The acceptance clip (4 s, 25 fps, 640×480, the photo rolling and drifting, speech-like sound), the mask of the
    pixels far outside every frame's face box, and one cache folder for the module's runs (the prompt fitted once)."""
    folder = tmp_path_factory.mktemp("edit-video")
    path = folder / "clip.mp4"
    write_camera_clip(path, seconds=4.0, fps=25, sound=True)
    face = follow_face(path)
    far = np.ones((480, 640), dtype=bool)
    (x0, y0), (x1, y1) = face.quads.reshape(-1, 2).min(0).astype(int), face.quads.reshape(-1, 2).max(0).astype(int)
    far[max(y0 - MARGIN, 0):y1 + MARGIN, max(x0 - MARGIN, 0):x1 + MARGIN] = False
    inside = np.zeros((480, 640), dtype=bool)
    inside[y0 + (y1 - y0) // 4:y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4:x1 - (x1 - x0) // 4] = True
    return {"path": path, "folder": folder, "far": far, "inside": inside,
            "env": {"LGANIM_CACHE": str(folder / "cache")}}


def edit(clip, name, *args):
    out = clip["folder"] / name
    done = lganim("edit-video", "--domain", "demo", "--video", clip["path"], "--prompt", PROMPT, *args, "--out", out,
                  env=clip["env"], timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (100 frames, 640x480, 25 fps, with sound)"), done.stdout
    return read_video(out).frames, out


def test_a_sentence_on_a_video_keeps_its_frames_sound_and_background(clip):
    """Differences are measured against re-encoding's own (strength 0 against the clip): the encoder's choices for a
    frame depend on its neighbours, so frames equal before encoding differ by that much after it (the library's
    tests compare the frames themselves)."""
    source = read_video(clip["path"]).frames
    edited, out = edit(clip, "edited.mp4")
    still, _ = edit(clip, "still.mp4", "--strength", "0")
    assert count_frames(out) == count_frames(clip["path"]) == 100 and has_audio(out)
    far, inside = clip["far"], clip["inside"]

    def change(a, b, where):
        return np.abs(a[:, where].astype(int) - b[:, where]).mean()

    assert change(edited, source, far) <= change(still, source, far) + 0.5        # the background: re-encoded only
    noise = change(still, source, inside)                                          # re-encoding, in the face box
    assert change(edited, still, inside) > 5 * noise                               # strength 1 ≠ strength 0
    ranged, _ = edit(clip, "ranged.mp4", "--start", "1", "--end", "2")
    t = np.arange(100) / 25
    outside, within = (t < 0.8) | (t > 2.2), (t >= 1.2) & (t <= 1.8)
    assert change(ranged[outside], still[outside], inside) <= noise + 1.0          # as strength 0, up to encoding
    assert change(ranged[within], still[within], inside) > 5 * noise


def test_a_60_second_clip_is_edited_in_bounded_memory(tmp_path):
    """The edit's own peak: VmHWM, the high-water mark of the process's memory since it started Python (ru_maxrss
    would count the pytest process it was forked from). 12 fps keeps the test's time down; the frames held do not
    depend on the rate."""
    path = tmp_path / "minute.mp4"
    write_camera_clip(path, seconds=60.0, fps=12, size=(480, 360), sound=True)      # the face stays in view
    code = ("import re, sys; from lganim.cli import main; status = main(sys.argv[1:]); "
            "status_text = open('/proc/self/status').read(); "
            "print(re.search(r'VmHWM:\\s+(\\d+) kB', status_text).group(1), file=sys.stderr); sys.exit(status)")
    out = tmp_path / "minute-edited.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LGANIM_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code, "edit-video", "--domain", "demo", "--video", str(path),
                           "--control", "smile=0.1", "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    assert 100 * 1024 < peak_kib < 1.5 * 1024 ** 2, f"peak {peak_kib / 1024:.0f} MiB"       # torch alone is more
    assert count_frames(out) == 720 and has_audio(out)


@pytest.mark.parametrize("args, words", [
    (["--domain", "dog", "--control", "smile=0.1"], ["dog domain has no photo encoder"]),
    (["--domain", "demo"], ["Give a prompt", "control"]),
    (["--domain", "demo", "--control", "roll=5"], ["moves a crop"]),
    (["--domain", "demo", "--prompt", PROMPT, "--start", "3", "--end", "2"], ["must come after"]),
])
def test_a_mistake_is_one_error_line_and_no_file(tmp_path, args, words):
    video = tmp_path / "clip.mp4"
    write_camera_clip(video, seconds=0.2)
    out = tmp_path / "out.mp4"
    assert_one_line_error(lganim("edit-video", "--video", video, *args, "--out", out), *words)
    assert not out.exists()


def test_a_text_file_named_mp4_is_refused_before_any_model_loads(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    out = tmp_path / "out.mp4"
    done = lganim("edit-video", "--domain", "demo", "--video", text, "--prompt", PROMPT, "--out", out)
    assert_one_line_error(done, "notes.mp4", "is not a video")
    assert "device:" not in done.stderr and not out.exists() and list(tmp_path.iterdir()) == [text]
