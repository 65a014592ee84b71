"""The motion generator's files: lganim's own folder (save/load) and the authors' training checkpoints."""
import json

import pytest
import torch

from lganim.config import MotionConfig
from lganim.errors import LganimError
from lganim.models.motion_generator import MotionGenerator
from lganim.weights.motion_files import (
    load_motion,
    load_official_state_dict,
    official_motion_config,
    save_motion,
)
from tests.models.test_motion_generator import (
    CFG,
    D,
    E,
    H,
    L,
    embeddings,
    gen,
    make_model,
)


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


def test_save_load_round_trip(tmp_path):
    model = make_model()
    text, image = embeddings()
    folder = save_motion(model, tmp_path / "motion")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format"] == "lganim.motion" and meta["config"]["hidden_dim"] == H
    loaded = load_motion(folder)
    assert loaded.config == CFG
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    assert torch.equal(loaded(text, image, 5, generator=gen(2)), model(text, image, 5, generator=gen(2)))
    half = load_motion(folder, dtype=torch.float64, trainable=True)
    assert half.rnn.fc1.weight.dtype == torch.float64 and half.rnn.fc1.weight.requires_grad
    # overwrite in place, nothing left behind next to it
    other = make_model(seed=5)
    save_motion(other, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["motion"]
    assert torch.equal(load_motion(folder)(text, image, 4), other(text, image, 4))


def test_save_load_errors(tmp_path):
    model = make_model()
    with pytest.raises(LganimError, match="not a saved motion model"):
        load_motion(tmp_path / "absent")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep")
    with pytest.raises(LganimError, match="other files"):
        save_motion(model, busy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    folder = save_motion(model, tmp_path / "m")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(LganimError, match="config"):
        load_motion(folder)
    save_motion(model, folder)
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(LganimError, match="weights"):
        load_motion(folder)


@pytest.mark.gpu
def test_cuda_matches_cpu(tmp_path):
    model = make_model()
    text, image = embeddings()
    cpu = model(text, image, 6, generator=gen(4))
    folder = save_motion(model, tmp_path / "m")
    cuda = load_motion(folder, device="cuda")
    # CPU generator, CUDA model: the hidden state is drawn on the generator's device, then moved
    out = cuda(text.cuda(), image.cuda(), 6, generator=gen(4))
    assert out.device.type == "cuda" and torch.equal(out[:, 0], torch.zeros_like(out[:, 0]))
    torch.testing.assert_close(out.cpu(), cpu, atol=1e-4, rtol=1e-4)
    half = load_motion(folder, device="cuda", dtype=torch.float16)
    assert half(text.cuda(), image.cuda(), 6).dtype == torch.float16
