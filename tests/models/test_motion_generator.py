import math

import pytest
import torch
from torch.nn import functional as F

from lganim.config import SCHEDULES, MotionConfig
from lganim.errors import LganimError
from lganim.models.motion_generator import (
    LatentRecurrent,
    MotionGenerator,
    MotionState,
    decay_weights,
    step_sizes,
)
from lganim.models.stylegan2 import EqualLinear, PixelNorm, fused_leaky_relu

CFG = MotionConfig(num_ws=10, style_dim=64, embed_dim=64, hidden_dim=32, mapper_dim=96)
B, E, L, D, H = 2, 64, 10, 64, 32


def make_model(seed=0, config=CFG):
    """Tiny model with every bias non-zero, so t_mapper(0) != 0 as in a trained checkpoint."""
    torch.manual_seed(seed)
    model = MotionGenerator(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.3)
    return model


def embeddings(seed=1, batch=B):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, E, generator=g), torch.randn(batch, E, generator=g)


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ---- official arithmetic, written out from the released code --------------------------------

def official_decay(t, T, choice):
    if choice == "linear":
        return (T - t) / T
    if choice == "sqrt":
        return math.sqrt((T - t) / T)
    if choice == "exp":
        return 1 - math.exp(t / T - 1)
    return 1.0


def official_rollout(model, z, h, n_frames, choice):
    """The official LatentRecurrent.forward loop (is_inference=True), given z [B, E] and h_init [B, H]."""
    lrelu = torch.nn.LeakyReLU()
    rnn = model.rnn
    out, hs = [z], [h]
    for t in range(1, n_frames):
        temp = torch.cat((lrelu(rnn.fc1(out[-1])), hs[-1]), dim=-1)
        o = lrelu(rnn.fc2(temp))
        r = (0.2 * 4.0) / n_frames * official_decay(t, n_frames, choice)
        out.append(r * o + out[-1])
        hs.append(lrelu(rnn.fc3(temp)) * r + hs[-1])
    return torch.stack([item - z for item in out], dim=1)


# ---- building blocks ---------------------------------------------------------------------------

def test_building_blocks_follow_rosinality_semantics():
    torch.manual_seed(0)
    x = torch.randn(5, 7)
    b = torch.randn(7)
    expected = torch.where(x + b > 0, x + b, 0.2 * (x + b)) * math.sqrt(2)
    torch.testing.assert_close(fused_leaky_relu(x, b), expected)
    torch.testing.assert_close(PixelNorm()(x), x / torch.sqrt((x ** 2).mean(1, keepdim=True) + 1e-8))

    lin = EqualLinear(7, 3, lr_mul=0.5, activation=True)
    with torch.no_grad():
        lin.bias.normal_()
    pre = x @ (lin.weight * 0.5 / math.sqrt(7)).T + lin.bias * 0.5
    torch.testing.assert_close(lin(x), F.leaky_relu(pre, 0.2) * math.sqrt(2))
    plain = EqualLinear(7, 3)
    torch.testing.assert_close(plain(x), x @ (plain.weight / math.sqrt(7)).T + plain.bias)
    assert set(dict(lin.named_parameters())) == {"weight", "bias"}


def test_state_dict_keys_are_the_official_names():
    keys = set(MotionGenerator(CFG).state_dict())
    expected = {f"rnn.fc{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}
    expected |= {f"mapper.{m}.{i}.{p}" for m in ("t_mapper", "v_mapper") for i in (1, 2, 3) for p in ("weight", "bias")}
    assert keys == expected
    sd = MotionGenerator(CFG).state_dict()
    assert sd["rnn.fc1.weight"].shape == (H, E)
    assert sd["rnn.fc2.weight"].shape == (E, 2 * H)
    assert sd["rnn.fc3.weight"].shape == (H, 2 * H)
    assert sd["mapper.t_mapper.3.weight"].shape == (L * D, 96)
    no_image = MotionGenerator(MotionConfig(**{**CFG.to_dict(), "use_image_mapper": False}))
    assert not any("v_mapper" in k for k in no_image.state_dict())


def test_default_config_is_the_official_size():
    model = MotionGenerator()
    sd = model.state_dict()
    assert sd["rnn.fc1.weight"].shape == (384, 1024)
    assert sd["mapper.t_mapper.1.weight"].shape == (1024, 1024)
    assert sd["mapper.v_mapper.3.weight"].shape == (18 * 512, 1024)


# ---- schedules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, values", [
    ("linear", [1.0, 0.75, 0.5, 0.25]),
    ("sqrt", [1.0, math.sqrt(0.75), math.sqrt(0.5), 0.5]),
    ("exp", [1 - math.exp(-1.0), 1 - math.exp(-0.75), 1 - math.exp(-0.5), 1 - math.exp(-0.25)]),
    ("const", [1.0, 1.0, 1.0, 1.0]),
    ("cosine", [1.0, 0.5 + 0.5 * math.cos(math.pi / 4), 0.5, 0.5 - 0.5 * math.cos(math.pi / 4)]),
])
def test_schedule_weights_for_four_frames(name, values):
    w = decay_weights(name, 4)
    assert w.shape == (4,)
    torch.testing.assert_close(w, torch.tensor(values, dtype=torch.float64))


