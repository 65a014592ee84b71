"""Reading rosinality .pt, NVIDIA .pkl (restricted unpickling) and our safetensors files."""
import argparse

import pytest
import torch

from lganim.config import GeneratorConfig
from lganim.errors import LganimError
from lganim.weights.formats import save_safetensors
from lganim.weights.stylegan_files import (
    LATENT_AVG_KEY,
    load_generator,
    read_rosinality,
)
from tests import FIXTURES
from tests.weights.reference import REF_CONFIG, ref_state

# --------------------------------------------------------------------------- rosinality

def test_rosinality_roundtrip_with_latent_avg(tmp_path):
    sd = ref_state()
    latent_avg = torch.randn(512, generator=torch.Generator().manual_seed(5))
    path = tmp_path / "g.pt"
    torch.save({"g_ema": sd, "latent_avg": latent_avg, "g": {"x": torch.zeros(2)}, "d": {"y": torch.ones(2)}}, path)

    state, avg = read_rosinality(path)
    assert set(state) == set(sd) and torch.equal(avg, latent_avg)

    g = load_generator(path, REF_CONFIG)
    assert not g.training and not any(p.requires_grad for p in g.parameters())
    loaded = g.state_dict()
    assert set(loaded) == set(sd)
    for k, v in sd.items():
        assert torch.equal(loaded[k], v), k
    assert torch.equal(g.latent_avg, latent_avg)

    io = torch.load(FIXTURES / "ref_g64_io.pt", weights_only=True)
    torch.testing.assert_close(g.mapping(io["inputs"]["z"]), io["outputs_f32"]["w_from_z"], atol=1e-5, rtol=1e-5)


def test_rosinality_without_latent_avg_uses_seeded_mean(tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": ref_state()}, path)
    assert read_rosinality(path)[1] is None

    g1 = load_generator(path, REF_CONFIG)
    g2 = load_generator(path, None)  # config read from the shapes
    assert g2.config == REF_CONFIG
    assert torch.equal(g1.latent_avg, g2.latent_avg)
    expected = g1.mean_latent(4096, generator=torch.Generator().manual_seed(0))[0]
    assert torch.equal(g1.latent_avg, expected)
    assert g1.latent_avg.abs().sum() > 0


def test_bare_state_dict_and_training_args_are_accepted(tmp_path):
    bare = tmp_path / "bare.pth"
    torch.save(ref_state(), bare)
    state, avg = read_rosinality(bare)
    assert "input.input" in state and avg is None

    # rosinality's train.py stores its argparse.Namespace under "args".
    train = tmp_path / "train.pt"
    torch.save({"g_ema": ref_state(), "args": argparse.Namespace(size=64, lr=0.002)}, train)
    assert len(read_rosinality(train)[0]) == 99


def test_load_generator_dtype(tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": ref_state()}, path)
    g = load_generator(path, REF_CONFIG, dtype=torch.float64)
    assert all(t.dtype == torch.float64 for t in g.state_dict().values())
    assert g.latent_avg.dtype == torch.float64


class NotATensor:
    def __init__(self):
        self.x = 1


def test_weights_only_refusal_is_a_clear_error(tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": ref_state(), "extra": NotATensor()}, path)
    with pytest.raises(LganimError, match="unsafe or is not a rosinality"):
        read_rosinality(path)


@pytest.mark.parametrize("content", [b"not a checkpoint at all", b""])
def test_garbage_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "g.pt"
    path.write_bytes(content)
    with pytest.raises(LganimError, match="not a readable PyTorch checkpoint"):
        read_rosinality(path)


def test_checkpoint_without_g_ema(tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"state_dict": {"a": torch.zeros(1)}}, path)
    with pytest.raises(LganimError, match="no 'g_ema'"):
        read_rosinality(path)
    with pytest.raises(LganimError, match="not found"):
        read_rosinality(tmp_path / "missing.pt")


def test_wrong_config_names_file_and_mismatch(tmp_path):
    path = tmp_path / "g64.pt"
    torch.save({"g_ema": ref_state()}, path)
    with pytest.raises(LganimError) as info:
        load_generator(path, GeneratorConfig(64, 512, 8, channel_multiplier=2))
    message = str(info.value)
    assert "\n" not in message and "g64.pt" in message
    assert "convs.8.conv.weight" in message or "in the file but" in message
    with pytest.raises(LganimError, match="keys missing"):
        load_generator(path, GeneratorConfig(128, 512, 8, channel_multiplier=1))


def test_generator_safetensors_roundtrip(tmp_path):
    pt = tmp_path / "g.pt"
    latent_avg = torch.randn(512, generator=torch.Generator().manual_seed(9))
    torch.save({"g_ema": ref_state(), "latent_avg": latent_avg}, pt)
    g = load_generator(pt, REF_CONFIG)
    state = {**g.state_dict(), LATENT_AVG_KEY: g.latent_avg}                      # lganim's own file
    save_safetensors(tmp_path / "ours", state, {"generator": g.config.to_dict()}, name="model")
    g2 = load_generator(tmp_path / "ours")
    assert g2.config == REF_CONFIG and torch.equal(g2.latent_avg, latent_avg)
    for k, v in g.state_dict().items():
        assert torch.equal(g2.state_dict()[k], v), k


