import json
import math

import pytest
import torch
from torch.nn import functional as F

from lganim.config import MotionConfig
from lganim.errors import LganimError
from lganim.motion import (SCHEDULES, LatentRecurrent, MotionGenerator, MotionState, compose_latents, decay_weights,
                           load_official_state_dict, official_motion_config, step_sizes)
from lganim.stylegan2 import EqualLinear, PixelNorm, fused_leaky_relu

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


def test_compose_latents_strength_is_linear():
    model = make_model()
    dw = model(*embeddings(), 5)
    w0 = torch.randn(B, L, D)
    one = compose_latents(w0, dw, 1.0)
    assert one.shape == (B, 5, L, D)
    torch.testing.assert_close(compose_latents(w0, dw, 2.5) - w0[:, None], 2.5 * (one - w0[:, None]))
    assert torch.equal(compose_latents(w0, dw, 0.0), w0[:, None].expand(B, 5, L, D))
    assert torch.equal(one[:, 0], w0)                                    # frame 0 is the input face
    w_single = torch.randn(B, D)
    torch.testing.assert_close(compose_latents(w_single, dw)[:, 0], w_single[:, None].expand(B, L, D))
    with pytest.raises(LganimError):
        compose_latents(torch.randn(B, L + 1, D), dw)
    with pytest.raises(LganimError):
        compose_latents(w0, dw, float("nan"))


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

def fake_official_checkpoint(model):
    """The official layout: DDP-wrapped UniEditModelv1 state dict inside the training checkpoint."""
    sd = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    sd["module.encoder.visual.conv1.weight"] = torch.randn(8, 3, 3, 3)
    sd["module.encoder.token_embedding.weight"] = torch.randn(11, 8)
    sd["module.encoder.logit_scale"] = torch.tensor(4.6)
    return {"iter": 2000, "arch": "RN50", "state_dict": sd, "optimizer": {}}


def test_load_official_checkpoint():
    source = make_model(seed=0)
    ckpt = fake_official_checkpoint(source)
    config = official_motion_config(ckpt, style_dim=D)
    assert (config.num_ws, config.embed_dim, config.hidden_dim, config.mapper_dim) == (L, E, H, 96)
    assert config.use_image_mapper
    target = MotionGenerator(config)
    clip_sd = load_official_state_dict(target, ckpt)
    assert set(clip_sd) == {"visual.conv1.weight", "token_embedding.weight", "logit_scale"}
    assert torch.equal(clip_sd["logit_scale"], torch.tensor(4.6))
    text, image = embeddings()
    assert torch.equal(target(text, image, 5), source(text, image, 5))
    # the bare (un-wrapped) state dict loads too
    bare = {k[len("module."):]: v for k, v in ckpt["state_dict"].items()}
    other = MotionGenerator(config)
    load_official_state_dict(other, bare)
    assert torch.equal(other(text, image, 5), source(text, image, 5))
    # a model without an image mapper takes the motion weights and drops v_mapper
    slim = MotionGenerator(MotionConfig(**{**config.to_dict(), "use_image_mapper": False}))
    load_official_state_dict(slim, ckpt)
    assert torch.equal(slim(text, image, 5), source(text, image, 5))


def test_load_official_checkpoint_rejects_mismatches():
    source = make_model()
    ckpt = fake_official_checkpoint(source)
    wrong = MotionGenerator(MotionConfig(**{**CFG.to_dict(), "hidden_dim": 16}))
    with pytest.raises(LganimError, match="shape"):
        load_official_state_dict(wrong, ckpt)
    missing = dict(ckpt["state_dict"])
    del missing["module.rnn.fc3.bias"]
    with pytest.raises(LganimError, match="missing"):
        load_official_state_dict(MotionGenerator(CFG), {"state_dict": missing})
    extra = dict(ckpt["state_dict"], **{"module.discriminator.w": torch.zeros(1)})
    with pytest.raises(LganimError, match="unexpected"):
        load_official_state_dict(MotionGenerator(CFG), extra)
    with pytest.raises(LganimError):
        load_official_state_dict(MotionGenerator(CFG), [1, 2])
    with pytest.raises(LganimError, match="missing"):
        official_motion_config({"state_dict": {}})


# ---- save / load --------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    model = make_model()
    text, image = embeddings()
    folder = model.save(tmp_path / "motion")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format"] == "lganim.motion" and meta["config"]["hidden_dim"] == H
    loaded = MotionGenerator.load(folder)
    assert loaded.config == CFG
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert torch.equal(loaded(text, image, 5, generator=gen(2)), model(text, image, 5, generator=gen(2)))
    half = MotionGenerator.load(folder, dtype=torch.float64, trainable=True)
    assert half.rnn.fc1.weight.dtype == torch.float64 and half.rnn.fc1.weight.requires_grad
    # overwrite in place, nothing left behind next to it
    other = make_model(seed=5)
    other.save(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["motion"]
    assert torch.equal(MotionGenerator.load(folder)(text, image, 4), other(text, image, 4))


def test_save_load_errors(tmp_path):
    model = make_model()
    with pytest.raises(LganimError, match="not a saved motion model"):
        MotionGenerator.load(tmp_path / "absent")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep")
    with pytest.raises(LganimError, match="other files"):
        model.save(busy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    folder = model.save(tmp_path / "m")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(LganimError, match="config"):
        MotionGenerator.load(folder)
    model.save(folder)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(LganimError, match="weights"):
        MotionGenerator.load(folder)


@pytest.mark.gpu
def test_cuda_matches_cpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    model = make_model()
    text, image = embeddings()
    cpu = model(text, image, 6, generator=gen(4))
    folder = model.save(tmp_path / "m")
    cuda = MotionGenerator.load(folder, device="cuda")
    # CPU generator, CUDA model: the hidden state is drawn on the generator's device, then moved
    out = cuda(text.cuda(), image.cuda(), 6, generator=gen(4))
    assert out.device.type == "cuda" and torch.equal(out[:, 0], torch.zeros_like(out[:, 0]))
    torch.testing.assert_close(out.cpu(), cpu, atol=1e-4, rtol=1e-4)
    half = MotionGenerator.load(folder, device="cuda", dtype=torch.float16)
    assert half(text.cuda(), image.cuda(), 6).dtype == torch.float16
