"""`lganim bench --video`: the measures (fidelity in dB and levels, flicker), the closed world that chose the
method (the residual beats the reconstruction against the true edit, and is the clip itself at strength 0), and the
command's JSON on the demo domain."""
import json

import numpy as np
import pytest

from lganim.cli import main
from lganim.pipeline import Animator
from lganim.tools import bench_video
from lganim.tools.bench_video import closed_world, face_boxes, fidelity, flicker
from tests.synth import write_camera_clip


def test_fidelity_and_flicker_are_measured_inside_the_face_boxes():
    frames = np.zeros((3, 20, 20, 3), np.uint8)
    frames[1, 5:10, 5:10] = 30                                             # a change inside the box
    frames[2, 15:, 15:] = 200                                              # and one outside it
    boxes = face_boxes(np.array([[[4, 4], [4, 11], [11, 11], [11, 4]]] * 3, float), (20, 20))
    assert boxes[0] == (slice(4, 11), slice(4, 11))
    assert fidelity(frames, frames, boxes) == {"psnr": None, "mae": 0.0}
    shifted = fidelity(frames + 1, frames, boxes)
    assert shifted["mae"] == 1.0 and shifted["psnr"] == pytest.approx(48.13, abs=0.01)
    assert flicker(frames, boxes) == pytest.approx(25 * 30 / 49)                 # both changes are the box's


@pytest.mark.slow                # renders the closed world's clip many times (a minute on two cores)
def test_in_the_closed_world_the_residual_keeps_the_clip_and_is_nearer_the_true_edit(monkeypatch):
    monkeypatch.setattr(bench_video, "SMOOTHINGS", (bench_video.CODE_SMOOTH,))
    monkeypatch.setattr(bench_video, "CLOSED_SECONDS", 0.6)
    result = closed_world(Animator.from_pretrained("demo", device="cpu").editor, seed=0)
    rows = {r["method"]: r for r in result["encoders"]["e4e-like"]}
    assert rows["residual"]["strength0"]["psnr"] is None                   # strength 0: the clip itself
    assert rows["reconstruction"]["strength0"]["psnr"] < 45                # the reconstruction is not
    assert rows["residual"]["strength1"]["psnr"] > rows["reconstruction"]["strength1"]["psnr"] + 2
    assert result["true_edit"]["psnr"] < rows["residual"]["strength1"]["psnr"]   # an edit was made


@pytest.mark.slow                # encodes and reads video with ffmpeg
def test_the_command_times_tracking_the_preview_and_the_edit(tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    write_camera_clip(clip, seconds=0.5, fps=12, size=(320, 320))
    out = tmp_path / "video.json"
    assert main(["bench", "--video", str(clip), "--video-domain", "demo", "--video-frames", "4",
                 "--json", str(out)]) == 0
    video = json.loads(out.read_text())["video"]
    assert video["frames"] == 4 and video["frame_size"] == [320, 320] and video["domain"] == "demo"
    assert video["tracking_fps"] > 0 and video["edit_fps"] > 0 and video["preview_s"] > 0
    assert 0 < video["peak_rss_mb"] < 4096 and "quality" not in video
    assert "video edit: demo 128²" in capsys.readouterr().out
    assert main(["bench", "--video", str(clip), "--video-frames", "0"]) == 2
