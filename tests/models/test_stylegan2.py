"""Parity of the pure-PyTorch generator with rosinality's reference outputs (tests/fixtures/STYLEGAN2_README.md)."""
import json

import pytest
import torch

from lganim.models.stylegan2 import Generator, to_uint8
from tests import FIXTURES

FIXTURES = FIXTURES
TOL = dict(atol=1e-4, rtol=1e-4)


def test_mapping_and_mean_latent(g64, io):
    inp, out = io["inputs"], io["outputs_f32"]
    torch.testing.assert_close(g64.mapping(inp["z"]), out["w_from_z"], atol=1e-5, rtol=1e-5)
    mean = g64.mapping(inp["z_mean"]).mean(0, keepdim=True)
    torch.testing.assert_close(mean, out["mean_latent"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g64.mapping(inp["z_wplus"]).view(2, 10, 512), out["w_plus"], atol=1e-5, rtol=1e-5)


def test_synthesis_cases(g64, io):
    inp, out = io["inputs"], io["outputs_f32"]
    w = g64.mapping(inp["z"])
    w_plus = out["w_plus"]
    mean = out["mean_latent"]
    torch.testing.assert_close(g64.synthesis(w), out["img_z"], **TOL)  # 2-D w repeated to all layers
    torch.testing.assert_close(g64.broadcast_ws(w), out["latent_z"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g64.synthesis(g64.truncate(w, 0.7, mean)), out["img_z_trunc07"], **TOL)
    mixed = torch.cat([g64.broadcast_ws(w)[:, :4], g64.broadcast_ws(g64.mapping(inp["z2"]))[:, 4:]], 1)   # mixing
    torch.testing.assert_close(mixed, out["latent_mix_inject4"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g64.synthesis(mixed), out["img_mix_inject4"], **TOL)
    torch.testing.assert_close(g64.synthesis(w_plus), out["img_wplus"], **TOL)
    torch.testing.assert_close(g64.synthesis(g64.truncate(w_plus, 0.7, mean)), out["img_wplus_trunc07"], **TOL)
    torch.testing.assert_close(g64.synthesis(out["w_from_z"]), out["img_w_2d"], **TOL)
    torch.testing.assert_close(g64.synthesis(w_plus, noise=inp["noise_list"]), out["img_wplus_explicit_noise"], **TOL)


def test_float64_oracle(g64, io):
    g = Generator(64, 512, 8, channel_multiplier=1)
    g.load_state_dict(torch.load(FIXTURES / "ref_g64.pt", weights_only=True), strict=True)
    g = g.double().eval()
    w_plus = io["outputs_f32"]["w_plus"].double()
    torch.testing.assert_close(g.synthesis(w_plus), io["outputs_f64"]["img_wplus"], atol=1e-4, rtol=1e-4)


def test_intermediate_styles(g64, io):
    ref = io["intermediates_img_wplus_f32"]
    w_plus = io["outputs_f32"]["w_plus"]
    layers = {"conv1": 0, "to_rgb1": 1}
    for k in range(4):
        layers[f"convs.{2 * k}"] = 1 + 2 * k
        layers[f"convs.{2 * k + 1}"] = 2 + 2 * k
        layers[f"to_rgbs.{k}"] = 3 + 2 * k
    for name, idx in layers.items():
        s = g64.get_submodule(name).conv.modulation(w_plus[:, idx])
        torch.testing.assert_close(s, ref[f"style_{name}"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [1024, 256])
def test_key_manifest(size):
    manifest = json.loads((FIXTURES / f"rosinality_g{size}_keys.json").read_text())
    with torch.device("meta"):
        g = Generator(size)
    shapes = {k: list(v.shape) for k, v in g.state_dict().items()}
    assert list(shapes) == list(manifest["shapes"])  # same keys in the same order
    assert shapes == manifest["shapes"]
    assert g.num_ws == manifest["n_latent"]


def test_tadne_channel_table():
    table = {4: 1024, 8: 1024, 16: 1024, 32: 1024, 64: 1024, 128: 512, 256: 256, 512: 128}
    with torch.device("meta"):
        g = Generator(512, style_dim=1024, n_mlp=4, channels=table)
    assert g.num_ws == 16
    assert g.style[4].weight.shape == (1024, 1024) and len(g.style) == 5
    assert g.convs[-1].conv.weight.shape == (1, 128, 128, 3, 3)
    assert Generator.from_config(g.config).config == g.config


def test_batches_render_each_sample_independently(g64, io):
    w_plus = io["outputs_f32"]["w_plus"]
    ws = torch.cat([w_plus, w_plus.flip(0), w_plus * 0.5])  # [6, L, D]
    whole = g64.synthesis(ws)
    torch.testing.assert_close(torch.cat([g64.synthesis(ws[:4]), g64.synthesis(ws[4:])]), whole,
                               atol=1e-5, rtol=1e-5)
    frames = to_uint8(whole)
    assert frames.dtype == torch.uint8 and frames.shape == (6, 64, 64, 3)
    assert frames[0].float().mean() == ((whole[0].clamp(-1, 1) + 1) * 127.5).round().mean()


def test_bad_ws_shape(g64):
    with pytest.raises(ValueError, match="W\\+ codes"):
        g64.synthesis(torch.zeros(1, 3, 512))
