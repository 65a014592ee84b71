"""The domain registry (pure data)."""
import pytest

from lganim.errors import LganimError
from lganim.weights.registry import DOMAINS, E4E_FFHQ, domain_downloads, download_line, get_domain


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


def test_a_domain_lists_every_file_its_first_use_downloads():
    human, art, demo = DOMAINS["human"], DOMAINS["art"], DOMAINS["demo"]
    assert [f.filename for f in domain_downloads(human)] == [
        "stylegan2-ffhq-config-f.pt", "open_clip_model.safetensors", "open_clip_model.safetensors",
        "e4e_ffhq_encode.pt"]
    assert E4E_FFHQ not in domain_downloads(art) and domain_downloads(demo) == []
    assert download_line(human) == "≈ 2.3 GB (StyleGAN2 133 MB, CLIP 408 MB, CLIP 605 MB, e4e 1202 MB)"
    assert download_line(DOMAINS["dog"]).startswith("≥ 1.0 GB (StyleGAN2 size unknown")
