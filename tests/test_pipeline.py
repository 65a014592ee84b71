"""The whole pipeline on the offline demo domain (tiny random checkpoints through the real loading path)."""

import numpy as np
import pytest
import torch

import lganim.pipeline
from lganim.config import FitSettings
from lganim.errors import LganimError
from lganim.models.renderer import FastRenderer, ReferenceRenderer
from lganim.motion.fitted import FittedMotion
from lganim.motion.source import Motion, MotionSum
from lganim.pipeline import Animator
from lganim.request import Request
from lganim.startcodes import seed_codes
from lganim.weights.demo import ensure_demo
from lganim.weights.motion_files import load_motion
from tests import FIXTURES

FIXTURES = FIXTURES

PROMPT = "The person is smiling."


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


def test_frames_shape_and_first_frame_is_the_start_face(anim):
    result = anim(PROMPT, seed=1, num_frames=5, fps=5)
    size = anim.stylegan.size
    assert result.frames.shape == (1, 5, size, size, 3) and result.frames.dtype == np.uint8
    assert result.ws.shape == (1, 5, anim.stylegan.num_ws, anim.stylegan.style_dim)
    torch.testing.assert_close(result.ws[:, 0], seed_codes(anim.stylegan, [1], anim.domain.truncation))
    assert not torch.equal(result.ws[:, -1], result.ws[:, 0])  # the face moves


def test_seed_reproducible_and_distinct(anim):
    a = anim(PROMPT, seed=3, num_frames=3).frames
    b = anim(PROMPT, seed=3, num_frames=3).frames
    c = anim(PROMPT, seed=4, num_frames=3).frames
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_strength_zero_is_still_and_negative_reverses(anim):
    still = anim(PROMPT, seed=1, num_frames=4, strength=0.0)
    assert (still.frames == still.frames[:, :1]).all()
    plus = anim(PROMPT, seed=1, num_frames=4, strength=1.0).ws
    minus = anim(PROMPT, seed=1, num_frames=4, strength=-1.0).ws
    torch.testing.assert_close(plus - plus[:, :1], -(minus - minus[:, :1]))


class CountingRenderer:
    """Wraps a renderer and records how many frames each synthesis call renders."""

    def __init__(self, renderer):
        self.renderer, self.calls = renderer, []

    @property
    def chunk_size(self):
        return self.renderer.chunk_size

    @chunk_size.setter
    def chunk_size(self, value):
        self.renderer.chunk_size = value

    def stream(self, ws):
        for images in self.renderer.stream(ws):
            self.calls.append(images.shape[0])
            yield images

    def __call__(self, ws):
        self.calls.append(ws.shape[0])
        return self.renderer(ws)


@pytest.fixture
def counted(anim, monkeypatch):
    counter = CountingRenderer(anim.renderer)
    monkeypatch.setattr(anim, "renderer", counter)
    return counter


def test_stream_is_batched_time_major_and_equals_the_call(anim, counted):
    anim.chunk_size = 4                      # 2 clips -> 2 time steps per synthesis call
    try:
        chunks = list(anim(Request(prompts=[PROMPT, "The person is surprised."], seeds=[1, 2], num_frames=5)).chunks())
    finally:
        anim.chunk_size = 16
    # frame 0 was rendered for the motion CLIP's image embedding (one call of 2): it comes first, never again
    assert counted.calls == [2, 4, 4]
    assert [c.index for c in chunks] == [0, 1, 3]
    assert [c.frames.shape[1] for c in chunks] == [1, 2, 2]
    whole = anim([PROMPT, "The person is surprised."], seed=[1, 2], num_frames=5).frames
    streamed = np.concatenate([c.frames for c in chunks], axis=1).astype(int)
    assert np.abs(streamed - whole).max() <= 1   # other chunk sizes only change float rounding


