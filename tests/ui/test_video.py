"""The Video tab in-process on the demo domain (uploads placed in gradio's cache as the browser would): progress while
tracking, a one-frame preview (original | edited) before the frames, every frame beside its original, then the MP4
with the video's sound and both side by side; one-line errors; the endpoint's inputs in order."""
import shutil
from pathlib import Path

import numpy as np
import pytest

import app
from lganim.config import DRIVEN_CHANNELS
from lganim.media.audio import has_audio
from tests.synth import write_camera_clip
from tests.ui.handlers import NoProgress, skipped
from tests.videos import count_frames
from ui import common as ui_common
from ui import video as ui_video


def uploaded(path: Path) -> dict:
    """`path` copied into gradio's upload cache, as the payload the page sends."""
    folder = ui_common.FILES / "upload-test"
    folder.mkdir(parents=True, exist_ok=True)
    return {"path": str(Path(shutil.copy(path, folder / path.name)))}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video-tab") / "clip.mp4"
    write_camera_clip(path, seconds=1.0, fps=12, sound=True)
    return uploaded(path)


def test_the_endpoint_takes_the_video_the_edit_then_one_input_per_channel():
    info = app.demo.get_api_info()["named_endpoints"]["/edit_video"]
    names = [p["parameter_name"] for p in info["parameters"]]
    assert names == ["video", "domain", "prompt", "strength", "start", "end", "face", *DRIVEN_CHANNELS]
    assert [r["label"] for r in info["returns"]][-1] == "Status"


@pytest.mark.slow                # tracks, renders and encodes a clip with ffmpeg
def test_the_tab_previews_one_frame_then_streams_every_frame_beside_its_original(clip):
    outputs = list(ui_video.edit_video(clip, "demo", "", 1.0, None, None, 0, smile=0.1, progress=NoProgress()))
    statuses = [o[ui_video.STATUS] for o in outputs]
    assert any(s.startswith("Tracking the face…") for s in statuses)
    preview = next(k for k, s in enumerate(statuses) if s.startswith("Preview: frame"))
    assert preview < next(k for k, s in enumerate(statuses) if s.startswith("Rendering…"))
    live = [o[2] for o in outputs if o[ui_video.STATUS].startswith(("Preview", "Rendering…"))]
    assert len(live) >= 2 and all(f.shape == (480, 1280, 3) for f in live)           # original | edited
    assert not np.array_equal(live[0][:, :640], live[0][:, 640:])                       # the preview edits
    mp4, beside = outputs[-1][0], outputs[-1][1]
    assert count_frames(mp4) == 12 and has_audio(mp4) and count_frames(beside) == 12
    assert "12 frames" in outputs[-1][ui_video.STATUS]
    assert outputs[0] == ui_video.CLEARED and not any(skipped(v) for v in outputs[-1])   # the answer: all values


@pytest.mark.parametrize("args, message", [
    (dict(domain="dog"), "dog domain has no photo encoder"),
    (dict(prompt=""), "Give a prompt"),
    (dict(smile=5.0), "smile must be from"),
    (dict(start=2.0, end=1.0), "must come after"),
    (dict(video={"path": "/etc/hostname"}), "video must be an uploaded video file"),
])
def test_a_bad_value_is_one_line(clip, args, message):
    values = {"video": clip, "domain": "demo", "prompt": "The person is smiling.", **args}
    outputs = []
    with pytest.raises(Exception, match=message) as err:
        for o in ui_video.edit_video(**values, progress=NoProgress()):
            outputs.append(o)
    assert "\n" not in str(err.value) and outputs[-1][ui_video.STATUS].startswith("⚠️")
    assert all(skipped(x) for x in outputs[-1][:ui_video.STATUS])
