"""`edit`: a still face (a seed's or a photo's) with head pose, expression and sentences as sliders, as an image;
`edit --list-controls`: every channel with its unit and range on a domain."""
from __future__ import annotations

from ..config import IMAGE_SUFFIXES
from ..edit import cached_ranges, check_names
from ..errors import LganimError
from ..request import EditRequest
from ..weights.registry import get_domain
from .common import check_out, load, stage_bars


def controls_of(texts: list[str]) -> dict[str, float]:
    """--control NAME=VALUE ... as channel -> value (whether a name is a channel is the editor's check)."""
    controls: dict[str, float] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            number = float(value)
        except ValueError:
            raise LganimError(f"--control takes NAME=VALUE (e.g. yaw=10), got {text!r}.") from None
        if name.strip() in controls:
            raise LganimError(f"--control {name.strip()} is given twice: give it once.")
        controls[name.strip()] = number
    return controls


def prompts_of(prompts: list[str], amounts: list[float]) -> dict[str, float]:
    """--prompt TEXT ... with their --amount A ... (none: each its full expression, 1)."""
    if amounts and len(amounts) != len(prompts):
        raise LganimError(f"Give one --amount per --prompt (got {len(prompts)} prompts and {len(amounts)} amounts), "
                          f"or none for 1 each.")
    if len(set(prompts)) != len(prompts):
        raise LganimError("A --prompt is given twice: give each sentence once, with its --amount.")
    return dict(zip(prompts, amounts or [1.0] * len(prompts)))


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


def run(args) -> int:
    if args.list_controls:
        return list_controls(args.domain)
    if args.out is None:
        raise LganimError("Give --out (e.g. edited.png) for the edited image, or --list-controls.")
    check_out(args.out, IMAGE_SUFFIXES)
    request = EditRequest(args.seed or 0, args.image, controls_of(args.control), prompts_of(args.prompt, args.amount),
                          args.truncation, args.face, not args.no_paste_back, args.refine)
    check_names(request.controls)                           # an unknown channel or domain before anything loads
    get_domain(args.domain)
    anim = load(args)
    with stage_bars() as progress:
        # a new prompt's fit, or a photo's refinement
        edit = anim.editor.edit(request, lambda step, total, loss: progress("optimising", step, total))
    edit.save(args.out)
    h, w = edit.image.shape[:2]
    face = "photo" if edit.seed is None else f"seed {edit.seed}"
    print(f"wrote {args.out} ({w}x{h}, {face}, domain {anim.domain.name})")
    return 0
