"""The paper's losses on tiny inputs with hand-computed answers."""
import math

import pytest
import torch
from torch import nn

from lganim.config import LossWeights
from lganim.errors import LganimError
from lganim.motion.objective import (
    MotionObjective,
    clip_loss,
    contrastive_loss,
    cosine_loss,
    identity_loss,
    latent_loss,
    loop_loss,
    prompt_targets,
    smoothness_loss,
)


def test_contrastive_core_matches_hand_computation():
    sim = torch.tensor([[1.0, 0.0], [0.5, 0.2]])
    positive = torch.tensor([0, 1])
    negative = torch.tensor([[False, True], [True, False]])
    # the official sum includes j = i (e^0 = 1): row 0: log(2 + e^(0 - 1)); row 1: log(2 + e^(0.5 - 0.2)), τ = 1
    expected = (math.log(2 + math.exp(-1.0)) + math.log(2 + math.exp(0.3))) / 2
    assert contrastive_loss(sim, positive, negative, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_clip_loss_contrastive_with_embeddings_and_temperature():
    image = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    texts, positive, negative = prompt_targets(["a", "b"])
    assert texts == ["a", "b"]
    # S = [[1, 0], [0.6, 0.8]]; τ = 0.1: row 0 log(2 + e^-10), row 1 log(2 + e^-2)
    expected = (math.log(2 + math.exp(-10)) + math.log(2 + math.exp(-2))) / 2
    assert clip_loss(image, text, positive, negative, 0.1).item() == pytest.approx(expected, rel=1e-5)
    # the default temperature is the paper's 0.07
    expected07 = (math.log(2 + math.exp(-1 / 0.07)) + math.log(2 + math.exp(-0.2 / 0.07))) / 2
    assert clip_loss(image, text, positive, negative).item() == pytest.approx(expected07, rel=1e-5)


def test_duplicate_prompts_are_not_negatives():
    texts, positive, negative = prompt_targets(["a", "a", "b"])
    assert texts == ["a", "b"]
    assert positive.tolist() == [0, 0, 1]
    assert negative.tolist() == [[False, True], [False, True], [True, False]]
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # rows: S = [1, 0] pos 0; S = [0, 1] pos 0; S = [0, 1] pos 1; τ = 1
    expected = (math.log(2 + math.exp(-1)) + math.log(2 + math.exp(1)) + math.log(2 + math.exp(-1))) / 3
    assert clip_loss(image, text, positive, negative, 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_extra_negatives_for_prompt_fitting():
    texts, positive, negative = prompt_targets(["a", "a"], negatives=["b", "a", "c"])
    assert texts == ["a", "b", "c"]
    assert positive.tolist() == [0, 0]
    assert negative.tolist() == [[False, True, True]] * 2


def test_single_prompt_uses_plain_cosine_form():
    image = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    text = torch.tensor([[2.0, 0.0]])                       # normalised inside
    _, positive, negative = prompt_targets(["a", "a"])
    assert not negative.any()
    assert clip_loss(image, text, positive, negative).item() == pytest.approx(0.2, abs=1e-6)   # (0 + 0.4) / 2
    assert cosine_loss(image, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.2, abs=1e-6)


def offsets():
    # B = 1, T = 3, L = 1, D = 2: Δw[0] = 0, Δw[1] = (1, 1), Δw[2] = (2, 0)
    return torch.tensor([[[[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 0.0]]]])


def test_latent_loop_and_smoothness_by_hand():
    dw = offsets()
    assert latent_loss(dw).item() == pytest.approx(0 + 1 + 2)          # Σ_t mean(Δw[t]²)
    assert loop_loss(dw).item() == pytest.approx(2.0)                  # mean((0, 0) - (2, 0))²
    assert smoothness_loss(dw).item() == pytest.approx(2.0)            # (2-2+0, 0-2+0) -> mean(0, 4)


def test_smoothness_is_zero_on_straight_constant_speed_paths_and_short_clips():
    a = torch.randn(2, 1, 3, 4)
    line = torch.arange(5.0).view(1, 5, 1, 1) * a
    assert smoothness_loss(line).item() == pytest.approx(0.0, abs=1e-10)
    assert smoothness_loss(torch.randn(1, 2, 3, 4)).item() == 0.0
    bent = line.clone()
    bent[:, 2] += 1.0
    assert smoothness_loss(bent).item() > 0.1


def test_losses_reject_bad_shapes():
    with pytest.raises(LganimError):
        latent_loss(torch.zeros(3, 4))


def test_identity_loss_by_hand():
    f = torch.tensor([[1.0, 0.0]])
    r = torch.tensor([[0.6, 0.8]])
    assert identity_loss(f, r).item() == pytest.approx(0.4)
    assert identity_loss(r, r).item() == pytest.approx(0.0, abs=1e-7)


class ToyGenerator(nn.Module):
    """synthesis: the first 3 W channels of layer 0 as a flat 8x8 image."""

    def synthesis(self, ws):
        return ws[:, 0, :3, None, None].expand(-1, 3, 8, 8).tanh()


class ToyClip(nn.Module):
    def encode_image(self, images):
        return nn.functional.normalize(images.mean(dim=(2, 3)), dim=-1)

    def encode_text(self, texts):
        table = {"red": [1.0, 0, 0], "green": [0, 1.0, 0], "blue": [0, 0, 1.0]}
        return torch.tensor([table[t] for t in texts])


def test_objective_terms_gradient_and_cache():
    obj = MotionObjective(ToyGenerator(), ToyClip(), LossWeights(identity=1.0, lpips=1.0))
    assert obj.skipped == ["identity (no ir_se50.pth)", "lpips (package not installed)"]
    w0 = torch.zeros(2, 2, 4)
    w0[:, :, 3] = 1.0
    dw = torch.zeros(2, 3, 2, 4, requires_grad=True)
    total, terms = obj(w0, dw, ["red", "green"])
    assert set(terms) == {"latent", "loop", "smooth", "clip"}
    assert total.item() == pytest.approx(sum(terms.values()), rel=1e-6)
    total.backward()
    # only the last frame is scored by CLIP; the first frame's offset gets no CLIP gradient
    assert dw.grad[:, -1].abs().sum() > 0
    assert set(obj._text_cache) == {"red", "green"}


def test_objective_moving_towards_the_prompt_lowers_the_clip_term():
    obj = MotionObjective(ToyGenerator(), ToyClip(), LossWeights(latent=0, loop=0, smooth=0))
    w0 = torch.full((1, 1, 4), 0.1)
    still = torch.zeros(1, 2, 1, 4)
    moved = still.clone()
    moved[0, 1, 0, 0] = 2.0                                 # redder last frame
    _, a = obj(w0, still, ["red"], negatives=["green", "blue"])
    _, b = obj(w0, moved, ["red"], negatives=["green", "blue"])
    assert b["clip"] < a["clip"]


def test_objective_refuses_all_zero_weights():
    obj = MotionObjective(ToyGenerator(), ToyClip(), LossWeights(clip=0, latent=0, loop=0, smooth=0))
    with pytest.raises(LganimError):
        obj(torch.zeros(1, 1, 4), torch.zeros(1, 2, 1, 4), ["red"])


def test_weights_validation():
    with pytest.raises(LganimError):
        LossWeights(clip=-1)
    with pytest.raises(LganimError):
        LossWeights(temperature=0)
