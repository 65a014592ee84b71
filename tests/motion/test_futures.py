"""Predicted futures of a face: seeded prompt sequences through the language motion, with idle motion under them."""
import math

import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.face.composite import move_crops
from lganim.motion.calibration import load_directions
from lganim.motion.futures import future_prompt, futures
from lganim.pipeline import Animator
from lganim.request import PredictRequest, Request


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


def test_future_prompts_are_seeded_sequences_of_the_papers_expressions():
    prompt = future_prompt("dog", np.random.default_rng(1))
    assert prompt.startswith("The dog is ") and "; then " in prompt
    assert prompt == future_prompt("dog", np.random.default_rng(1))


def test_futures_keep_the_head_roll_of_their_idle_motion(anim):
    """The idle head roll moves the face in the rendered frames of every future (a language motion first in the sum
    once dropped it)."""
    controls = load_directions(anim.domain, anim.files, anim.stylegan, calibrate_if_missing=False)
    drawn = futures(anim.motion, controls, "person", samples=2, seed=5, num_frames=48, fps=12)
    assert len({f.prompt for f in drawn}) == 2
    for future in drawn:
        plan = anim.prepare(Request(prompts=future.prompt, seeds=1, num_frames=48, fps=12), source=future.source,
                            generator=future.generator)
        moves = plan.motion.transforms                                             # [T, 3, 3]
        assert moves is not None and moves.shape == (48, 3, 3)
        roll = plan.motion.track.channel("roll")                                   # degrees, the idle sway
        assert np.abs(roll).max() > 0.1
        turned = np.degrees([math.atan2(m[0, 1], m[0, 0]) for m in moves])        # the crop's rotation per frame
        np.testing.assert_allclose(turned, roll, atol=1e-9)
        moved = np.concatenate([c.frames for c in anim.render(plan)], axis=1)[0]  # [T, H, W, 3]
        plan.motion.transforms = None
        still = np.concatenate([c.frames for c in anim.render(plan)], axis=1)[0]
        assert np.array_equal(moved, move_crops(still, moves))                     # every frame turned by its roll
        assert not np.array_equal(moved, still)


def test_futures_repeat_for_a_seed_and_check_their_values(anim):
    controls = load_directions(anim.domain, anim.files, anim.stylegan, calibrate_if_missing=False)
    a = futures(anim.motion, controls, "person", 2, 3, 8, 12)
    b = futures(anim.motion, controls, "person", 2, 3, 8, 12)
    assert [f.prompt for f in a] == [f.prompt for f in b] and [f.info for f in a] == [f.info for f in b]
    assert torch.equal(a[0].generator.get_state(), b[0].generator.get_state())
    for bad, message in [(dict(samples=0), "samples"), (dict(diversity=-1.0), "diversity")]:
        with pytest.raises(LganimError, match=message):
            PredictRequest(**bad)
