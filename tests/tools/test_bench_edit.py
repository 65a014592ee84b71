"""`lganim bench --edit`: the slider update against a clip of the same face, its JSON and its errors (timings are
never asserted)."""
import json

import pytest
import torch

from lganim.cli import main as cli
from lganim.config import DEFAULT_FRAMES
from lganim.request import EditRequest
from lganim.tools.bench import RANDOM_REQUEST, request_animators
from lganim.tools.measure import random_stylegan
from tests import FACE_PHOTO
from tests.motion.test_calibration import TINY


@pytest.mark.slow
def test_edit_on_the_demo_times_a_seed_and_a_photo_against_a_clip(tmp_path, capsys):
    out = tmp_path / "edit.json"
    args = ["bench", "--device", "cpu", "--size", "16", "--channel-multiplier", "1", "--frames", "1", "--repeats", "1",
            "--warmup", "0", "--edit", "demo", "--edit-image", str(FACE_PHOTO), "--edit-updates", "2", "--json",
            str(out)]
    assert cli(args) == 0
    edit = json.loads(out.read_text())["edit"]
    assert edit["domain"] == "demo" and edit["size"] == 128 and edit["clip_frames"] == DEFAULT_FRAMES
    assert len(edit["seed"]["updates_ms"]) == 2 and edit["seed"]["image"] == [128, 128]
    assert edit["photo"]["image"] == [512, 512]                       # pasted back into the photo
    assert edit["update_over_clip"] == pytest.approx(edit["seed"]["update_ms"] / 1e3 / edit["clip_s"])
    assert "slider update" in capsys.readouterr().out


def test_random_weights_edit_with_the_fallback_directions():
    """--edit random: the benchmark's own StyleGAN2, no files: the fallback rule's control directions."""
    g = random_stylegan(TINY, torch.device("cpu"), 0)                  # 64², 10 W+ layers of 16
    fast = request_animators(RANDOM_REQUEST, None, g, torch.device("cpu"), torch.float32, None, directions=True)["fast"]
    editor = fast.editor
    assert editor.stylegan is g and editor.renderer is fast.renderer
    assert set(editor.directions().method.values()) == {"sefa-fallback"}
    assert editor.edit(EditRequest(seed=0, controls={"yaw": 5.0})).image.shape == (64, 64, 3)


@pytest.mark.parametrize("argv,message", [
    (["--edit", "random", "--edit-image", "face.png"], "--edit-image needs --edit with a domain that reads photos"),
    (["--edit", "demo", "--edit-updates", "0"], "--edit-updates must be at least 1"),
])
def test_bad_edit_arguments_are_one_line_errors(argv, message, capsys):
    assert cli(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
