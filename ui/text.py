"""What the page says: the domains' labels and lines, the notice of the start domain, the footer (licences, the
paper)."""
from __future__ import annotations

import os

from lganim.config import paper_prompts
from lganim.weights.domain_files import stylegan_on_disk
from lganim.weights.registry import DOMAINS, download_line

CITATION = ("Hang, Yang, Liu, Fu, Geng and Guo, *Language-Guided Face Animation by Recurrent StyleGAN-based "
            "Generator*, IEEE Transactions on Multimedia 2023 ([arXiv 2208.05617](https://arxiv.org/abs/2208.05617)).")


PAPER_PROMPTS = tuple(paper_prompts("person"))


# -- what the page says about domains ----------------------------------------------------------------------
def domain_label(name: str) -> str:
    """The domain's name in the dropdown: short enough to read whole on a phone (its licence is on the line beside
    it)."""
    d = DOMAINS[name]
    return "Demo · untrained, offline" if d.untrained else d.title


def start_domain() -> tuple[str, str]:
    """The domain the page opens with and a one-line notice when it had to fall back to demo.

    Decided from the disk only (local weights folder or the Hub cache): startup never waits on a download.
    """
    wanted = os.environ.get("LGANIM_DOMAIN", "human")
    spec = DOMAINS.get(wanted)
    if spec is None:
        return "demo", f"LGANIM_DOMAIN={wanted!r} is not a domain ({', '.join(DOMAINS)}): showing the demo domain."
    if stylegan_on_disk(spec):
        return wanted, ""
    why = "offline (HF_HUB_OFFLINE) and not downloaded" if os.environ.get("HF_HUB_OFFLINE", "").strip() not in (
        "", "0", "false", "False") else "not downloaded yet"
    return "demo", (f"⚠️ The {wanted} weights are {why}: showing the untrained demo domain. Pick {wanted} to "
                    f"download them, or run `python -m lganim download {wanted}`.")


def domain_info(domain: str) -> tuple[str, float]:
    """A line about the chosen domain, and its default truncation ψ for the slider."""
    spec = DOMAINS.get(domain) or DOMAINS["demo"]
    if spec.untrained:
        where = "built locally on first use, no download"
    elif stylegan_on_disk(spec):
        where = "weights on disk"
    else:
        where = f"first use downloads {download_line(spec)}"
    photos = "photos supported" if spec.supports_photos else "sampled faces only (no photo encoder)"
    note = " — **untrained random weights: a check of the plumbing, never a result**" if spec.untrained else ""
    return f"Licence: {spec.licence} · {where} · {photos}{note}", spec.truncation


def footer() -> str:
    licences = "; ".join(f"{d.name}: {d.licence}" for d in DOMAINS.values() if not d.untrained)
    return (f"**Weights and licences** — {licences}. The FFHQ, MetFaces and AFHQ StyleGAN2 weights are NVIDIA's, "
            f"for non-commercial use only. The `demo` domain is untrained random weights built locally: it shows the "
            f"app working offline, never a result. No trained motion model has been published by the authors.\n\n"
            f"**Method** — {CITATION}")



__all__ = ["CITATION", "PAPER_PROMPTS", "domain_label", "start_domain", "domain_info", "footer"]
