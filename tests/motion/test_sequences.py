"""Prompt sequences: parsing and frame split."""
import pytest

from lganim.errors import LganimError
from lganim.motion.sequences import (
    Segment,
    is_sequence,
    plan_sequence,
    split_frames,
    split_prompt,
)


def test_plain_prompt_is_one_segment_unchanged():
    assert split_prompt("The person is smiling.") == ["The person is smiling."]
    assert split_prompt("smiling") == ["smiling"]
    assert not is_sequence("The person is smiling.")


def test_then_is_dropped_and_subject_borrowed():
    assert split_prompt("The person is smiling; then winking") == ["The person is smiling.", "The person is winking."]
    assert split_prompt("The dog is happy; and then the dog is sad.") == ["The dog is happy.", "The dog is sad."]
    assert split_prompt("smiling; then winking") == ["smiling.", "winking."]
    assert split_prompt("The person is smiling;; Then, crying ;") == ["The person is smiling.", "The person is crying."]
    assert is_sequence("a; b")


def test_empty_segments_are_errors():
    with pytest.raises(LganimError):
        split_prompt(" ; ")
    with pytest.raises(LganimError):
        split_prompt("The person is smiling; then")


def test_frames_split_evenly_earlier_segments_first():
    assert split_frames(16, 2) == [8, 8]
    assert split_frames(10, 3) == [4, 3, 3]
    assert split_frames(5, 1) == [5]
    assert sum(split_frames(17, 4)) == 17
    with pytest.raises(LganimError):
        split_frames(2, 2)


def test_plan_sequence():
    assert plan_sequence("The person is smiling; then winking", 7) == [
        Segment("The person is smiling.", 4), Segment("The person is winking.", 3)]
