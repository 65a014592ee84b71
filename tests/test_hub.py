import hashlib

import pytest

from lganim import hub
from lganim.errors import LganimError
from lganim.hub import DOMAINS, WeightFile


def test_registry_covers_the_domains_of_the_design():
    assert set(DOMAINS) == {"human", "art", "dog", "anime", "demo"}
    assert DOMAINS["human"].generator.num_ws == 18 and DOMAINS["human"].supports_photos
    assert DOMAINS["dog"].generator.size == 512
    anime = DOMAINS["anime"].generator
    assert (anime.size, anime.style_dim, anime.n_mlp) == (512, 1024, 4)
    assert DOMAINS["demo"].untrained and DOMAINS["demo"].weights is None
    for name in ("human", "art", "dog"):
        assert "non-commercial" in DOMAINS[name].licence
    assert hub.E4E_FFHQ.size == 1_201_649_680


def test_unknown_domain_names_the_choices():
    with pytest.raises(LganimError, match="Unknown domain 'cats'.*human"):
        hub.get_domain("cats")


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