def test_unknown_schedule_is_rejected():
    assert set(SCHEDULES) == {"linear", "sqrt", "exp", "const", "cosine"}
    with pytest.raises(LganimError, match="unknown motion schedule"):
        decay_weights("quadratic", 4)
    with pytest.raises(LganimError, match="unknown motion schedule"):
        make_model()(*embeddings(), 4, schedule="Linear")
    with pytest.raises(LganimError):
        MotionGenerator(MotionConfig(**{**CFG.to_dict(), "schedule": "nope"}))


def test_step_sizes_match_the_official_formula():
    config = MotionConfig()
    for name in ("linear", "sqrt", "exp", "const"):
        expected = [(0.2 * 4.0) / 16 * official_decay(t, 16, name) for t in range(1, 16)]
        assert step_sizes(config, 16, name) == pytest.approx(expected, rel=1e-12, abs=0)
    # total motion budget of the official inference setting (16 frames, linear) vs training (4, const)
    assert sum(step_sizes(config, 16, "linear")) == pytest.approx(0.375)
    assert sum(step_sizes(config, 4, "const")) == pytest.approx(0.6)
    assert step_sizes(config, 1, "linear") == []
    assert len(step_sizes(config, 3, "linear", continued=True)) == 3


# ---- forward -----------------------------------------------------------------------------------

def test_shapes_and_first_frame_is_exactly_zero():
    model = make_model()
    text, image = embeddings()
    dw, state = model(text, image, 5, generator=gen(0), return_state=True)
    assert dw.shape == (B, 5, L, D)
    assert torch.equal(dw[:, 0], torch.zeros(B, L, D))
    assert dw[:, 1:].abs().amax() > 0
    assert state.offset.shape == (B, E) and state.hidden.shape == (B, H)
    assert torch.equal(model(text, None, 1), torch.zeros(B, 1, L, D))
    # the official text term at t = 0 is not zero once biases are trained: that is what anchoring removes
    _, txt_ws = model.official_terms(text, image, 5, generator=gen(0))
    assert txt_ws[:, 0].abs().amax() > 0.1


def test_forward_equals_official_rollout_anchored():
    model = make_model()
    text, image = embeddings()
    for choice in ("linear", "sqrt", "exp", "const"):
        h0 = model.initial_hidden(B, gen(3))
        z = F.normalize(text, dim=-1) + F.normalize(image, dim=-1)
        dz = official_rollout(model, z, h0, 6, choice)                               # [B, T, E]
        t_map = model.mapper.t_mapper
        txt_ws = t_map(dz.reshape(-1, E)).view(B, 6, L, D)
        img_ws = model.mapper.v_mapper(F.normalize(image, dim=-1))
        official = img_ws[:, None] + txt_ws                                          # offsets to w0
        expected = official - official[:, :1]
        dw = model(text, image, 6, schedule=choice, generator=gen(3))
        torch.testing.assert_close(dw, expected, atol=1e-5, rtol=1e-5)
        ours_img, ours_txt = model.official_terms(text, image, 6, schedule=choice, generator=gen(3))
        torch.testing.assert_close(ours_txt, txt_ws)
        torch.testing.assert_close(ours_img, img_ws)


def test_embeddings_are_normalised_and_image_conditions_the_motion():
    model = make_model()
    text, image = embeddings()
    torch.testing.assert_close(model(3.0 * text, 0.5 * image, 4), model(text, image, 4))
    assert not torch.allclose(model(text, image, 4), model(text, None, 4))


