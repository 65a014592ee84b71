"""Where a public file comes from: a copy placed by hand, the Hub (offline here), and the sha256 check."""
import hashlib
import json

import pytest

from lganim.errors import LganimError
from lganim.weights import hub
from lganim.weights.registry import DOMAINS, WeightFile


def test_local_override_wins(weights_dir):
    weight = WeightFile("someone/repo", "sub/model.pt", "MIT")
    (weights_dir / "model.pt").write_bytes(b"abc")
    assert hub.fetch(weight) == weights_dir / "model.pt"
    assert hub.cached_file(weight) == weights_dir / "model.pt"


def test_offline_missing_file_is_one_clear_line(weights_dir):
    weight = DOMAINS["human"].weights
    assert hub.cached_file(weight) is None
    with pytest.raises(LganimError) as err:
        hub.fetch(weight)
    msg = str(err.value)
    assert "\n" not in msg
    assert weight.basename in msg and weight.repo_id in msg and str(weights_dir) in msg


def test_sha256_is_checked(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    good = WeightFile("r/r", "f.bin", "MIT", sha256=hashlib.sha256(b"hello").hexdigest())
    hub.verify_sha256(path, good)
    bad = WeightFile("r/r", "f.bin", "MIT", sha256="0" * 64)
    with pytest.raises(LganimError, match="corrupt"):
        hub.verify_sha256(path, bad)


def test_a_damaged_memo_is_ignored_and_rewritten_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path / "cache"))
    memo = tmp_path / "cache" / "verified.json"
    memo.parent.mkdir()
    memo.write_text('{"truncated": ')                                  # as a crashed writer could leave it
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    weight = WeightFile("r/r", "f.bin", "MIT", sha256=hashlib.sha256(b"hello").hexdigest(), size=5)
    hub.verify_sha256(path, weight)
    assert list(json.loads(memo.read_text()).values()) == [weight.sha256]
    assert not [p for p in memo.parent.iterdir() if p.name.startswith(".")]   # no temporary file left


def test_size_is_checked_before_hashing(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hell")
    with pytest.raises(LganimError, match="4 bytes, expected 5"):
        hub.verify_sha256(path, WeightFile("r/r", "f.bin", "MIT", sha256="0" * 64, size=5))
