"""`calibrate`: compute and cache a domain's control directions (see lganim/motion/calibration.py), ahead of the
tracks that use them."""
from __future__ import annotations

import sys

from tqdm import tqdm

from ..config import DRIVEN_CHANNELS
from ..device import device_line, resolve_device, resolve_dtype
from ..errors import LganimError
from ..files import write_json
from ..motion.calibration import COMPONENTS, SAMPLES, calibrate_domain
from ..motion.directions import cache_path, cached_directions
from ..weights.domain_files import domain_files, resolve
from ..weights.registry import get_domain
from ..weights.stylegan_files import load_generator


def run(args) -> int:
    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    spec = get_domain(args.domain)
    device, dtype = resolve_device(args.device), resolve_dtype(args.dtype)
    print(device_line(device), file=sys.stderr)
    files = domain_files(spec)
    stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=device, dtype=dtype)
    directions = None if args.force else cached_directions(spec, files, stylegan)
    if directions is None:
        samples = SAMPLES if args.samples is None else args.samples
        components = COMPONENTS if args.components is None else args.components
        with tqdm(total=0, desc=f"calibrating {spec.name}", unit="step", disable=None) as bar:
            def progress(done, total):
                bar.total = total
                bar.update(done - bar.n)
            directions = calibrate_domain(spec, files, stylegan, samples=samples, components=components,
                                        progress=progress)
    for c in DRIVEN_CHANNELS:
        r2 = directions.r2[c]
        print(f"{c:<11} {directions.method[c]:<14} R² {'-' if r2 is None else f'{r2:.3f}'}")
    state = "cached" if directions.meta.get("cached") else "computed"
    print(f"{spec.name}: {state}, {directions.seconds:.1f} s to compute; {cache_path(spec, files)}")
    if args.json is not None:
        write_json(args.json, {**directions.summary(), "device": str(device), "cache": str(cache_path(spec, files))})
    return 0
