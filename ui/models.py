"""The models of a server: each domain's `Animator`, loaded on first use and kept, and the check that a request's
domain can serve it, made before anything loads. Environment: LGANIM_DEVICE, LGANIM_DTYPE, LGANIM_MOTION_<DOMAIN>
(a motion checkpoint folder for that domain, e.g. LGANIM_MOTION_HUMAN=runs/ffhq)."""
from __future__ import annotations

import os
import threading

from lganim.errors import LganimError
from lganim.pipeline import Animator
from lganim.request import Request
from lganim.weights.registry import DOMAINS, Domain, get_domain


# -- models, loaded once per domain --------------------------------------------------------------------------
class Animators:
    """Each domain's `Animator`, loaded on first use and kept; concurrent first requests load it once."""

    def __init__(self):
        self.loaded: dict[str, Animator] = {}
        self.locks = {name: threading.Lock() for name in DOMAINS}   # one per domain: a slow download blocks no other

    def preload(self, domain: str) -> Animator:
        """Load a domain completely now (a Space does it for its start domain at startup)."""
        anim = self.get(domain)
        anim.load()
        return anim

    def get(self, domain: str) -> Animator:
        with self.locks[get_domain(domain).name]:
            if domain not in self.loaded:
                self.loaded[domain] = Animator.from_pretrained(
                    domain, motion=os.environ.get(f"LGANIM_MOTION_{domain.upper()}") or None,
                    device=os.environ.get("LGANIM_DEVICE", "auto"), dtype=os.environ.get("LGANIM_DTYPE") or None)
            return self.loaded[domain]
def checked_domain(name, request: Request) -> Domain:
    """The domain a request names, refused before anything loads when it cannot serve the request."""
    spec = get_domain(name)
    if request.image is not None and not spec.supports_photos:
        raise LganimError(f"The {spec.name} domain cannot animate photos (no face encoder for it): clear the photo "
                          f"or pick {', '.join(n for n, d in DOMAINS.items() if d.supports_photos)}.")
    return spec



__all__ = ["Animators", "checked_domain"]