def test_determinism_and_seed_dependence():
    model = make_model()
    text, image = embeddings()
    a = model(text, image, 6, generator=gen(7))
    b = model(text, image, 6, generator=gen(7))
    c = model(text, image, 6, generator=gen(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert torch.equal(model(text, image, 6), model(text, image, 6))     # no generator: zero hidden state
    assert torch.equal(model.initial_hidden(B), torch.zeros(B, H))
    h = model.initial_hidden(4000, gen(0))
    assert abs(h.std().item() - 0.01) < 5e-4


def test_schedule_changes_the_motion_and_config_default_is_used():
    model = make_model()
    text, image = embeddings()
    lin = model(text, image, 6, schedule="linear")
    assert torch.equal(model(text, image, 6), lin)                     # CFG.schedule == 'linear'
    assert not torch.allclose(lin, model(text, image, 6, schedule="const"))


def test_continuation_equals_one_rollout_with_the_same_steps():
    model = make_model()
    text, image = embeddings()
    first, state = model(text, image, 4, schedule="const", generator=gen(1), return_state=True)
    second, state2 = model(text, image, 3, schedule="const", initial_state=state, return_state=True)
    assert second.shape == (B, 3, L, D)

    z = F.normalize(text, dim=-1) + F.normalize(image, dim=-1)
    steps = step_sizes(CFG, 4, "const") + step_sizes(CFG, 3, "const", continued=True)
    codes, hidden = model.rnn(z, model.initial_hidden(B, gen(1)), steps)           # [B, 7, E]
    dz = codes - z[:, None]
    t_map = model.mapper.t_mapper
    expected = (t_map(dz.reshape(-1, E)) - t_map(torch.zeros(1, E))).view(B, 7, L, D)
    torch.testing.assert_close(torch.cat((first, second), dim=1), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state2.hidden, hidden)
    torch.testing.assert_close(state2.offset, dz[:, -1])


def test_recurrence_chunks_exactly():
    rnn = LatentRecurrent(E, H)
    z, h = torch.randn(B, E), torch.randn(B, H)
    steps = [0.1, 0.05, 0.2, 0.07]
    codes, hidden = rnn(z, h, steps)
    part, h_mid = rnn(z, h, steps[:2])
    rest, h_end = rnn(part[:, -1], h_mid, steps[2:])
    assert torch.equal(torch.cat((part, rest[:, 1:]), dim=1), codes)
    assert torch.equal(h_end, hidden)


def test_prompt_change_continues_from_the_previous_motion():
    model = make_model()
    text, image = embeddings()
    other, _ = embeddings(seed=9)
    first, state = model(text, image, 5, return_state=True)
    cont = model(other, image, 5, initial_state=state)
    fresh = model(other, image, 5)
    assert not torch.allclose(cont, fresh)
    # the step from the last frame of segment one to the first of segment two is a small one
    jump = (cont[:, 0] - first[:, -1]).norm()
    assert jump < (first[:, -1] - first[:, 0]).norm()


def test_bad_inputs_raise_lganim_error():
    model = make_model()
    text, image = embeddings()
    with pytest.raises(LganimError, match="text_emb"):
        model(torch.randn(B, E + 1), None, 4)
    with pytest.raises(LganimError, match="batch"):
        model(text, image[:1], 4)
    with pytest.raises(LganimError, match="num_frames"):
        model(text, image, 0)
    with pytest.raises(LganimError, match="num_frames"):
        model(text, image, 2.0)
    with pytest.raises(LganimError, match="NaN"):
        model(text * float("nan"), image, 3)
    with pytest.raises(LganimError, match="generator"):
        model(text, image, 3, generator=0)
    with pytest.raises(LganimError, match="initial_state"):
        model(text, image, 3, initial_state=MotionState(torch.zeros(1, E), torch.zeros(1, H)))
    no_image = MotionGenerator(MotionConfig(**{**CFG.to_dict(), "use_image_mapper": False}))
    with pytest.raises(LganimError, match="image mapper"):
        no_image.official_terms(text, image, 3)
    assert no_image(text, image, 3).shape == (B, 3, L, D)


def test_gradients_reach_rnn_and_mappers():
    model = make_model()
    text, image = embeddings()
    text.requires_grad_(True)
    image.requires_grad_(True)
    dw = model(text, image, 4, schedule="const", generator=gen(0))
    dw.square().mean().backward()
    assert image.grad is None                       # official: the RNN sees the image embedding detached
    for name in ("rnn.fc1.weight", "rnn.fc2.weight", "rnn.fc3.weight",
                 "mapper.t_mapper.1.weight", "mapper.t_mapper.3.bias"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert text.grad is not None and text.grad.abs().sum() > 0
    # the image term cancels in the anchored offsets; it trains through the official composition
    assert model.mapper.v_mapper[1].weight.grad is None
    img_ws, txt_ws = model.official_terms(text, image, 4)
    (img_ws[:, None] + txt_ws).square().mean().backward()
    assert model.mapper.v_mapper[1].weight.grad.abs().sum() > 0


# ---- official checkpoints ---------------------------------------------------------------------
