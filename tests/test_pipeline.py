"""The whole pipeline on the offline demo domain (tiny random checkpoints through the real loading path)."""
import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.pipeline import Animator, broadcast_requests

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

PROMPT = "The person is smiling."


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


def test_frames_shape_and_first_frame_is_the_start_face(anim):
    result = anim(PROMPT, seed=1, num_frames=5, fps=5)
    size = anim.generator.size
    assert result.frames.shape == (1, 5, size, size, 3) and result.frames.dtype == np.uint8
    assert result.ws.shape == (1, 5, anim.generator.num_ws, anim.generator.style_dim)
    torch.testing.assert_close(result.ws[:, 0], anim.start_codes([1], anim.domain.truncation))
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


def test_stream_is_batched_time_major_and_equals_the_call(anim):
    anim.chunk_size = 4                      # 2 clips -> 2 time steps per synthesis call
    calls = []
    renderer = anim.renderer
    anim.renderer = lambda ws: calls.append(ws.shape[0]) or renderer(ws)
    try:
        chunks = list(anim.stream([PROMPT, "The person is surprised."], seed=[1, 2], num_frames=5))
    finally:
        anim.renderer, anim.chunk_size = renderer, 16
    assert [c.start for c in chunks] == [0, 2, 4]
    assert [c.frames.shape[1] for c in chunks] == [2, 2, 1]
    assert calls[1:] == [4, 4, 2]            # calls[0] renders the first frames for the image embedding
    whole = anim([PROMPT, "The person is surprised."], seed=[1, 2], num_frames=5).frames
    streamed = np.concatenate([c.frames for c in chunks], axis=1).astype(int)
    assert np.abs(streamed - whole).max() <= 1   # other chunk sizes only change float rounding


def test_photo_is_aligned_inverted_and_pasted_back(anim):
    result = anim(PROMPT, image=FIXTURES / "faces" / "astronaut.png", num_frames=3)
    assert result.frames.shape == (1, 3, 512, 512, 3)         # the photo's framing
    plan = anim.prepare(PROMPT, image=FIXTURES / "faces" / "astronaut.png", num_frames=2, paste_back=False)
    assert plan.photo.canvas is None and plan.photo.aligned.image.shape == (128, 128, 3)


def test_photo_refinement_moves_the_code_closer_to_the_photo(anim):
    image = FIXTURES / "faces" / "astronaut.png"
    losses = []
    plain = anim.prepare(PROMPT, image=image, num_frames=1, paste_back=False)
    refined = anim.prepare(PROMPT, image=image, num_frames=1, paste_back=False, refine_steps=5,
                           progress=lambda step, total, loss: losses.append(loss))
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert not torch.equal(plain.ws, refined.ws)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_frames=0), "num_frames"),
    (dict(num_frames=100000), "num_frames"),
    (dict(fps=0), "fps"),
    (dict(strength=float("nan")), "strength"),
    (dict(truncation=2.0), "truncation"),
    (dict(schedule="bogus"), "schedule"),
])
def test_bad_settings_are_one_line_errors(anim, kwargs, message):
    with pytest.raises(LganimError, match=message) as err:
        anim.prepare(PROMPT, seed=0, **kwargs)
    assert "\n" not in str(err.value)


def test_request_broadcasting():
    assert broadcast_requests("a", [1, 2]) == (["a", "a"], [1, 2])
    assert broadcast_requests(["a", "b"], 7) == (["a", "b"], [7, 7])
    for prompts, seeds, message in [("", 1, "empty"), (["a", "b"], [1, 2, 3], "as many"), ("a", -1, "seed"),
                                    ("a", list(range(17)), "At most"), ([], 1, "at least one")]:
        with pytest.raises(LganimError, match=message):
            broadcast_requests(prompts, seeds)


def test_real_domain_without_motion_falls_back_to_prompt_fitting(monkeypatch):
    import lganim.checkpoints
    import lganim.hub
    from lganim.demo import ensure_demo
    from lganim.fitting import FittedMotion

    demo = ensure_demo()
    load = lganim.checkpoints.load_generator
    # stand-in for the 1024 px FFHQ file: the demo generator, read with its own config
    monkeypatch.setattr(lganim.hub, "fetch", lambda weight, **kw: demo.generator)
    monkeypatch.setattr(lganim.checkpoints, "load_generator", lambda path, config, **kw: load(path, None, **kw))
    anim = Animator.from_pretrained("human", device="cpu")
    assert isinstance(anim.motion, FittedMotion)
    assert anim.motion.fitter.domain.name == "human"


def test_fitted_motion_reports_progress_through_prepare(tmp_path, monkeypatch):
    from lganim.fitting import FitSettings
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitted = Animator.from_pretrained("demo", motion="fit", device="cpu",
                                      fit_settings=FitSettings(steps=3, batch=1, frames=2))
    seen = []
    plan = fitted.prepare(PROMPT, seed=1, num_frames=4, progress=lambda step, total, loss: seen.append((step, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert plan.ws.shape[1] == 4 and torch.equal(plan.ws[:, 0], fitted.start_codes([1], fitted.domain.truncation))


def test_fast_renderer_is_the_default_and_matches_the_reference(anim):
    from lganim.render import FastRenderer
    assert isinstance(anim.renderer, FastRenderer)
    reference = Animator.from_pretrained("demo", device="cpu", renderer="reference")
    assert reference.renderer == reference.generator.synthesis  # the fp32 reference path
    fast = anim(PROMPT, seed=5, num_frames=4).frames.astype(int)
    ref = reference(PROMPT, seed=5, num_frames=4).frames.astype(int)
    assert np.abs(fast - ref).max() <= 1
    with pytest.raises(LganimError, match="renderer"):
        Animator.from_pretrained("demo", device="cpu", renderer="magic")


def test_an_official_training_checkpoint_file_animates(tmp_path, anim):
    """A checkpoint laid out as the authors' DDP training script saves it loads with its fine-tuned CLIP."""
    from lganim.demo import ensure_demo
    from lganim.motion import MotionGenerator
    files = ensure_demo()
    ours = MotionGenerator.load(files.motion)
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
    with pytest.raises(LganimError, match="not an official motion checkpoint"):
        Animator.from_pretrained("demo", motion=tmp_path / "junk.pth", device="cpu")


def test_streaming_leaves_no_inference_mode_between_chunks(anim):
    for _ in anim.stream(PROMPT, seed=1, num_frames=3):
        assert not torch.is_inference_mode_enabled()     # the consumer's code runs in its own mode
