"""`lganim bench --fit`: one prompt fitted twice on the same weights, the reference fit against the fast one, both
judged by the same objective after every step (JSON).

Random weights of the real architectures (they have the real cost): the StyleGAN2 at `--size` (channel multiplier
2 unless told) and CLIP ViT-B/32, the loss CLIP. The two fits share everything but the path: the fitting faces
(start codes of seeds 0..3), the prompt and the paper's 27 other expressions as negatives, the loss weights, no
time budget:

- reference: `FitSettings.reference()`, the fit before the fast path (fp32 `Generator.synthesis`, Adam at a constant
  0.02), exactly as lganim ran it, `--steps` steps;
- fast: `FitSettings()` as the device applies it (two faces a step on the CPU, all of them on a GPU), in `--dtype`
  (fp32 or bf16; by default the fast fit's own: bf16 where the device computes it natively), with `--fit-setting
  NAME=VALUE` overrides (`decay=constant lr=0.02 loss_size=none faces_per_step=4` leaves only the renderer and the
  dtype to compare, `path=reference` only the schedule), for `FAST_PASSES` × `--steps` passes over the faces (each
  two steps of two faces of 4 on the CPU): its default plan has twice the reference's passes (200 against 100), as
  each costs a fraction of one of the reference's.

The steps are timed in alternation while both fits have steps left (reference first on even steps, fast first on
odd ones), so that load from other processes slows both alike; a path's time includes its setup
(`PromptFitter.start`) and its first step's prompt embeddings. After every step the judge, the reference objective
in fp32 at full resolution on the fitting faces, scores the path's current direction; its time is not counted.
`fast.seconds_to_reference_loss` is the fast fit's time at its first step whose judged loss is at most the
reference's final one (null if none is). A fit through `PromptFitter.fit` also scores the direction on all its faces
after its last step, and before its first where a step renders some of them: neither is counted here for either path.
"""
from __future__ import annotations

import datetime
import os
import time
from dataclasses import replace

import torch

from ..config import DEFAULT_PROMPT, FIT_DTYPES, FIT_PASSES, FitSettings, GeneratorConfig, paper_prompts
from ..errors import LganimError
from ..models.clip import random_clip
from ..motion.fitted import FitRun, PromptFitter, applied_settings
from ..motion.objective import MotionObjective
from ..weights.registry import CLIP_LOSS_MODEL, Domain
from .measure import PeakMemory, device_name, random_stylegan, sync

FIT_PROMPT = DEFAULT_PROMPT
PATHS = ("reference", "fast")
FAST_PASSES = FIT_PASSES // FitSettings.reference().steps   # 2: the fast fit's passes over the faces per reference step


def parse_fit_setting(text: str) -> tuple[str, object]:
    """`NAME=VALUE` of `--fit-setting`: a FitSettings field and its value (int, float, none, true/false or text)."""
    name, sep, value = text.partition("=")
    if not sep or name not in FitSettings.__dataclass_fields__ or name in ("steps", "max_seconds", "weights"):
        raise LganimError(f"--fit-setting takes NAME=VALUE with a FitSettings field other than steps, max_seconds "
                          f"and weights (e.g. decay=constant), got {text!r}")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, {"none": None, "true": True, "false": False}.get(value.lower(), value)


