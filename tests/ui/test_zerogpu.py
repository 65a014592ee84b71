"""Where the app runs: ZeroGPU's rules (spaces imported first, its detection) and the GPU time a request gets."""
import ast
from types import SimpleNamespace

import pytest

from lganim.request import Request, VideoEditRequest
from tests import ROOT
from tests.synth import write_camera_clip
from ui import zerogpu
from ui.models import Animators


def test_spaces_is_imported_before_anything_else_in_the_app():
    tree = ast.parse((ROOT / "app.py").read_text())
    first = next(node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.Try))
                 and not (isinstance(node, ast.ImportFrom) and node.module == "__future__"))
    assert isinstance(first, ast.Try) and isinstance(first.body[0], ast.Import)
    assert first.body[0].names[0].name == "spaces"


def test_zero_gpu_is_detected_as_the_spaces_package_does(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert zerogpu.on_zero_gpu()
    monkeypatch.setenv("SPACES_ZERO_GPU", "0")
    assert not zerogpu.on_zero_gpu()
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert not zerogpu.on_space()


def test_gpu_time_grows_with_frames_resolution_and_fitting():
    animators = Animators()
    smile, three = "The person is smiling.", [1, 2, 3]
    short = zerogpu.gpu_seconds(animators, "demo", Request(prompts=smile, seeds=1, num_frames=8))
    long = zerogpu.gpu_seconds(animators, "demo", Request(prompts=smile, seeds=three, num_frames=256))
    big = zerogpu.gpu_seconds(animators, "human", Request(prompts=smile, seeds=three, num_frames=256))
    assert 20 <= short < long < big <= 300


def test_gpu_time_counts_new_fits_and_a_missing_calibration():
    animators = Animators()
    request = Request(prompts="The person is smiling.", seeds=1, num_frames=8)
    base = zerogpu.gpu_seconds(animators, "human", request)                # not loaded: the loading allowance
    asked = []
    motion = SimpleNamespace(fit_seconds=lambda prompts: asked.append(prompts) or 100.0)
    animators.loaded["human"] = SimpleNamespace(motion=motion, calibration_seconds=lambda: 50.0)
    fitting = zerogpu.gpu_seconds(animators, "human", request)
    assert asked == [("The person is smiling.",)] and fitting == base - 60 + 100   # measured fits, no loading
    assert zerogpu.gpu_seconds(animators, "human", request, controls=True) == fitting + 50
    motion.fit_seconds = lambda prompts: 1000.0
    assert zerogpu.gpu_seconds(animators, "human", request, controls=True) == 300    # the cap


@pytest.mark.slow                # reads the clips' headers with ffmpeg
def test_gpu_time_of_an_edited_video_grows_with_its_length(tmp_path):
    animators = Animators()
    short, long = tmp_path / "short.mp4", tmp_path / "long.mp4"
    write_camera_clip(short, seconds=1.0, size=(64, 48))
    write_camera_clip(long, seconds=8.0, size=(64, 48))
    seconds = [zerogpu.video_seconds(animators, "demo", VideoEditRequest(video=p, controls={"smile": 0.1}))
               for p in (short, long)]
    assert 20 <= seconds[0] < seconds[1] <= 300
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert zerogpu.video_seconds(animators, "demo", VideoEditRequest(video=text, prompt="The person is smiling.")) == 60
