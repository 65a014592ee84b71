"""The Batch tab in-process on the demo domain: one captioned video per clip."""

import gradio as gr
import numpy as np
import pytest

from tests.ui.handlers import SMILE, NoProgress
from tests.videos import count_frames
from ui import batch


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_batch_renders_one_video_per_clip():
    outputs = list(batch.animate_batch("demo", "5, 6", f"{SMILE}\nThe person is angry.", 5, 5, 1.0, 1.0, "sqrt",
                                       progress=NoProgress()))
    gallery, grid, strip, plot, status = outputs[-1]
    assert [caption for _, caption in gallery] == [f"0: seed 5 · {SMILE}", "1: seed 6 · The person is angry."]
    assert [count_frames(path) for path, _ in gallery] == [5, 5]
    assert grid.shape == (128, 256, 3)                      # last frames of the two clips side by side
    assert strip.shape[0] == 2 * 96
    assert not np.array_equal(strip[:96], strip[96:])       # two different faces
    assert "2 clips" in status


@pytest.mark.parametrize("seeds, prompts, message", [
    ("1, 2, 3", f"{SMILE}\nThe person is angry.", "Give one prompt or one seed, or as many prompts as seeds"),
    ("1, two", SMILE, "seeds must be whole numbers"),
    ("", SMILE, "seeds is empty"),
    ("1", "\n \n", "prompts is empty"),
    (", ".join(map(str, range(17))), SMILE, "At most 16 clips"),
])
def test_batch_errors(seeds, prompts, message):
    with pytest.raises(gr.Error, match=message):
        list(batch.animate_batch("demo", seeds, prompts, 4, 4, 1.0, 1.0, "linear", progress=NoProgress()))


