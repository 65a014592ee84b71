"""Which files each domain loads: the demo's built files, the registry's Hub files."""
from lganim.weights.domain_files import domain_files, stylegan_on_disk
from lganim.weights.registry import DOMAINS, E4E_FFHQ, get_domain


def test_demo_files_are_built_and_real_files_are_hub_files(weights_dir):
    demo = domain_files(get_domain("demo"))
    assert demo.stylegan.is_file() and demo.encoder.is_file() and (demo.motion / "config.json").is_file()
    human = domain_files(get_domain("human"))
    assert human.stylegan == DOMAINS["human"].weights and human.encoder == E4E_FFHQ and human.motion is None
    assert domain_files(get_domain("dog")).encoder is None                  # no photo encoder
    assert human.model_id != domain_files(get_domain("art")).model_id        # fit caches never mix
    assert stylegan_on_disk(get_domain("demo")) and not stylegan_on_disk(get_domain("human"))
