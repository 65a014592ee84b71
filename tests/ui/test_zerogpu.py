"""Where the app runs: ZeroGPU's rules (spaces imported first, its detection) and the GPU time a request gets."""
import ast
from types import SimpleNamespace

from lganim.request import Request
from tests import ROOT
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
