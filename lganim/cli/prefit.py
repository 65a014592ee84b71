"""`prefit`: fit a domain's prompts and control directions once into a presets bundle, and push it to the Hub (see
lganim/tools/prefit.py and lganim/motion/presets.py)."""
from __future__ import annotations

import sys

from tqdm import tqdm

from ..device import device_line, resolve_device
from ..models.renderer import make_renderer
from ..tools.prefit import prefit, push_presets
from ..weights.domain_files import domain_files, resolve
from ..weights.registry import get_domain
from ..weights.stylegan_files import load_generator
from .progress import stage_bars


def run(args, prompts: list[str]) -> int:
    spec = get_domain(args.domain)
    device = resolve_device(args.device)
    print(device_line(device), file=sys.stderr)
    files = domain_files(spec)
    stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=device)
    with stage_bars() as progress:                      # a bar per prompt's fit, one for the control directions
        index = prefit(spec, files, stylegan, make_renderer("fast", stylegan), args.out, prompts,
                       fitting=lambda prompt: lambda step, steps, loss: progress(prompt, step, steps),
                       calibrating=lambda done, total: progress("control directions", done, total),
                       say=tqdm.write)
    print(f"wrote {args.out}: {len(index['prompts'])} prompts and the control directions (index.json, "
          f"prompts.safetensors, directions.safetensors, README.md, strips/)")
    if args.push:
        print(f"pushed to {push_presets(args.out, args.push, args.private)}")
    return 0
