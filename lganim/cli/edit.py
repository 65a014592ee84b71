"""`edit`: a still face (a seed's or a photo's) with head pose, expression and sentences as sliders, as an image;
`edit --list-controls`: every channel with its unit and range on a domain."""
from __future__ import annotations

from ..edit import cached_ranges
from ..request import EditRequest
from ..weights.registry import get_domain
from .common import load
from .progress import stage_bars


def list_controls(domain: str) -> int:
    """Every channel, its unit and range on the domain (from its cached calibration; no model is loaded)."""
    spec = get_domain(domain)
    ranges = cached_ranges(spec)
    for r in ranges.values():
        print(f"{r.channel:<11} {r.lo:>8g} to {r.hi:<8g} {r.unit} [{r.source}]")
    if any(r.source == "typical" for r in ranges.values()) and not spec.untrained:
        print(f"(the {spec.name} domain is not calibrated yet: these are typical ranges; `python -m lganim calibrate "
              f"--domain {spec.name}` finds its own)")
    return 0


def run(args, request: EditRequest | None) -> int:
    if request is None:                                     # --list-controls
        return list_controls(args.domain)
    anim = load(args)
    with stage_bars() as progress:                          # a new prompt's fit, or a photo's refinement
        edit = anim.edit(request, progress=progress)
    edit.save(args.out)
    h, w = edit.image.shape[:2]
    face = "photo" if edit.seed is None else f"seed {edit.seed}"
    print(f"wrote {args.out} ({w}x{h}, {face}, domain {anim.domain.name})")
    return 0
