"""Where a public file comes from: a copy placed by hand, the Hub (offline here, or a stand-in that refuses every
connection or serves a file), and the sha256 check."""
import hashlib
import json

import httpx2
import pytest

from lganim.config import HUB_PROBE_MEMORY
from lganim.errors import LganimError
from lganim.weights import hub
from lganim.weights.registry import CLIP_FILES, DOMAINS, E4E_FFHQ, WeightFile
from tests import ROOT


def test_local_override_wins(weights_dir):
    weight = WeightFile("someone/repo", "sub/model.pt", "MIT")
    (weights_dir / "model.pt").write_bytes(b"abc")
    assert hub.fetch(weight) == weights_dir / "model.pt"
    assert hub.cached_file(weight) == weights_dir / "model.pt"


def test_offline_missing_file_is_one_line_without_a_path_of_this_machine(weights_dir, monkeypatch):
    weight = DOMAINS["human"].weights
    assert hub.cached_file(weight) is None
    with pytest.raises(LganimError) as err:
        hub.fetch(weight)
    msg = str(err.value)
    assert "\n" not in msg
    assert weight.basename in msg and weight.repo_id in msg and "HF_HUB_OFFLINE is set" in msg
    assert "LGANIM_WEIGHTS" in msg and str(weights_dir) not in msg                # the app shows it to web users
    assert err.value.where == str(weights_dir / weight.basename)                   # the CLI adds it
    assert str(weights_dir / weight.basename) in err.value.full_message()
    monkeypatch.delenv("LGANIM_WEIGHTS")
    with pytest.raises(LganimError) as err:
        hub.fetch(weight)
    assert "lganim's weights/ folder as stylegan2-ffhq-config-f.pt" in str(err.value)
    assert str(ROOT) not in str(err.value) and err.value.where == str(ROOT / "weights" / weight.basename)


def test_an_unreachable_hub_is_asked_once_and_never_retried(fake_hub, weights_dir):
    wanted = [DOMAINS["human"].weights, E4E_FFHQ, *CLIP_FILES["RN50"], *CLIP_FILES["ViT-B/32"]]
    for weight in wanted:
        with pytest.raises(LganimError) as err:
            hub.fetch(weight)
        assert str(err.value).startswith(f"{weight.basename} is missing: the Hugging Face Hub cannot be reached")
    assert len(fake_hub.requests) == 1 and fake_hub.requests[0].method == "HEAD"   # one probe; today 7 a file
    assert fake_hub.sleeps == []                                                    # no back-off; today 23 s a file


def test_the_probe_is_remembered_for_a_while_then_asked_again(fake_hub):
    now = [1000.0]
    probe = hub.HubProbe(clock=lambda: now[0])
    weight = DOMAINS["human"].weights
    assert probe.access(weight).state == "unreachable"
    now[0] += HUB_PROBE_MEMORY - 1
    assert probe.access(E4E_FFHQ).state == "unreachable" and len(fake_hub.requests) == 1   # same Hub, remembered
    fake_hub.answer = lambda request: httpx2.Response(401)                         # the network is back
    now[0] += 2
    access = probe.access(weight)
    assert access.reachable and len(fake_hub.requests) == 2
    fake_hub.answer = lambda request: httpx2.Response(503)
    now[0] += HUB_PROBE_MEMORY
    assert probe.access(weight).state == "unreachable" and "HTTP 503" in probe.access(weight).reason


def test_a_reachable_hub_downloads_through_hf_hub_download(fake_hub, weights_dir):
    content = b"weights"
    weight = WeightFile("someone/tiny", "model.pt", "MIT", sha256=hashlib.sha256(content).hexdigest(),
                        size=len(content), revision="a" * 40)
    headers = {"x-repo-commit": "a" * 40, "etag": '"e1"', "content-length": str(len(content))}
    fake_hub.answer = lambda request: httpx2.Response(200, headers=headers,
                                                      content=content if request.method == "GET" else b"")

    def downloads() -> int:
        return sum(r.method == "GET" and r.url.path.endswith("/model.pt") for r in fake_hub.requests)

    path = hub.fetch(weight)
    assert path.read_bytes() == content and weight.repo_id.replace("/", "--") in str(path)   # the Hub's cache
    assert downloads() == 1
    assert hub.fetch(weight) == path and downloads() == 1                                    # on disk now


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
