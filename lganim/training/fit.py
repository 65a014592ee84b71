"""`python -m lganim fit`: fit a prompt's motion without training (see lganim/fitting.py)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import LganimError
from .. import files


def parse_weight(text: str) -> tuple[str, float]:
    """argparse type of --weight NAME=VALUE."""
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes NAME=VALUE (e.g. clip=1.0), got {text!r}") from None


def write_json(path: Path, data: dict) -> None:
    """Write a command's JSON result atomically into an existing folder."""
    if not path.parent.is_dir():
        raise LganimError(f"The folder of {path} does not exist.")
    files.write_json(path, data)


def add_arguments(p) -> None:
    from ..fitting import FitSettings
    d = FitSettings()
    p.add_argument("--domain", default="human", help="human, art, dog, anime or demo (default: human)")
    p.add_argument("--prompt", action="append", required=True,
                   help="the motion to fit (repeatable; 'A; then B' fits each segment)")
    p.add_argument("--steps", type=int, default=d.steps, help=f"Adam steps (default {d.steps})")
    p.add_argument("--seconds", type=float, default=d.max_seconds,
                   help=f"time budget in seconds; stops at steps or seconds, whichever first (default {d.max_seconds:g})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"domain samples to fit on (default {d.batch})")
    p.add_argument("--frames", type=int, default=d.frames, help=f"frames of the fitting clip (default {d.frames})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument("--seed", type=int, default=d.seed, help="first seed of the fitting faces (default 0)")
    p.add_argument("--no-negatives", action="store_true",
                   help="plain 1 - cos CLIP loss instead of contrasting with the paper's 28 expression prompts")
    p.add_argument("--weight", action="append", default=[], type=parse_weight, metavar="NAME=VALUE",
                   help="loss weight override: clip, latent, loop, smooth, identity (repeatable)")
    p.add_argument("--no-cache", action="store_true", help="fit again even when a cached fit exists")
    p.add_argument("--json", type=Path, help="write loss_first, loss_last, steps, seconds per prompt as JSON")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default=None, help="fp32 (default), bf16 or fp16")


def run(args) -> int:
    import torch
    from tqdm import tqdm

    from ..checkpoints import load_generator
    from ..device import resolve_device, resolve_dtype
    from ..fitting import FitSettings, build_fitter
    from ..hub import fetch, get_domain
    from ..sequences import split_prompt

    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    spec = get_domain(args.domain)
    settings = FitSettings(steps=args.steps, max_seconds=args.seconds, batch=args.batch, frames=args.frames,
                           lr=args.lr, seed=args.seed, negatives=not args.no_negatives, weights=dict(args.weight))
    device, dtype = resolve_device(args.device), resolve_dtype(args.dtype)
    if spec.untrained:
        from ..demo import ensure_demo
        path = ensure_demo().generator
    else:
        path = fetch(spec.weights)
    generator = load_generator(path, spec.generator, device=device, dtype=dtype)
    fitter = build_fitter(spec.name, generator, device=device, dtype=dtype, settings=settings,
                          cache=not args.no_cache)
    results = []
    prompts = [seg for prompt in args.prompt for seg in split_prompt(prompt)]
    for prompt in dict.fromkeys(prompts):
        with tqdm(total=settings.steps, desc=prompt[:40], unit="step", disable=None) as bar:
            def progress(step, total, loss):
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{loss:.4f}")
            result = fitter.fit(prompt, progress)
        state = "cached" if result.cached else f"{result.steps} steps in {result.seconds:.1f} s"
        print(f"{prompt!r}: loss {result.loss_first:.4f} -> {result.loss_last:.4f} ({state})")
        results.append(result.summary())
    if fitter.settings.loss_weights().identity > 0 and fitter.identity is None:
        print("note: the identity loss was skipped (ir_se50.pth is not on disk)")
    if args.json is not None:
        out = dict(results[0]) if len(results) == 1 else {}
        out.update({"domain": spec.name, "settings": settings.key_dict(), "results": results,
                    "device": str(device), "threads": torch.get_num_threads()})
        write_json(args.json, out)
    return 0
