"""lganim/cli/progress.py: on a terminal every slow stage shows as soon as it begins; elsewhere nothing is printed."""
import io

import pytest

from lganim.cli import main
from lganim.cli.progress import stage_bars
from tests import ROOT


class Terminal(io.StringIO):
    """stderr as a terminal (tqdm draws its bars only on one)."""

    def isatty(self) -> bool:
        return True


def test_a_stage_shows_when_it_begins_and_only_on_a_terminal(monkeypatch):
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        with stage_bars() as progress:
            progress("Encoding the photo", 0, 0)
            progress("Refining the photo", 0, 30)
            said = stream.getvalue()
            progress("Refining the photo", 30, 30)
        assert ("Encoding the photo…" in said and "0/30" in said) is shown, said
        assert ("30/30" in stream.getvalue()) is shown


@pytest.mark.slow                # loads the demo models, inverts a photo and writes a video
def test_animate_with_refinement_says_each_stage_on_a_terminal(tmp_path, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["animate", "--domain", "demo", "--image", str(ROOT / "examples" / "astronaut.png"), "--refine", "2",
                 "--prompt", "The person is surprised.",
                 "--frames", "2", "--out", str(tmp_path / "me.mp4")]) == 0
    said = terminal.getvalue()
    stages = ["Finding the face in the photo…", "Encoding the photo…", "Refining the photo:", "rendering:"]
    assert all(stage in said for stage in stages), said
    assert sorted(stages, key=said.index) == stages                      # in the order they run