def fit_settings(steps: int, dtype: str | None, overrides: list[tuple[str, object]],
                 stylegan) -> dict[str, FitSettings]:
    """The two paths' settings as fitters of `stylegan` apply them, no time budget: the reference's `steps` steps;
    the fast fit's `FAST_PASSES` times as many passes over the faces, in `dtype` (None: the fast fit's own for the
    device) with `overrides`."""
    if dtype is not None and dtype not in FIT_DTYPES:
        raise LganimError(f"--fit runs the fast path in {' or '.join(FIT_DTYPES)}, got --dtype {dtype}")
    fast = applied_settings(FitSettings(max_seconds=1e9, **{"dtype": dtype, **dict(overrides)}), stylegan)
    fast = replace(fast, steps=FAST_PASSES * steps * fast.batch // fast.faces_per_step)
    return {"reference": applied_settings(FitSettings.reference(steps=steps, max_seconds=1e9), stylegan),
            "fast": fast}


def judged_loss(judge: MotionObjective, run: FitRun, w0: torch.Tensor) -> float:
    """The reference objective (fp32, full resolution) at the run's current direction, on the faces w0 [N, L, D]."""
    with torch.no_grad():
        profile = run.profile.to(w0)                                                   # [T]
        dw = profile[None, :, None, None] * run.direction.detach().to(w0)[None, None]  # [N, T, L, D]
        return float(judge(w0, dw, [run.prompt] * w0.shape[0], negatives=run.negatives)[0])


def reached(losses: list[float], times: list[float], target: float) -> float | None:
    """The time after the first step whose loss is at most `target`, or None."""
    return next((t for loss, t in zip(losses, times) if loss <= target), None)


def time_fit(config: GeneratorConfig, steps: int, dtype: str | None, overrides: list[tuple[str, object]],
             device: torch.device, seed: int = 0, clip=None) -> dict:
    """Fit `FIT_PROMPT` on both paths in alternation and judge each after every step (module doc): the JSON.
    config: the StyleGAN2's architecture (random weights); clip: the loss CLIP (default: CLIP ViT-B/32's
    architecture with random weights)."""
    g = random_stylegan(config, device, seed)
    settings = fit_settings(steps, dtype, overrides, g)
    clip = random_clip(CLIP_LOSS_MODEL, device) if clip is None else clip
    domain = Domain("random", "Random weights (benchmark)", "person", g.config, None, "-")
    fitters = {name: PromptFitter(domain, g, clip_loader=lambda: clip, model_id="bench", settings=settings[name],
                                  cache=False) for name in PATHS}
    judge = MotionObjective(g, clip, settings["reference"].loss_weights())
    runs, out = {}, {}
    for name in PATHS:
        start = time.perf_counter()
        runs[name] = fitters[name].start(FIT_PROMPT)
        sync(device)
        out[name] = {"settings": fitters[name].settings.key_dict(), "seconds": time.perf_counter() - start,
                     "steps": 0, "losses": [], "times": [], "fit_losses": [], "step_seconds": [],
                     "peak_mem_bytes": None}
    w0 = runs["reference"].w0                                                         # the faces both paths fit on
    loss_first = judged_loss(judge, runs["reference"], w0)                            # A = 0 on both paths
    for k in range(max(s.steps for s in settings.values())):
        for name in PATHS if k % 2 == 0 else PATHS[::-1]:
            if runs[name].steps == settings[name].steps:
                continue
            m = out[name]
            with PeakMemory(device) as mem:
                start = time.perf_counter()
                m["fit_losses"].append(runs[name].step())
                sync(device)
                seconds = time.perf_counter() - start
            m["seconds"] += seconds
            m["steps"] += 1
            m["step_seconds"].append(seconds)
            m["times"].append(m["seconds"])
            if mem.bytes is not None:
                m["peak_mem_bytes"] = max(m["peak_mem_bytes"] or 0, mem.bytes)
            m["losses"].append(judged_loss(judge, runs[name], w0))                   # the judge's time is not counted
    for m in out.values():
        m.update(loss_first=loss_first, loss_last=m["losses"][-1])
    ref, fast = out["reference"], out["fast"]
    fast["seconds_to_reference_loss"] = reached(fast["losses"], fast["times"], ref["loss_last"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": device.type, "device_name": device_name(device), "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(), "size": config.size, "channel_multiplier": config.channel_multiplier,
        "steps": steps, "dtype": fitters["fast"].settings.dtype, "batch": settings["fast"].batch,
        "frames": settings["fast"].frames, "faces_per_step": settings["fast"].faces_per_step,
        "prompt": FIT_PROMPT, "negatives": len(paper_prompts(domain.subject)) - 1, "clip": clip.name,
        "seed": seed, "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "judge": "the reference objective: fp32 Generator.synthesis at full resolution, on the fitting faces",
        "reference": ref, "fast": fast,
        "ratio": None if fast["seconds_to_reference_loss"] is None
        else fast["seconds_to_reference_loss"] / ref["seconds"],
    }


def format_fit(result: dict) -> str:
    """A short plain-text table of a `time_fit` result."""
    head = (f"prompt fit, {result['device_name']} ({result['device']}), {result['size']}² "
            f"cm{result['channel_multiplier']}, CLIP {result['clip']}, {result['steps']} steps, batch "
            f"{result['batch']}, fast dtype {result['dtype']}, {result['faces_per_step']} faces a fast step; "
            f"random weights")
    rows = [f"{'path':<11}{'s/step':>9}{'seconds':>10}{'judged loss first -> last':>30}{'peak MiB':>10}"]
    for name in PATHS:
        m = result[name]
        peak = "-" if m["peak_mem_bytes"] is None else f"{m['peak_mem_bytes'] / 2 ** 20:.0f}"
        rows.append(f"{name:<11}{m['seconds'] / m['steps']:>9.2f}{m['seconds']:>10.1f}"
                    f"{m['loss_first']:>19.5f} -> {m['loss_last']:.5f}{peak:>10}")
    t = result["fast"]["seconds_to_reference_loss"]
    target = result["reference"]["loss_last"]
    if t is None:
        rows.append(f"the fast fit never reached the reference's final judged loss {target:.5f}")
    else:
        step = result["fast"]["times"].index(t) + 1
        rows.append(f"the fast fit reached the reference's final judged loss {target:.5f} after {step} steps, in "
                    f"{t:.1f} s = {result['ratio']:.2f} x the reference's {result['reference']['seconds']:.1f} s")
    return "\n".join([head, *rows])


__all__ = ["FIT_PROMPT", "parse_fit_setting", "fit_settings", "judged_loss", "reached", "time_fit", "format_fit"]