def test_no_frame_is_rendered_twice(anim, counted, tmp_path, monkeypatch):
    result = anim("The person is smiling.", seed=1, num_frames=6)
    assert sum(counted.calls) == 1                                   # frame 0 for CLIP; the rest when asked for
    assert result.frames.shape[1] == 6 and sum(counted.calls) == 6   # frame 0 once, then 5
    counted.calls.clear()
    still = anim("The person is smiling.", seed=1, num_frames=6, strength=0.0)
    assert sum(counted.calls) == 1 and (still.frames == still.frames[:, :1]).all()
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitted = Animator.from_pretrained("demo", motion="fit", device="cpu",
                                      fit_settings=FitSettings(steps=1, batch=1, frames=2))
    fit_counter = CountingRenderer(fitted.renderer)
    fitted.renderer = fit_counter
    fitted("The person is smiling.", seed=1, num_frames=6).frames
    assert sum(fit_counter.calls) == 6                               # fitted motion needs no first frame


def test_rerender_reuses_the_motion(anim, monkeypatch):
    result = anim(PROMPT, seed=2, num_frames=8)
    calls = []
    monkeypatch.setattr(anim.motion, "motion", lambda *a, **k: calls.append(1))   # the motion source: never again
    still = result.rerender(strength=0.0)
    assert still.frames.shape == result.frames.shape and (still.frames == still.frames[:, :1]).all()
    assert np.array_equal(still.frames[:, 0], result.frames[:, 0])
    half = result.rerender(strength=0.5)
    torch.testing.assert_close(half.ws - half.ws[:, :1], 0.5 * (result.ws - result.ws[:, :1]))
    minus = result.rerender(strength=-1.0)
    torch.testing.assert_close(minus.ws - minus.ws[:, :1], -(result.ws - result.ws[:, :1]))
    faster = result.rerender(fps=24)
    assert faster.frames is result.frames and faster.fps == 24
    other_face = result.rerender(truncation=0.3)
    torch.testing.assert_close(other_face.ws[:, 0], seed_codes(anim.stylegan, [2], 0.3))
    assert calls == []
    with pytest.raises(LganimError, match="strength"):
        result.rerender(strength=float("nan"))


def test_a_rerender_renders_fewer_frames_than_a_fresh_request(anim, monkeypatch):
    """Counted in frames synthesised: a re-render reuses frame 0 and runs no motion source."""
    rendered = []
    stream = anim.renderer.stream
    monkeypatch.setattr(anim.renderer, "stream", lambda ws, *a, **k: (rendered.append(len(ws)), stream(ws, *a, **k))[1])
    result = anim(PROMPT, seed=3, num_frames=16)
    result.frames
    fresh = sum(rendered)
    rendered.clear()
    result.rerender(strength=0.5).frames
    assert fresh == 16 and sum(rendered) == 15                       # frame 0 is rendered once, then reused


def test_motion_sources_add(anim):
    class Constant:
        needs_first_frames = False

        def motion(self, request, w0, first_frames, *, generator=None, progress=None):
            offsets = torch.zeros(request.batch, request.num_frames, *w0.shape[1:])
            offsets[:, 1:] = 0.01
            return Motion(offsets)

    request = Request(prompts=PROMPT, seeds=4, num_frames=3)
    alone = anim.prepare(request).motion.offsets
    both = anim.prepare(request, source=MotionSum([anim.motion, Constant()])).motion.offsets
    torch.testing.assert_close(both - alone, Constant().motion(request, torch.zeros(1, *alone.shape[2:]), None)
                               .offsets.to(both))


def test_photo_is_aligned_inverted_and_pasted_back(anim):
    result = anim(PROMPT, image=FIXTURES / "faces" / "astronaut.png", num_frames=3)
    assert result.frames.shape == (1, 3, 512, 512, 3)         # the photo's framing
    plan = anim.prepare(Request(prompts=PROMPT, image=FIXTURES / "faces" / "astronaut.png", num_frames=2,
                                paste_back=False))
    assert plan.photo.canvas is None and plan.photo.aligned.image.shape == (128, 128, 3)


