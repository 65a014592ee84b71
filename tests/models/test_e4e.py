import json

import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.models.e4e import E4EConfig, E4EEncoder, images_to_tensor, invert, refine
from lganim.weights.encoders import load_e4e
from tests import FIXTURES, ROOT

FIX = FIXTURES
TINY = E4EConfig(input_size=64, stage_channels=(16, 24, 32, 64), stage_units=(1, 1, 2, 1),
                 num_ws=10, style_dim=64)


def test_state_dict_matches_manifest_exactly():
    shapes = json.loads((FIX / "e4e_encoder_keys.json").read_text())["shapes"]
    with torch.device("meta"):
        enc = E4EEncoder()
    got = [(k, list(v.shape)) for k, v in enc.state_dict().items()]
    assert got == [(k[len("encoder."):], v) for k, v in shapes.items()]


@pytest.fixture(scope="module")
def reference_run():
    weights = torch.load(FIX / "e4e_ref_weights.pt", weights_only=True)
    io = torch.load(FIX / "e4e_ref_io.pt", weights_only=True)
    with torch.device("meta"):
        enc = E4EEncoder()
    # clone: the fixture's large tensors are views into one shared storage
    enc.load_state_dict({k: v.clone() for k, v in weights.items()}, strict=True, assign=True)
    enc.eval()
    with torch.no_grad():
        codes, feats = enc.forward_with_features(io["inputs"]["x"])
    return codes, feats, io


@pytest.mark.parametrize("oracle", ["outputs_f32", "outputs_f64"])
def test_reference_codes_and_taps(reference_run, oracle):
    codes, f, io = reference_run
    ref = {k: v.float() for k, v in io[oracle].items()}
    tight = dict(rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(codes, ref["codes"], **tight)
    torch.testing.assert_close(f["styles_out"], ref["styles_out"], **tight)
    torch.testing.assert_close(f["stem"].mean((2, 3)), ref["stem_mean"], **tight)
    for name in ("c1", "c2", "p2", "p1"):
        torch.testing.assert_close(f[name].mean((2, 3)), ref[f"{name}_mean"], **tight)
    torch.testing.assert_close(f["c3"], ref["c3"], rtol=1e-5, atol=1e-4)
    if oracle == "outputs_f32":
        torch.testing.assert_close(f["c2"][:, :, ::4, ::4], ref["c2_sub4"], rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(f["c1"][:, :, ::8, ::8], ref["c1_sub8"], rtol=1e-5, atol=1e-4)
    assert f["c1"].shape[-1] == 64 and f["c2"].shape[-1] == 32 and f["c3"].shape[-1] == 16


def test_tiny_encoder_shapes():
    torch.manual_seed(0)
    enc = E4EEncoder(TINY).eval()
    assert enc.config.tap_units == (1, 3, 4)
    with torch.no_grad():
        codes, f = enc.forward_with_features(torch.rand(3, 3, 64, 64) * 2 - 1)
    assert codes.shape == (3, 10, 64)
    assert f["c3"].shape[-1] == 4 and f["p2"].shape[-1] == 8 and f["p1"].shape[-1] == 16
    torch.testing.assert_close(codes[:, 1:] - codes[:, :1], f["styles_out"][:, 1:])
    assert E4EEncoder(TINY, num_ws=6).config.num_ws == 6


def _save_fake_checkpoint(path, enc, latent_avg, legacy=False, with_config=False):
    sd = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    sd["decoder.style.1.weight"] = torch.randn(8, 8)      # generator keys: must be ignored
    sd["decoder.input.input"] = torch.randn(1, 8, 4, 4)
    ckpt = {"state_dict": sd, "latent_avg": latent_avg,
            "opts": {"exp_dir": "x", "stylegan_size": 64, "batch_size": 8, "lpips_lambda": 0.8,
                     "start_from_latent_avg": True, "resume_training_from_ckpt": None,
                     "progressive_steps": [0, 20000], "dataset_type": "ffhq_encode"}}
    if with_config:
        ckpt["e4e_config"] = enc.config.to_dict()
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)


@pytest.mark.parametrize("legacy,with_config", [(False, False), (True, False), (False, True)])
def test_load_e4e_reads_encoder_and_latent_avg(tmp_path, legacy, with_config):
    torch.manual_seed(1)
    enc = E4EEncoder(TINY).eval()
    latent_avg = torch.randn(10, 64)
    p = tmp_path / "e4e.pt"
    _save_fake_checkpoint(p, enc, latent_avg, legacy=legacy, with_config=with_config)
    loaded, avg = load_e4e(p, device="cpu", dtype=torch.float32)
    assert loaded.config == TINY and not loaded.training
    assert not any(q.requires_grad for q in loaded.parameters())
    torch.testing.assert_close(avg, latent_avg)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), enc(x), rtol=0, atol=0)
    loaded64, avg64 = load_e4e(p, dtype=torch.float64)
    assert avg64.dtype == torch.float64 and next(loaded64.parameters()).dtype == torch.float64


