"""The measures of a set: a real face moving keeps its identity, the demo's random faces get null with the reason,
prompts are summed up over their clips, and two sets are compared."""
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from lganim.errors import LganimError
from lganim.sets.evaluate import PROMPT_MEASURES, SetMeasures, compare, diversity, evaluate_set, set_clips, summarise
from lganim.sets.manifest import read_manifest
from lganim.sets.results import set_of, video_file, write_record
from tests import FACE_PHOTO
from tests.synth import rolling_face_video


class MeanColour(nn.Module):
    """A stand-in for ArcFace: the per-channel mean of its input, and one more feature so that it is not constant."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.cat([x.mean(dim=(2, 3)), torch.ones(len(x), 1)], dim=1)


def a_set_of_real_faces(tmp_path):
    """A set's folder holding two clips of the example photo rolling (its record as render-set writes it). In some
    frames dlib also finds the suit's mission patch, a false face larger than the person's: identity must follow
    the person."""
    shutil.copy(FACE_PHOTO, tmp_path / "me.png")
    (tmp_path / "set.csv").write_text("id,image,prompt\nroll,me.png,The person is smiling.\n"
                                      "roll2,me.png,The person is smiling.\n")
    manifest = read_manifest(tmp_path / "set.csv", "demo")
    out = tmp_path / "set"
    out.mkdir()
    for row, roll in zip(manifest.rows, (12.0, 6.0)):
        rolling_face_video(video_file(out, row.id), seconds=1.0, fps=8, max_roll=roll, sound=False)
        write_record(out, row, set_of(manifest, None), {"video": f"{row.id}.mp4", "rank": 0})
    return out


@pytest.mark.slow                          # reads the clips with ffmpeg
def test_a_real_face_rolling_keeps_its_identity(tmp_path):
    out = a_set_of_real_faces(tmp_path)
    measures = SetMeasures("cpu")
    result = evaluate_set(out, measures)
    (prompt, summary), = result["prompts"].items()
    assert prompt == "The person is smiling." and summary["clips"] == 2
    assert [c["id"] for c in result["clips"]] == ["roll", "roll2"]
    assert all(c["identity"] >= 0.9 for c in result["clips"]) and summary["identity"] >= 0.9
    assert summary["identity_arcface"] is None and "ir_se50.pth" in summary["identity_arcface_why"]
    assert 0 < summary["smoothness"] < 1 and summary["acd_shape"] > 0 and 0 < summary["ms_ssim"] < 1
    assert 0 <= summary["clip_score"] <= 100 and -1 <= summary["clip_direction"] <= 1

    measures.arcface = MeanColour()                            # ArcFace where its file is present
    clip = result["clips"][0]
    again = evaluate_set(out, measures)["clips"][0]
    assert 0.9 < again["identity_arcface"] <= 1 and again["acd_face"] > 0 and "identity_arcface_why" not in again
    assert again["identity"] == pytest.approx(clip["identity"])


def test_prompts_sum_up_their_clips_and_say_why_a_figure_is_missing():
    frame = np.full((32, 32, 3), 100, np.uint8)
    results = [{"clip_score": 20.0, "clip_direction": 0.1, "identity": 0.95, "identity_arcface": None,
                "identity_arcface_why": "no ArcFace", "acd_face": None, "acd_face_why": "no ArcFace",
                "acd_shape": 2.0, "smoothness": 0.9},
               {"clip_score": 30.0, "clip_direction": 0.3, "identity": None, "identity_why": "no face",
                "identity_arcface": None, "identity_arcface_why": "no ArcFace", "acd_face": None,
                "acd_face_why": "no ArcFace", "acd_shape": 4.0, "smoothness": 0.7}]
    summary = summarise(results, [frame, frame.copy()])
    assert set(PROMPT_MEASURES) | {"clips"} <= set(summary) and summary["clips"] == 2
    assert summary["clip_score"] == pytest.approx(25.0) and summary["acd_shape"] == pytest.approx(3.0)
    assert summary["identity"] == pytest.approx(0.95)
    assert summary["identity_why"] == "measured on 1 of 2 clips; the others: no face"
    assert summary["acd_face"] is None and summary["acd_face_why"] == "no ArcFace"
    assert summary["ms_ssim"] == pytest.approx(1.0) and "ms_ssim_why" not in summary
    assert diversity([frame]) == (None, "one clip: nothing to compare it with")
    assert diversity([frame, np.zeros((16, 16, 3), np.uint8)])[0] is None


def test_a_comparison_gives_b_minus_a_for_the_prompts_of_both():
    a = {"set": "A", "clips": [], "prompts": {"p": {"clip_score": 10.0, "identity": None, "clips": 1},
                                              "only a": {"clip_score": 1.0, "clips": 1}}}
    b = {"set": "B", "clips": [], "prompts": {"p": {"clip_score": 12.5, "identity": 0.9, "clips": 1}}}
    both = compare(a, b)
    assert both["prompts"] == a["prompts"] and both["compare"]["set"] == "B"
    assert both["compare"]["delta"] == {"p": {"clip_score": 2.5}}


def test_a_folder_without_clips_is_refused(tmp_path):
    with pytest.raises(LganimError, match="holds no finished clip"):
        set_clips(tmp_path)
