"""The domain registry (pure data)."""
import pytest

from lganim.errors import LganimError
from lganim.weights.registry import DOMAINS, E4E_FFHQ, get_domain


def test_registry_covers_the_domains_of_the_design():
    assert set(DOMAINS) == {"human", "art", "dog", "anime", "demo"}
    assert DOMAINS["human"].stylegan.num_ws == 18 and DOMAINS["human"].supports_photos
    assert DOMAINS["dog"].stylegan.size == 512
    anime = DOMAINS["anime"].stylegan
    assert (anime.size, anime.style_dim, anime.n_mlp) == (512, 1024, 4)
    assert DOMAINS["demo"].untrained and DOMAINS["demo"].weights is None
    for name in ("human", "art", "dog"):
        assert "non-commercial" in DOMAINS[name].licence
    assert E4E_FFHQ.size == 1_201_649_680


def test_unknown_domain_names_the_choices():
    with pytest.raises(LganimError, match="Unknown domain 'cats'.*human"):
        get_domain("cats")
