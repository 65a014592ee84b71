"""What the page says: the start domain and its notice, the domain lines, the footer."""



from lganim.weights.registry import DOMAINS
from ui import text

SMILE = "The person is smiling."


def quiet(fraction, text):
    pass


def test_start_domain_falls_back_to_demo_without_weights(monkeypatch, weights_dir):
    monkeypatch.delenv("LGANIM_DOMAIN", raising=False)
    domain, notice = text.start_domain()             # conftest: HF_HUB_OFFLINE=1, empty caches
    assert domain == "demo" and "human" in notice and "offline" in notice and "\n" not in notice
    (weights_dir / "stylegan2-ffhq-config-f.pt").write_bytes(b"placeholder")   # found on disk, never opened
    assert text.start_domain() == ("human", "")
    monkeypatch.setenv("LGANIM_DOMAIN", "cats")
    assert text.start_domain()[0] == "demo" and "cats" in text.start_domain()[1]


def test_domain_labels_are_short_and_the_lines_and_footer_carry_licences():
    assert all(len(text.domain_label(name)) <= 34 for name in DOMAINS)       # read whole in a phone's dropdown
    assert "untrained" in text.domain_label("demo") and "FFHQ" in text.domain_label("human")
    assert "non-commercial" in text.domain_info("human")[0]
    footer = text.footer()
    assert "non-commercial" in footer and "2208.05617" in footer and "untrained" in footer
    info, psi = text.domain_info("dog")
    assert "non-commercial" in info and psi == DOMAINS["dog"].truncation


