"""`lganim bench --calibrate DOMAIN`: a domain's calibration of its control directions (`motion/calibration.py`),
timed on the reference path and on the fast path (JSON).

- reference: the measured faces rendered by the fp32 `Generator.synthesis` (`ReferenceRenderer`, CHUNK codes a
  call), the prompt method's fits on `FitSettings.reference()`;
- fast: as lganim calibrates now: a `FastRenderer` (in `--dtype`, default fp32: the StyleGAN2's) and the fast fit
  (`FitSettings()` in `--dtype`, default its own).

DOMAIN "random": the `--size` StyleGAN2 with random weights, calibrated as a domain of people (dlib's landmarks on
every render: no face is found on random weights, so every channel falls back to SeFa, but every render is made and
measured); any other domain loads its files (`demo`: untrained, its fallback takes milliseconds). Nothing is read
from or written to the cache. Per path: seconds, renders, and the seconds of rendering and of measuring them.
"""
from __future__ import annotations

import time
from collections import Counter

import torch

from ..config import FitSettings, GeneratorConfig
from ..device import resolve_dtype
from ..models.renderer import FastRenderer, ReferenceRenderer
from ..motion.calibration import CHUNK, calibrate, uses_prompts
from ..motion.fitted import build_fitter
from ..weights.domain_files import domain_files, resolve
from ..weights.registry import Domain, get_domain
from ..weights.stylegan_files import load_generator
from .measure import device_name, random_stylegan, sync

RANDOM_DOMAIN = "random"


def time_calibrate(domain: str, config: GeneratorConfig, dtype: str | None, device: torch.device,
                   seed: int = 0) -> dict:
    """Calibrate `domain` once on each path, the reference first (module doc): the JSON. config: the architecture of
    the "random" domain's StyleGAN2."""
    if domain == RANDOM_DOMAIN:
        g = random_stylegan(config, device, seed)
        spec, files = Domain(RANDOM_DOMAIN, "Random weights (benchmark)", "person", g.config, None, "-"), None
    else:
        spec = get_domain(domain)
        files = domain_files(spec)
        g = load_generator(resolve(files.stylegan), spec.stylegan, device=device)
    compute = resolve_dtype(dtype)
    paths = {"reference": (ReferenceRenderer(g, CHUNK), FitSettings.reference(max_seconds=1e9)),
             "fast": (FastRenderer(g, dtype=compute), FitSettings(max_seconds=1e9, dtype=dtype))}
    out = {"domain": spec.name, "size": g.size, "device": device.type, "device_name": device_name(device),
           "dtype": dtype or "fp32", "cpu_threads": torch.get_num_threads(), "torch": torch.__version__}
    for name, (renderer, settings) in paths.items():
        fitter = build_fitter(spec, files, g, settings=settings, cache=False) if uses_prompts(spec) else None
        start = time.perf_counter()
        controls = calibrate(spec, g, fitter=fitter, renderer=renderer)
        sync(device)
        out[name] = {"seconds": time.perf_counter() - start, "renders": controls.meta.get("renders", 0),
                     "render_seconds": controls.meta.get("render_seconds", 0.0),
                     "measure_seconds": controls.meta.get("measure_seconds", 0.0),
                     "methods": dict(Counter(controls.method.values()))}
    out["speedup"] = out["reference"]["seconds"] / max(out["fast"]["seconds"], 1e-9)
    return out


def format_calibrate(result: dict) -> str:
    """A short plain-text table of a `time_calibrate` result."""
    rows = [f"calibration of {result['domain']} ({result['size']}²) on {result['device_name']} "
            f"({result['device']}), fast dtype {result['dtype']}",
            f"{'path':<11}{'seconds':>9}{'renders':>9}{'render s':>10}{'measure s':>11}  methods"]
    for name in ("reference", "fast"):
        m = result[name]
        methods = ", ".join(f"{k} {v}" for k, v in m["methods"].items())
        rows.append(f"{name:<11}{m['seconds']:>9.1f}{m['renders']:>9}{m['render_seconds']:>10.1f}"
                    f"{m['measure_seconds']:>11.1f}  {methods}")
    rows.append(f"speedup {result['speedup']:.2f}")
    return "\n".join(rows)


__all__ = ["RANDOM_DOMAIN", "time_calibrate", "format_calibrate"]
