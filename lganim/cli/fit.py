"""`fit`: fit a prompt's motion without training (see lganim/motion/fitted.py), ahead of the requests that use it."""
from __future__ import annotations

import sys

import torch
from tqdm import tqdm

from ..config import FitSettings
from ..device import device_line, resolve_device, resolve_dtype
from ..errors import LganimError
from ..files import write_json
from ..motion.fitted import build_fitter
from ..motion.sequences import split_prompt
from ..weights.domain_files import domain_files, resolve
from ..weights.registry import get_domain
from ..weights.stylegan_files import load_generator


def run(args) -> int:
    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    spec = get_domain(args.domain)
    settings = FitSettings(steps=args.steps, max_seconds=args.seconds, batch=args.batch,
                           faces_per_step=args.faces_per_step, frames=args.frames, lr=args.lr, seed=args.seed,
                           negatives=not args.no_negatives, weights=dict(args.weight))
    device, dtype = resolve_device(args.device), resolve_dtype(args.dtype)
    print(device_line(device), file=sys.stderr)
    files = domain_files(spec)
    stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=device, dtype=dtype)
    fitter = build_fitter(spec, files, stylegan, settings=settings, cache=not args.no_cache)
    fitter.notify = lambda line: tqdm.write(line, file=sys.stderr)       # the estimate, a budget's warning
    results = []
    prompts = [seg for prompt in args.prompt for seg in split_prompt(prompt)]
    for prompt in dict.fromkeys(prompts):
        with tqdm(total=fitter.settings.steps, desc=prompt[:40], unit="step", disable=None) as bar:
            def progress(step, total, loss):
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{loss:.4f}")
            result = fitter.fit(prompt, progress)
        state = "cached" if result.cached else f"{result.steps} steps in {result.seconds:.1f} s"
        print(f"{prompt!r}: loss {result.loss_first:.4f} -> {result.loss_last:.4f} ({state})")
        results.append(result.summary())
    if settings.loss_weights().identity > 0 and fitter.identity is None:
        print("note: the identity loss was skipped (ir_se50.pth is not on disk)")
    if args.json is not None:
        out = dict(results[0]) if len(results) == 1 else {}
        out.update({"domain": spec.name, "settings": fitter.settings.key_dict(), "results": results,
                    "device": str(device), "threads": torch.get_num_threads()})
        write_json(args.json, out)
    return 0
