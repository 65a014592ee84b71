"""`lganim bench --edit DOMAIN`: the Edit tab's slider update (lganim/edit.py: one edited frame, uint8, pasted back
into a photo), timed against a 16-frame clip of the same face through the same StyleGAN2 and renderer.

The animator is the benchmark's fast path (`bench.request_animators`): for domain "random" the `--size` StyleGAN2
with random weights, whose control directions are the fallback rule's (an untrained domain's, computed in
milliseconds); for a real domain or the demo its own files and control directions. An update is timed from its
request to its image; the face's start code (a seed's mapping, a photo's alignment and inversion) is made by the
first edit and kept, as in the app. On CUDA every timing ends with `torch.cuda.synchronize`.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from ..config import DEFAULT_FRAMES, DEFAULT_PROMPT
from ..pipeline import Animator
from ..request import EditRequest, Request


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_updates(anim: Animator, face: dict, updates: int, warmup: int) -> dict:
    """One face's slider updates: the first edit (it makes the start code), then `warmup` untimed and `updates`
    timed edits, each with another yaw and a smile: first_s, update_ms (median), updates_ms, image [h, w]."""
    device = anim.device
    start = time.perf_counter()
    first = anim.edit(EditRequest(**face))
    _sync(device)
    first_s = time.perf_counter() - start
    times = []
    for i in range(warmup + updates):
        start = time.perf_counter()
        anim.edit(EditRequest(**face, controls={"yaw": 5.0 * ((i % 5) - 2), "smile": 0.05}))   # -10 .. 10 deg
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return {"first_s": first_s, "update_ms": 1e3 * statistics.median(times), "updates_ms": [1e3 * t for t in times],
            "image": list(first.image.shape[:2])}


def time_edit(anim: Animator, image: Path | None, updates: int, warmup: int) -> dict:
    """Slider updates of a seed's face (and, with `image`, a photo's) against a DEFAULT_FRAMES-frame clip of the
    seed's face (the median of updates // 3 + 1 clips after `warmup`): the update's share of a clip."""
    dtype = getattr(anim.renderer, "dtype", anim.stylegan.dtype)                # the render dtype
    out = {"domain": anim.domain.name, "size": anim.stylegan.size, "dtype": str(dtype).removeprefix("torch."),
           "updates": updates, "seed": time_updates(anim, {"seed": 0}, updates, warmup), "photo": None}
    if image is not None:
        out["photo"] = time_updates(anim, {"image": image}, updates, warmup)
    request = Request(prompts=DEFAULT_PROMPT, num_frames=DEFAULT_FRAMES)
    clips = []
    with torch.inference_mode():
        for i in range(warmup + updates // 3 + 1):
            start = time.perf_counter()
            for _ in anim(request).chunks():
                pass
            _sync(anim.device)
            if i >= warmup:
                clips.append(time.perf_counter() - start)
    out.update(clip_frames=DEFAULT_FRAMES, clip_s=statistics.median(clips))
    out["update_over_clip"] = out["seed"]["update_ms"] / 1e3 / out["clip_s"]
    return out


def format_edit(edit: dict) -> str:
    """One line of a `time_edit` result."""
    photo = edit["photo"]
    seen = f", {photo['update_ms']:.1f} ms (photo, {photo['image'][1]}x{photo['image'][0]})" if photo else ""
    return (f"edit ({edit['domain']}, {edit['size']}², {edit['dtype']}): {edit['seed']['update_ms']:.1f} ms a slider "
            f"update (seed){seen}; a {edit['clip_frames']}-frame clip {edit['clip_s']:.3f} s; update / clip "
            f"{edit['update_over_clip']:.3f}")


__all__ = ["time_updates", "time_edit", "format_edit"]
