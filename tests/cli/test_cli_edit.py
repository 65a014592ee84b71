"""`python -m lganim edit` as a user runs it (the issue's acceptance): three PNGs of the domain's size, the edited
ones differ from the plain one, a mistake is one `error:` line with no file, and the channels are listed."""

import numpy as np
import pytest
from PIL import Image

from tests.cli.commands import assert_one_line_error, lganim
from tests.cli.test_cli import ASTRONAUT

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess


def test_edit_writes_a_png_of_the_domains_size_for_each_edit(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    runs = [lganim("edit", "--domain", "demo", "--seed", 1, "--out", a),
            lganim("edit", "--domain", "demo", "--seed", 1, "--control", "yaw=10", "--control", "mouth_open=0.3",
                   "--out", b),
            lganim("edit", "--domain", "demo", "--seed", 1, "--prompt", "The person is smiling.", "--amount",
                           0.8, "--out", c)]
    assert all(proc.returncode == 0 for proc in runs), [proc.stderr for proc in runs]
    images = [np.asarray(Image.open(path)) for path in (a, b, c)]
    assert all(image.shape == (128, 128, 3) for image in images)
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[0], images[2])
    assert "wrote" in runs[0].stdout and "128x128" in runs[0].stdout


def test_a_photo_is_edited_in_its_own_framing(tmp_path):
    out = tmp_path / "photo.png"
    proc = lganim("edit", "--domain", "demo", "--image", ASTRONAUT, "--control", "roll=5", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (512, 512)


@pytest.mark.parametrize("args, words", [
    (["--control", "nose=1"], ["Unknown control 'nose'", "yaw"]),
    (["--control", "yaw=90"], ["yaw must be from -20 to 20 (deg)"]),
    (["--control", "yaw"], ["--control takes NAME=VALUE"]),
    (["--prompt", "The person is smiling.", "--amount", 2], ["must be a number from -1 to 1"]),
    (["--amount", 0.5], ["one --amount per --prompt"]),
])
def test_a_mistake_is_one_error_line_and_no_file(tmp_path, args, words):
    out = tmp_path / "x.png"
    proc = lganim("edit", "--domain", "demo", "--seed", 1, *args, "--out", out)
    assert proc.returncode == 2
    assert_one_line_error(proc, *words)
    assert list(tmp_path.iterdir()) == []


def test_list_controls_prints_every_channel_with_its_unit_and_range():
    proc = lganim("edit", "--domain", "demo", "--list-controls")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()}
    for channel, unit in [("yaw", "deg"), ("pitch", "deg"), ("roll", "deg"), ("mouth_open", "inter-ocular"),
                          ("smile", "inter-ocular")]:
        assert unit in rows[channel] and " to " in rows[channel]
    assert "-20 to 20" in rows["yaw"] and "-30 to 30" in rows["roll"]
