"""How long a prompt fit takes on this device: the seconds of one fit step as earlier fits measured them (a small
record in lganim's cache, per device and kind of fit), a first guess where nothing was measured yet, and the lines
that say so before a fit and after one its time budget stopped.

The record is `fitted/step_seconds.json` in the cache: {key: {"seconds": median step seconds of the last fit,
"fits": fits measured}}, the key naming the device (the GPU's or the CPU's name, and the CPU threads), the domain
and what a step costs (path, dtype, the faces it renders). It is advice, not data: a damaged or missing record only
means a guess.
"""
from __future__ import annotations

import json
import platform
import statistics
from pathlib import Path

import torch

from ..config import FitSettings
from ..files import cache_dir, write_json

# First guesses of one fast-path fit step (before a fit measured one on the device), on the generous side:
# seconds = overhead + faces · per_face · size / 1024. CPU: 2 cores measured 4-6 s at 128² and 35-50 s at 1024²
# for 4 faces on busy machines (benchmarks/README.md "Prompt fit"); CUDA: predicted well under 0.1 s at 1024² on an
# H200.
PRIOR = {"cpu": (1.0, 10.0), "cuda": (0.05, 0.02)}


def device_label(device: torch.device) -> str:
    """The device as the record knows it: the GPU's name, or the CPU's with the threads torch uses."""
    if device.type == "cuda":
        return f"cuda {torch.cuda.get_device_name(device)}"
    return f"cpu {platform.processor() or platform.machine()} x{torch.get_num_threads()}"


def record_key(device: torch.device, domain: str, settings: FitSettings) -> str:
    """What a measured step time is kept under: the device, the domain (its generator) and what a step costs."""
    return (f"{device_label(device)} | {domain} | {settings.path} {settings.dtype or 'own dtype'} "
            f"{settings.faces_per_step} faces a step")


def record_path() -> Path:
    return cache_dir() / "fitted" / "step_seconds.json"


def _read() -> dict:
    try:
        record = json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def measured_step_seconds(key: str) -> float | None:
    """The median step seconds the last fit under `key` measured, or None (never measured, or a damaged record)."""
    entry = _read().get(key)
    seconds = entry.get("seconds") if isinstance(entry, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


def record_step_seconds(key: str, step_seconds: list[float]) -> None:
    """Keep the median of a fit's step times under `key` (the first step, which also embeds the prompts, counts as
    one of many). Concurrent writers: the last one wins, whole."""
    if not step_seconds:
        return
    record = _read()
    old = record.get(key) if isinstance(record.get(key), dict) else {}
    record[key] = {"seconds": statistics.median(step_seconds), "fits": int(old.get("fits", 0)) + 1}
    record_path().parent.mkdir(parents=True, exist_ok=True)
    write_json(record_path(), record)


def prior_step_seconds(device: torch.device, size: int, faces: int) -> float:
    """A first guess of the seconds of one step that renders `faces` faces, on a device where no fit was measured
    (`PRIOR`)."""
    overhead, per_face = PRIOR["cuda" if device.type == "cuda" else "cpu"]
    return overhead + faces * per_face * size / 1024


def fit_seconds(settings: FitSettings, step_seconds: float) -> float:
    """Seconds a fit of `settings` takes at `step_seconds` a step: its steps, or its time budget if that is less."""
    return min(settings.steps * step_seconds, settings.max_seconds)


def about(seconds: float) -> str:
    """A duration for people: "about 40 s", "about 3 min"."""
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def estimate_line(prompt: str, settings: FitSettings, step_seconds: float, device: torch.device, how: str) -> str:
    """The status line before (or early in) a fit: about how long it takes here, and whether its budget will stop it.

    how: where the step time comes from ("measured by earlier fits", "the first step took it", "a first guess").
    """
    seconds = fit_seconds(settings, step_seconds)
    line = (f"fitting {prompt!r}: {about(seconds)} on {device.type} ({settings.steps} steps of "
            f"{step_seconds:.2g} s, {how})")
    if settings.steps * step_seconds > settings.max_seconds:
        steps = max(1, int(settings.max_seconds / step_seconds))
        line += f"; the {settings.max_seconds:.0f} s budget stops it after about {steps} steps: the motion may be weak"
    return line


__all__ = ["PRIOR", "device_label", "record_key", "record_path", "measured_step_seconds", "record_step_seconds",
           "prior_step_seconds", "fit_seconds", "about", "estimate_line"]
