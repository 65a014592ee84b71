"""Reading rosinality .pt, NVIDIA .pkl (restricted unpickling) and our safetensors files."""
import json
from pathlib import Path

import pytest
import torch

import lganim.weights.formats
from lganim.errors import LganimError
from lganim.weights.formats import read_safetensors, save_safetensors
from tests import FIXTURES
from tests.weights.reference import REF_CONFIG

# --------------------------------------------------------------------------- safetensors

def test_safetensors_roundtrip_clones_shared_storage(tmp_path):
    shared = torch.load(FIXTURES / "ref_g64.pt", weights_only=True)  # views into shared pools
    config = {"generator": REF_CONFIG.to_dict(), "note": "test"}
    out = save_safetensors(tmp_path / "m", shared, config)
    assert out == tmp_path / "m" / "model.safetensors"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((tmp_path / "m" / "config.json").read_text()) == config

    for source in (tmp_path / "m", out):
        state, cfg = read_safetensors(source)
        assert cfg == config and set(state) == set(shared)
        for k, v in shared.items():
            assert torch.equal(state[k], v), k

    (tmp_path / "m" / "config.json").unlink()  # the file's own metadata still carries the config
    assert read_safetensors(out)[1] == config


def test_safetensors_failure_leaves_no_files(tmp_path):
    target = tmp_path / "m"
    with pytest.raises(LganimError, match="JSON"):
        save_safetensors(target, {"a": torch.zeros(2)}, {"bad": object()})
    assert not target.exists() or not any(target.iterdir())
    with pytest.raises(LganimError, match="str -> tensor"):
        save_safetensors(target, {"a": [1, 2]}, {})

    target.mkdir(exist_ok=True)
    save_safetensors(target, {"a": torch.zeros(2)}, {"v": 1}, name="other")
    assert sorted(p.name for p in target.iterdir()) == ["other.config.json", "other.safetensors"]
    state, cfg = read_safetensors(target / "other.safetensors")
    assert torch.equal(state["a"], torch.zeros(2)) and cfg == {"v": 1}


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(LganimError, match="not a readable safetensors"):
        read_safetensors(tmp_path)


def test_safetensors_write_failure_removes_temp_files(tmp_path, monkeypatch):
    save_safetensors(tmp_path, {"a": torch.ones(2)}, {"v": 1})  # an existing good file stays intact

    def fail(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lganim.weights.formats, "save_file", fail)
    with pytest.raises(LganimError, match="could not write"):
        save_safetensors(tmp_path, {"a": torch.zeros(2)}, {"v": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    state, cfg = read_safetensors(tmp_path)
    assert torch.equal(state["a"], torch.ones(2)) and cfg == {"v": 1}