def test_photo_refinement_moves_the_code_closer_to_the_photo(anim):
    image = FIXTURES / "faces" / "astronaut.png"
    losses, stages = [], []
    photo = anim.photos.read(image, 0, False)
    anim.photos.invert(photo, 5, lambda step, total, loss: losses.append((step, loss)))
    assert [step for step, _ in losses] == [0, 1, 2, 3, 4, 5] and losses[-1][1] < losses[1][1]   # 0: it begins
    plain = anim.prepare(Request(prompts=PROMPT, image=image, num_frames=1, paste_back=False))
    refined = anim.prepare(Request(prompts=PROMPT, image=image, num_frames=1, paste_back=False, refine_steps=5),
                           progress=lambda stage, step, total: stages.append((stage, step, total)))
    assert stages == [("Finding the face in the photo", 0, 0), ("Encoding the photo", 0, 0),   # each said as it
                      *[("Refining the photo", k, 5) for k in range(6)]]                       # begins
    assert not torch.equal(plain.ws, refined.ws)


def test_real_domain_without_motion_falls_back_to_prompt_fitting(monkeypatch):
    demo = ensure_demo()
    load = lganim.pipeline.load_generator
    # stand-in for the 1024 px FFHQ file: the demo generator, read with its own config
    monkeypatch.setattr(lganim.pipeline, "resolve", lambda source: demo.stylegan)
    monkeypatch.setattr(lganim.pipeline, "load_generator", lambda path, config, **kw: load(path, None, **kw))
    anim = Animator.from_pretrained("human", device="cpu")
    assert isinstance(anim.motion, FittedMotion)
    assert anim.motion.fitter.domain.name == "human"


def test_fitted_motion_reports_progress_through_prepare(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitted = Animator.from_pretrained("demo", motion="fit", device="cpu",
                                      fit_settings=FitSettings(steps=3, batch=1, frames=2))
    seen = []
    plan = fitted.prepare(Request(prompts=PROMPT, seeds=1, num_frames=4),
                          progress=lambda stage, step, total: seen.append((stage, step, total)))
    assert seen == [("Fitting the motion to the prompt", k, 3) for k in (0, 1, 2, 3)]     # 0: said as it begins
    assert plan.ws.shape[1] == 4 and torch.equal(plan.ws[:, 0], seed_codes(fitted.stylegan, [1], 1.0))


def test_fast_renderer_is_the_default_and_matches_the_reference(anim):
    assert isinstance(anim.renderer, FastRenderer)
    reference = Animator.from_pretrained("demo", device="cpu", renderer="reference")
    assert isinstance(reference.renderer, ReferenceRenderer)    # the fp32 reference path
    fast = anim(PROMPT, seed=5, num_frames=4).frames.astype(int)
    ref = reference(PROMPT, seed=5, num_frames=4).frames.astype(int)
    assert np.abs(fast - ref).max() <= 1
    with pytest.raises(LganimError, match="renderer"):
        Animator.from_pretrained("demo", device="cpu", renderer="magic")


def test_an_official_training_checkpoint_file_animates(tmp_path, anim):
    """A checkpoint laid out as the authors' DDP training script saves it loads with its fine-tuned CLIP."""
    files = ensure_demo()
    ours = load_motion(files.motion)
    clip_state = torch.load(files.clip_motion, weights_only=True)
    state = {f"module.{k}": v for k, v in ours.state_dict().items()}
    state.update({f"module.encoder.{k}": v for k, v in clip_state.items()})
    path = tmp_path / "ckpt_iter5000.pth"
    torch.save({"iter": 5000, "arch": "UniEditModelv1", "state_dict": state, "optimizer": {}}, path)
    official = Animator.from_pretrained("demo", motion=path, device="cpu")
    for key, value in ours.state_dict().items():
        assert torch.equal(official.motion.model.state_dict()[key], value), key
    result = official(PROMPT, seed=1, num_frames=4)
    assert result.frames.shape[:2] == (1, 4)
    torch.testing.assert_close(result.ws, anim(PROMPT, seed=1, num_frames=4).ws, atol=1e-4, rtol=1e-4)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(LganimError, match="expected an official motion checkpoint"):
        Animator.from_pretrained("demo", motion=tmp_path / "junk.pth", device="cpu")


def test_streaming_leaves_no_inference_mode_between_chunks(anim):
    for _ in anim(Request(prompts=PROMPT, seeds=1, num_frames=3)).chunks():
        assert not torch.is_inference_mode_enabled()     # the consumer's code runs in its own mode
