"""`python -m lganim bench --live VIDEO`: the speed of the live loop (lganim.live), the frames of VIDEO played as a
camera would feed them, written as JSON beside the renderer benchmark's.

- tracker: ms per frame of `FaceTracker` alone, over the clip's frames shrunk to DETECT_SIDE as the live session
  tracks them (CPU time of this process and wall time; the frames are decoded beforehand);
- live: a `LiveSession` stepped through the frames scaled so that their longest side is `--live-side` (the camera's
  size: 512, 1024...), the face a seed's: per-step latency (tracking, rendering one frame, moving its crop, the
  frame back on the CPU) as p50, p95 and max, the first step apart (it loads dlib), and the frames per second of
  the whole loop. The StyleGAN2 is `--live-domain`'s (e.g. demo) or, by default, random weights of the real
  architecture at `--size` (a fresh `Generator`: the cost of the real network, no files), rendered by a
  `FastRenderer` in `--dtype`, one frame per call.
The goals of the live issue are recorded with the result: on the CPU with the demo domain at 512² camera frames
≥ 10 frames/s and a median latency under 100 ms; on a GPU at 1024², 30 frames/s and under 50 ms.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..config import GeneratorConfig
from ..device import resolve_dtype
from ..errors import LganimError
from ..live import latency_summary
from ..media.video_reader import read_video
from ..models.renderer import FastRenderer
from ..models.stylegan2 import Generator
from ..motion.calibration import calibrate
from ..pipeline import Animator
from ..request import LiveRequest
from ..tracks.video import DETECT_SIDE, FaceTracker
from ..weights.registry import Domain

GOALS = {"cpu": {"fps": 10.0, "p50_ms": 100.0}, "cuda": {"fps": 30.0, "p50_ms": 50.0}}


def resized(frames: np.ndarray, side: int) -> list[np.ndarray]:
    """Frames uint8 [T, H, W, 3] scaled so that their longest side is `side` pixels (aspect kept)."""
    h, w = frames.shape[1:3]
    k = side / max(h, w)
    size = (max(round(w * k), 1), max(round(h * k), 1))
    if size == (w, h):
        return list(frames)
    return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames]


def time_tracker(frames: list[np.ndarray], times: np.ndarray) -> dict:
    """ms per frame of the tracker alone (CPU time of this process, wall time) over frames shrunk as the session
    shrinks them; the first frame (dlib loads, the whole frame is searched) is left out."""
    tracked = resized(np.stack(frames), min(DETECT_SIDE, max(frames[0].shape[:2])))
    tracker = FaceTracker()
    tracker.update(tracked[0], times[0])
    cpu, wall = time.process_time(), time.perf_counter()
    found = sum(tracker.update(f, t) is not None for f, t in zip(tracked[1:], times[1:]))
    n = len(tracked) - 1
    return {"frames": n, "size": [tracked[0].shape[1], tracked[0].shape[0]],
            "cpu_ms_per_frame": 1000 * (time.process_time() - cpu) / max(n, 1),
            "wall_ms_per_frame": 1000 * (time.perf_counter() - wall) / max(n, 1),
            "found": found / max(n, 1), "searches": tracker.searches}


def live_animator(domain: str | None, config: GeneratorConfig, device: torch.device, dtype: torch.dtype,
                  seed: int) -> Animator:
    """A domain's Animator, or one of random weights at `config`."""
    if domain is not None:
        return Animator.from_pretrained(domain, device=str(device), dtype=dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        stylegan = Generator.from_config(config).to(device).eval().requires_grad_(False)
    spec = Domain("random", "Random weights (benchmark)", "person", config, None, "-", untrained=True)
    # the live loop uses no motion source; the control directions are the untrained fallback's (SeFa)
    return Animator(spec, stylegan, FastRenderer(stylegan, dtype=dtype, chunk_size=1), None,
                    directions=calibrate(spec, stylegan))


def time_live(args, device: torch.device) -> dict:
    """The live benchmark of parsed `args` (`--live`, `--live-domain`, `--live-side`, `--size`, `--dtype`, ...)."""
    video = read_video(args.live)
    if len(video) < 2:
        raise LganimError(f"{Path(args.live).name} has {len(video)} frame(s); the live benchmark needs a clip.")
    dtype = resolve_dtype(args.dtype)
    config = GeneratorConfig(args.size, channel_multiplier=args.channel_multiplier)
    anim = live_animator(args.live_domain, config, device, dtype, args.seed)
    frames = resized(video.frames, args.live_side)
    session = anim.live(LiveRequest(seed=args.seed))
    first = time.perf_counter()
    session.step(frames[0], float(video.t[0]))
    first_ms = 1000 * (time.perf_counter() - first)
    start = time.perf_counter()
    for frame, t in zip(frames[1:], video.t[1:]):
        session.step(frame, float(t))
    seconds = time.perf_counter() - start
    latency = latency_summary(session.latencies_ms()[1:])
    fps = (len(frames) - 1) / seconds
    goal = GOALS["cuda" if device.type == "cuda" else "cpu"]
    return {"video": Path(args.live).name, "camera_size": [frames[0].shape[1], frames[0].shape[0]],
            "frames": len(frames), "domain": anim.domain.name, "size": anim.stylegan.size, "device": device.type,
            "dtype": str(dtype).removeprefix("torch."), "threads": torch.get_num_threads(),
            "latency_ms": latency, "first_ms": first_ms, "fps": fps, "found": float(session.track().valid.mean()),
            "searches": session.tracker.searches, "tracker": time_tracker(frames, video.t),
            "goal": goal, "meets_goal": fps >= goal["fps"] and latency["p50"] < goal["p50_ms"]}


def format_live(result: dict) -> str:
    """A few lines of text for a `time_live` result."""
    lat, tr = result["latency_ms"], result["tracker"]
    return (f"live: {result['domain']} {result['size']}² on {result['device']} ({result['dtype']}, "
            f"{result['threads']} threads), camera {result['camera_size'][0]}×{result['camera_size'][1]}, "
            f"{result['frames']} frames: {result['fps']:.1f} frames/s, latency p50 {lat['p50']:.1f} ms, p95 "
            f"{lat['p95']:.1f} ms, max {lat['max']:.1f} ms (first step {result['first_ms']:.0f} ms); face found in "
            f"{100 * result['found']:.0f} %; goal {result['goal']['fps']:g} frames/s and p50 < "
            f"{result['goal']['p50_ms']:g} ms: {'met' if result['meets_goal'] else 'not met'}\n"
            f"tracker alone at {tr['size'][0]}×{tr['size'][1]}: {tr['cpu_ms_per_frame']:.1f} ms CPU, "
            f"{tr['wall_ms_per_frame']:.1f} ms wall a frame, {tr['searches']} whole-frame search(es)")


__all__ = ["GOALS", "resized", "time_tracker", "live_animator", "time_live", "format_live"]