def test_load_e4e_repeats_1d_latent_avg(tmp_path):
    enc = E4EEncoder(TINY)
    p = tmp_path / "e4e.pt"
    _save_fake_checkpoint(p, enc, torch.arange(64.0))
    _, avg = load_e4e(p)
    assert avg.shape == (10, 64) and torch.equal(avg[7], torch.arange(64.0))


def test_load_e4e_errors(tmp_path):
    with pytest.raises(LganimError, match="not found"):
        load_e4e(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(LganimError, match="not a readable"):
        load_e4e(tmp_path / "text.pt")
    torch.save({"g_ema": {"a": torch.zeros(1)}}, tmp_path / "gen.pt")
    with pytest.raises(LganimError, match="not an e4e checkpoint"):
        load_e4e(tmp_path / "gen.pt")
    torch.save({"state_dict": {"decoder.x": torch.zeros(1)}}, tmp_path / "dec.pt")
    with pytest.raises(LganimError, match="no encoder weights"):
        load_e4e(tmp_path / "dec.pt")
    enc = E4EEncoder(TINY)
    sd = {f"encoder.{k}": v for k, v in enc.state_dict().items()}
    sd["encoder.latlayer1.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save({"state_dict": sd, "latent_avg": torch.zeros(10, 64)}, tmp_path / "bad.pt")
    with pytest.raises(LganimError, match="do not fit"):
        load_e4e(tmp_path / "bad.pt")
    _save_fake_checkpoint(tmp_path / "avg.pt", enc, torch.zeros(9, 64))
    with pytest.raises(LganimError, match="latent_avg"):
        load_e4e(tmp_path / "avg.pt")


def test_invert_adds_latent_avg_and_resizes():
    torch.manual_seed(2)
    enc = E4EEncoder(TINY).eval().requires_grad_(False)
    avg = torch.randn(10, 64)
    faces = np.random.default_rng(0).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    w = invert(enc, avg, faces)
    assert w.shape == (2, 10, 64)
    x = images_to_tensor(faces, 64, "cpu", torch.float32)
    assert x.shape == (2, 3, 64, 64) and x.min() >= -1 and x.max() <= 1
    with torch.no_grad():
        torch.testing.assert_close(w, enc(x) + avg)
    with pytest.raises(LganimError, match="uint8"):
        invert(enc, avg, faces.astype(np.float32))


def test_refine_decreases_loss():
    g = torch.Generator().manual_seed(3)
    proj = torch.randn(10 * 8, 3 * 16 * 16, generator=g) / 9.0

    def synthesize(w):                                   # [B, 10, 8] -> [B, 3, 16, 16] in [-1, 1]
        return torch.tanh(w.flatten(1) @ proj).view(-1, 3, 16, 16)

    w_true = torch.randn(2, 10, 8, generator=g)
    target = synthesize(w_true)
    w0 = torch.zeros(2, 10, 8)
    losses = []
    w = refine(w0, target, synthesize, steps=40, lr=0.05, progress=lambda s, n, loss: losses.append((s, n, loss)))
    assert [s for s, _, _ in losses] == list(range(1, 41)) and losses[0][1] == 40
    assert losses[-1][2] < 0.5 * losses[0][2]
    assert not w.requires_grad and w.shape == w0.shape
    assert torch.equal(w0, torch.zeros(2, 10, 8))         # the input is not modified
    # uint8 [B, H, W, 3] targets are accepted as well, and inference mode outside does not break it
    target_u8 = ((target.permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    with torch.inference_mode():
        w_inf = torch.zeros(2, 10, 8)                      # an inference tensor, as `invert` returns
        w2 = refine(w_inf, target_u8, synthesize, steps=5, lr=0.05)
    assert not torch.equal(w2, torch.zeros(2, 10, 8))


REAL_E4E = ROOT / "weights" / "e4e_ffhq_encode.pt"


@pytest.mark.real_weights("e4e_ffhq_encode.pt")
def test_real_e4e_checkpoint_inverts_astronaut():
    from lganim.face.align import align_face
    from lganim.face.photo import load_photo

    enc, avg = load_e4e(REAL_E4E)
    assert enc.config == E4EConfig() and avg.shape == (18, 512)
    face = align_face(load_photo(FIX / "faces" / "astronaut.png"), size=256).image
    w = invert(enc, avg, face[None])
    assert w.shape == (1, 18, 512) and torch.isfinite(w).all()
    # a trained encoder predicts offsets that are small next to the spread of W itself
    assert (w - avg).norm(dim=-1).mean() < avg.norm(dim=-1).mean()
