"""The motion-source protocol: what every source makes, sums of sources, language sources bound to a prompt."""
from pathlib import Path

import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.face.composite import compose, crop_transform
from lganim.motion.source import LanguageMotion, Motion, MotionSum
from lganim.pipeline import Animator
from lganim.request import Request
from lganim.tracks.track import Track

B, T, L, D = 2, 5, 3, 4


class Fixed:
    """A source that returns what it is given, and records the requests it saw."""

    needs_first_frames = False
    needs_prompts = False

    def __init__(self, offsets, transforms=None, audio=None, track=None):
        self.made = Motion(offsets, transforms, audio, track)
        self.seen = []

    def motion(self, request, w0, first_frames, *, generator=None, progress=None):
        self.seen.append(request)
        return self.made


class Prompted(LanguageMotion):
    """A language source: its offsets say which prompt each clip animated (the prompt's length)."""

    needs_first_frames = False

    def motion(self, request, w0, first_frames, *, generator=None, progress=None):
        prompts = self.prompts_for(request)
        lengths = torch.tensor([float(len(p)) for p in prompts])
        return Motion(lengths[:, None, None, None] * torch.ones(len(prompts), request.num_frames, L, D))


def rolls(angles):
    return np.stack([crop_transform(a, 0.0, 0.0, 0.0) for a in angles])


def test_a_sum_adds_offsets_composes_moves_and_keeps_the_first_track_and_audio():
    request = Request(prompts="x", seeds=[1, 2], num_frames=T)
    track = Track(fps=10, t=np.arange(T) / 10, channels={"roll": np.arange(T, dtype=float)}, valid=np.ones(T, bool))
    language = Fixed(torch.ones(B, T, L, D))                                 # no moves, no track, no sound
    idle = Fixed(2 * torch.ones(B, T, L, D), rolls([0, 1, 2, 3, 4]), track=track)
    sound = Fixed(torch.zeros(B, T, L, D), rolls([0, 10, 10, 10, 10]), audio=Path("speech.wav"))
    total = MotionSum([language, idle, sound]).motion(request, torch.zeros(B, L, D), None)
    assert torch.equal(total.offsets, 3 * torch.ones(B, T, L, D))
    np.testing.assert_allclose(total.transforms, rolls([0, 11, 12, 13, 14]), atol=1e-12)   # the rolls add
    assert total.track is track and total.audio == Path("speech.wav")
    # the order of the sources does not matter for what is kept
    again = MotionSum([sound, idle, language]).motion(request, torch.zeros(B, L, D), None)
    assert again.track is track and again.audio == Path("speech.wav")
    np.testing.assert_allclose(again.transforms, total.transforms, atol=1e-12)
    assert MotionSum([language]).motion(request, torch.zeros(B, L, D), None).transforms is None


def test_compose_refuses_moves_of_different_lengths():
    assert compose(None, None) is None
    with pytest.raises(LganimError, match="cannot be combined"):
        compose(rolls([0, 1]), rolls([0, 1, 2]))


def test_a_language_source_reads_the_request_or_the_prompt_it_is_bound_to():
    source = Prompted()
    assert source.needs_prompts
    offsets = source.motion(Request(prompts=["ab", "abcd"], seeds=[1, 2], num_frames=2), None, None).offsets
    assert offsets[:, 0, 0, 0].tolist() == [2.0, 4.0]
    bound = source.with_prompt("  abc ")
    assert not bound.needs_prompts and source.needs_prompts                   # a copy: the source is unchanged
    driven = Request(prompts=[], seeds=[1, 2], num_frames=300)                   # a driven request: no prompts
    assert bound.motion(driven, None, None).offsets[:, 0, 0, 0].tolist() == [3.0, 3.0]
    with pytest.raises(LganimError, match="Give at least one prompt"):
        source.motion(driven, None, None)
    with pytest.raises(LganimError, match="prompt must be text"):
        source.with_prompt(5)
    assert MotionSum([Fixed(torch.zeros(1, 1, L, D)), source]).needs_prompts
    assert not MotionSum([Fixed(torch.zeros(1, 1, L, D)), bound]).needs_prompts


def test_a_request_without_prompts_is_refused_before_any_work(monkeypatch):
    anim = Animator.from_pretrained("demo", device="cpu")
    rendered = []
    monkeypatch.setattr(anim.renderer, "stream", lambda ws: rendered.append(ws) or iter(()))
    with pytest.raises(LganimError, match="Give at least one prompt"):
        anim.prepare(Request(prompts=[], seeds=1, num_frames=4))
    assert not rendered
