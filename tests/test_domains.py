"""The domain registry (pure data) and which files each domain loads."""
import pytest

from lganim.domains import DOMAINS, E4E_FFHQ, get_domain
from lganim.errors import LganimError
from lganim.weights import domain_files, generator_on_disk


def test_registry_covers_the_domains_of_the_design():
    assert set(DOMAINS) == {"human", "art", "dog", "anime", "demo"}
    assert DOMAINS["human"].generator.num_ws == 18 and DOMAINS["human"].supports_photos
    assert DOMAINS["dog"].generator.size == 512
    anime = DOMAINS["anime"].generator
    assert (anime.size, anime.style_dim, anime.n_mlp) == (512, 1024, 4)
    assert DOMAINS["demo"].untrained and DOMAINS["demo"].weights is None
    for name in ("human", "art", "dog"):
        assert "non-commercial" in DOMAINS[name].licence
    assert E4E_FFHQ.size == 1_201_649_680


def test_unknown_domain_names_the_choices():
    with pytest.raises(LganimError, match="Unknown domain 'cats'.*human"):
        get_domain("cats")


def test_demo_files_are_built_and_real_files_are_hub_files(weights_dir):
    demo = domain_files(get_domain("demo"))
    assert demo.generator.is_file() and demo.encoder.is_file() and (demo.motion / "config.json").is_file()
    human = domain_files(get_domain("human"))
    assert human.generator == DOMAINS["human"].weights and human.encoder == E4E_FFHQ and human.motion is None
    assert domain_files(get_domain("dog")).encoder is None                  # no photo encoder
    assert human.model_id != domain_files(get_domain("art")).model_id        # fit caches never mix
    assert generator_on_disk(get_domain("demo")) and not generator_on_disk(get_domain("human"))
