"""`lganim bench`: frames/s of the fp32 per-frame reference against the batched `FastRenderer`, written as JSON.

Random weights of the real architecture at `--size` (they have the real cost), the same W+ codes for both paths:

- reference: `Generator.synthesis` one frame at a time in fp32, as the official inference renders, on the first
  `--reference-frames` codes (its time is linear in the frame count; all of them are rendered by the fast path);
- fast: `FastRenderer` in `--dtype`, in chunks of each `--batch`; its max abs error is taken over the frames
  both paths rendered.

For each: frames/s (median over `--repeats` timed passes, after `--warmup` untimed ones; the two paths are timed
in alternation so that a busy machine slows both alike), time to first frame, peak memory, and for the fast path
the max abs error against the reference images and the speedup. On CUDA every timing ends with
`torch.cuda.synchronize` and the fast path's throughput is also given as a share of the device's bf16 peak,
from the FLOP count of `synthesis_flops`. Peak memory is `measure.PeakMemory`'s, per pass.

Other benchmarks of the same command, each in its module: `--request` (the whole request, here), `--edit`
(bench_edit.py), and instead of the renderers `--live` (bench_live.py), `--fit` (the prompt fit, bench_fit.py) and
`--calibrate` (a domain's calibration, bench_calibrate.py).
"""
from __future__ import annotations

import datetime
import os
import statistics
import time
from pathlib import Path

import torch

from ..config import DEFAULT_PROMPT, GeneratorConfig, MotionConfig
from ..device import resolve_device, resolve_dtype
from ..errors import LganimError
from ..files import write_json
from ..models.clip import random_clip
from ..models.motion_generator import MotionGenerator
from ..models.renderer import FastRenderer, ReferenceRenderer
from ..motion.calibration import calibrate
from ..motion.trained import TrainedMotion
from ..pipeline import Animator
from ..request import Request
from ..weights.registry import CLIP_MOTION_MODEL, Domain
from .bench_calibrate import format_calibrate, time_calibrate
from .bench_edit import format_edit, time_edit
from .bench_fit import format_fit, parse_fit_setting, time_fit
from .bench_live import format_live, time_live
from .bench_video import format_video, time_video
from .costs import bf16_peak_tflops, fast_path_bytes, reference_bytes, synthesis_flops
from .measure import PeakMemory, device_name, random_stylegan, sync

REQUEST_PROMPT = DEFAULT_PROMPT
REQUEST_FRAMES = 16
RANDOM_REQUEST = "random"  # --request domain of random-weight real architectures (see request_animator)


# ---- models and codes -------------------------------------------------------------------------------------------

def make_codes(g, frames: int, seed: int) -> torch.Tensor:
    """W+ codes [T, L, D] of a short motion: a mapped base code plus a growing mapped offset per layer."""
    rng = torch.Generator(device="cpu").manual_seed(seed + 1)
    dev = g.device
    z0 = torch.randn(1, g.style_dim, generator=rng).to(dev)
    z1 = torch.randn(g.num_ws, g.style_dim, generator=rng).to(dev)
    with torch.inference_mode():
        w0 = g.mapping(z0)                                  # [1, D]
        dw = g.mapping(z1) - w0                             # [L, D]
        t = torch.linspace(0, 1, frames, device=dev)[:, None, None]
        return (w0[:, None, :] + 0.5 * t * dw[None]).contiguous()  # [T, L, D]


# ---- measurement ------------------------------------------------------------------------------------------------

def _reference_pass(g, ws: torch.Tensor, device: torch.device) -> tuple[float, float, torch.Tensor]:
    """Per-frame fp32 reference: (seconds, seconds to the first frame, images [T, 3, H, W])."""
    frames = []
    start = time.perf_counter()
    first = None
    for t in range(ws.shape[0]):
        frames.append(g.synthesis(ws[t:t + 1]))
        if first is None:
            sync(device)
            first = time.perf_counter() - start
    sync(device)
    return time.perf_counter() - start, first, torch.cat(frames)


def _fast_pass(renderer, ws: torch.Tensor, device: torch.device) -> tuple[float, float, torch.Tensor]:
    """Batched renderer, streamed: (seconds, seconds to the first chunk, images [T, 3, H, W])."""
    chunks = []
    start = time.perf_counter()
    first = None
    for chunk in renderer.stream(ws):
        chunks.append(chunk)
        if first is None:
            sync(device)
            first = time.perf_counter() - start
    sync(device)
    return time.perf_counter() - start, first, torch.cat(chunks)


# ---- the command (its arguments are in lganim/cli/parser.py) ---------------------------------------------------

def _validate(args) -> torch.device:
    if args.size < 8 or args.size > 1024 or args.size & (args.size - 1):
        raise LganimError(f"--size must be a power of two from 8 to 1024, got {args.size}")
    if args.channel_multiplier not in (1, 2):
        raise LganimError(f"--channel-multiplier must be 1 or 2, got {args.channel_multiplier}")
    if args.frames < 1:
        raise LganimError(f"--frames must be at least 1, got {args.frames}")
    if args.reference_frames < 1:
        raise LganimError(f"--reference-frames must be at least 1, got {args.reference_frames}")
    if any(b < 1 for b in args.batch or []):
        raise LganimError("every --batch must be at least 1")
    if args.repeats is not None and args.repeats < 1:
        raise LganimError(f"--repeats must be at least 1, got {args.repeats}")
    if args.warmup < 0:
        raise LganimError(f"--warmup must be 0 or more, got {args.warmup}")
    if args.edit_updates < 1:
        raise LganimError(f"--edit-updates must be at least 1, got {args.edit_updates}")
    if args.edit_image is not None and args.edit in (None, RANDOM_REQUEST):
        raise LganimError("--edit-image needs --edit with a domain that reads photos (demo, human)")
    if args.threads is not None and not 1 <= args.threads <= 256:
        raise LganimError(f"--threads must be from 1 to 256, got {args.threads}")
    if args.live is not None and args.live_side < 16:
        raise LganimError(f"--live-side must be at least 16 pixels, got {args.live_side}")
    if args.steps < 1:
        raise LganimError(f"--steps must be at least 1, got {args.steps}")
    if args.fit and args.calibrate is not None:
        raise LganimError("--fit and --calibrate are two benchmarks: run them one at a time")
    if args.fit_setting and not args.fit:
        raise LganimError("--fit-setting needs --fit")
    if args.motion is not None and args.request in (None, RANDOM_REQUEST):
        raise LganimError("--motion needs --request with a real domain (random and no --request use no motion files)")
    device = resolve_device(args.device)
    if args.dtype == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise LganimError("this CUDA device has no bf16; use --dtype fp16 or fp32")
    return device


def summarize(setup: dict, reference: dict, fast: dict[int, dict]) -> dict:
    """Medians and derived figures from raw measurements.

    setup: the run's description (needs "size", "frames", "gflop_per_frame", "bf16_peak_tflops");
    reference: {"frames", "times_s", "first_s", "peak_mem_bytes"}, optionally "bytes_per_frame" (`reference_bytes`);
    fast: batch -> the same plus "max_abs_err", optionally "bytes_per_frame" (`fast_path_bytes`; None for a compiled
    path, whose traffic it does not describe); times_s are seconds per pass (reference: its frames; fast: all
    `frames`).
    """
    gflop, peak = setup["gflop_per_frame"], setup["bf16_peak_tflops"]
    ref_fps = reference["frames"] / statistics.median(reference["times_s"])
    ref_traffic = reference.get("bytes_per_frame")
    ref = {"frames": reference["frames"], "fps": ref_fps, "ms_per_frame": 1e3 / ref_fps,
           "gb_per_frame": ref_traffic / 1e9 if ref_traffic else None,
           "tb_per_s": ref_traffic * ref_fps / 1e12 if ref_traffic else None,
           "first_frame_ms": 1e3 * statistics.median(reference["first_s"]),
           "peak_mem_bytes": reference["peak_mem_bytes"], "times_s": reference["times_s"]}
    rows = []
    for batch, m in fast.items():
        fps = setup["frames"] / statistics.median(m["times_s"])
        traffic = m.get("bytes_per_frame")
        rows.append({"batch": batch, "fps": fps, "ms_per_frame": 1e3 / fps, "speedup": fps / ref_fps,
                     "max_abs_err": m["max_abs_err"], "first_frame_ms": 1e3 * statistics.median(m["first_s"]),
                     "peak_mem_bytes": m["peak_mem_bytes"], "times_s": m["times_s"], "tflops": gflop * fps / 1e3,
                     "pct_bf16_peak": 100 * gflop * fps / (peak * 1e3) if peak else None,
                     "gb_per_frame": traffic / 1e9 if traffic else None,
                     "tb_per_s": traffic * fps / 1e12 if traffic else None})
    best = max(rows, key=lambda e: e["fps"])
    result = {**setup, "reference": ref, "fast": rows, "best_batch": best["batch"], "fps": best["fps"],
              "speedup": best["speedup"], "max_abs_err": max(e["max_abs_err"] for e in rows)}
    if setup["size"] == 1024:
        result["fps_1024"] = best["fps"]
    return result


def measure(g, ws: torch.Tensor, renderers: dict, reference_frames: int, repeats: int, warmup: int,
            device: torch.device) -> tuple[dict, dict[int, dict], float]:
    """Time the reference and every renderer in alternation: raw measurements for `summarize`, and max |image|."""
    ref = {"frames": reference_frames, "times_s": [], "first_s": [], "peak_mem_bytes": None}
    fast = {b: {"times_s": [], "first_s": [], "peak_mem_bytes": None, "max_abs_err": 0.0} for b in renderers}
    with torch.inference_mode():
        for _ in range(warmup):
            g.synthesis(ws[:1])
            for r in renderers.values():
                _fast_pass(r, ws, device)
        for _ in range(repeats):  # alternate the paths so that load from elsewhere hits both alike
            with PeakMemory(device) as mem:
                seconds, first, ref_images = _reference_pass(g, ws[:reference_frames], device)
            _record(ref, seconds, first, mem.bytes)
            for b, r in renderers.items():
                with PeakMemory(device) as mem:
                    seconds, first, images = _fast_pass(r, ws, device)
                _record(fast[b], seconds, first, mem.bytes)
                err = (images[:reference_frames].float() - ref_images).abs().max().item()
                fast[b]["max_abs_err"] = max(fast[b]["max_abs_err"], err)
    return ref, fast, ref_images.abs().max().item()


def _record(m: dict, seconds: float, first: float, peak: int | None):
    m["times_s"].append(seconds)
    m["first_s"].append(first)
    if peak is not None:
        m["peak_mem_bytes"] = max(m["peak_mem_bytes"] or 0, peak)


def request_animators(domain: str, motion: Path | None, g, device: torch.device, dtype: torch.dtype,
                      compile: bool | str, directions: bool = False) -> dict[str, Animator]:
    """The two `Animator`s a whole request is timed with, sharing the StyleGAN2 and the motion source:

    - reference: `Generator.synthesis` in fp32, one frame per call (as the official inference renders);
    - fast: a `FastRenderer` in `dtype`, all frames in one chunk.

    domain "random": the real architectures with random weights and no files: `g` (the benchmark's StyleGAN2 at
    `--size`), CLIP RN50 (as the motion generator conditions on) and the paper's motion generator in its official
    configuration. Any other domain loads its files (`demo` is built locally and is tiny: it times the plumbing).
    directions: give the random domain control directions (the fallback rule's), for the edit benchmark.
    """
    if domain != RANDOM_REQUEST:
        base = Animator.from_pretrained(domain, motion=motion, device=str(device), renderer="reference")
        spec, g, source, parts = base.domain, base.stylegan, base.motion, dict(photos=base.photos, files=base.files)
    else:
        clip = random_clip(CLIP_MOTION_MODEL, device)
        config = MotionConfig(num_ws=g.num_ws, style_dim=g.style_dim, embed_dim=clip.embed_dim)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = MotionGenerator(config).to(device).eval().requires_grad_(False)
        spec = Domain(RANDOM_REQUEST, "Random weights (benchmark)", "person", g.config, None, "-", untrained=True)
        source = TrainedMotion(model, clip)
        parts = dict(directions=calibrate(spec, g) if directions else None)   # no files: the fallback rule's
    fast = FastRenderer(g, dtype=dtype, compile=compile, chunk_size=REQUEST_FRAMES)
    return {"reference": Animator(spec, g, ReferenceRenderer(g, 1), source, **parts),
            "fast": Animator(spec, g, fast, source, **parts)}


def time_request(domain: str, motion: Path | None, device: torch.device, dtype: torch.dtype, repeats: int,
                 warmup: int, stylegan=None, compile: bool | str = False) -> dict:
    """The whole request through `Animator`: CLIP text and image, motion, the start frame and the uint8 frames of
    a 16-frame clip, timed in alternation on the reference and the fast path (`request_animators`).

    "prepare" is CLIP, motion and the start frame; "render" the other frames. CLIP and motion run in fp32 on both
    paths. `stylegan`: the benchmark's random StyleGAN2, for domain "random"; `compile`: the fast renderer's
    torch.compile setting (compiled in the warm-up requests).
    """
    paths = request_animators(domain, motion, stylegan, device, dtype, compile)
    request = Request(prompts=REQUEST_PROMPT, num_frames=REQUEST_FRAMES)
    times = {name: {"prepare_s": [], "render_s": []} for name in paths}
    with torch.inference_mode():
        for i in range(warmup + repeats):
            for name, anim in paths.items():
                start = time.perf_counter()
                plan = anim.prepare(request)
                sync(device)
                prepared = time.perf_counter()
                for _ in anim.render(plan):
                    pass
                sync(device)
                if i >= warmup:
                    times[name]["prepare_s"].append(prepared - start)
                    times[name]["render_s"].append(time.perf_counter() - prepared)
    out = {"domain": domain, "size": paths["fast"].stylegan.size, "frames": REQUEST_FRAMES,
           "prompt": REQUEST_PROMPT, "dtype": str(dtype).removeprefix("torch.")}
    for name, t in times.items():
        prep, rend = statistics.median(t["prepare_s"]), statistics.median(t["render_s"])
        out[name] = {"prepare_s": prep, "render_s": rend, "total_s": prep + rend}
    out["speedup"] = out["reference"]["total_s"] / out["fast"]["total_s"]
    return out


def run(args) -> int:
    """Run the benchmark described by parsed `args`; print a table, write `--json`. Returns the exit status."""
    device = _validate(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    for name, timed, table in (("live", time_live, format_live), ("video", time_video, format_video)):
        if getattr(args, name) is not None:   # the live loop (bench_live.py) or a video's edit (bench_video.py) instead
            result = timed(args, device)
            return _write(args, {name: result}, table(result))
    config = GeneratorConfig(args.size, channel_multiplier=args.channel_multiplier)
    if args.fit:                                          # the prompt fit instead (bench_fit.py)
        overrides = [parse_fit_setting(text) for text in args.fit_setting]
        fit = time_fit(config, args.steps, args.dtype, overrides, device, args.seed)
        return _write(args, fit, format_fit(fit))
    if args.calibrate is not None:                        # a domain's calibration instead (bench_calibrate.py)
        result = time_calibrate(args.calibrate, config, args.dtype, device, args.seed)
        return _write(args, result, format_calibrate(result))
    repeats = args.repeats or (3 if device.type == "cuda" else 2)
    batches = args.batch or [args.frames]
    channels_last = {"auto": None, "on": True, "off": False}[args.channels_last]
    compile_mode = {None: False, "default": True}.get(args.compile, args.compile)

    g = random_stylegan(config, device, args.seed)
    ws = make_codes(g, args.frames, args.seed)
    renderers = {b: FastRenderer(g, dtype=resolve_dtype(args.dtype), channels_last=channels_last, compile=compile_mode,
                                 chunk_size=b) for b in batches}
    ref, fast, image_max = measure(g, ws, renderers, min(args.reference_frames, args.frames), repeats,
                                   args.warmup, device)
    ref["bytes_per_frame"] = reference_bytes(config)
    for b, r in renderers.items():
        chunk = r.planned_chunk_size(args.frames)
        fast[b]["bytes_per_frame"] = None if compile_mode else fast_path_bytes(config, r.dtype, chunk, r.channels_last)
    setup = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": device.type, "device_name": device_name(device), "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(), "size": args.size, "channel_multiplier": args.channel_multiplier,
        "frames": args.frames, "dtype": args.dtype or "fp32", "channels_last": renderers[batches[0]].channels_last,
        "compile": args.compile, "repeats": repeats, "warmup": args.warmup, "seed": args.seed,
        "gflop_per_frame": synthesis_flops(config)["total"] / 1e9,
        "bf16_peak_tflops": bf16_peak_tflops(device, args.peak_tflops), "image_abs_max": image_max,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32 if device.type == "cuda" else None,
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    result = summarize(setup, ref, fast)
    if args.request is not None:
        result["request"] = time_request(args.request, args.motion, device, resolve_dtype(args.dtype), repeats,
                                         args.warmup, stylegan=g, compile=compile_mode)
    table = format_table(result)
    if args.edit is not None:
        fast = request_animators(args.edit, None, g, device, resolve_dtype(args.dtype), compile_mode,
                                 directions=True)["fast"]
        result["edit"] = time_edit(fast, args.edit_image, args.edit_updates, max(args.warmup, 1))
        table += "\n" + format_edit(result["edit"])
    return _write(args, result, table)


def _write(args, result: dict, table: str) -> int:
    """Print `table` (the result as text) and write `result` to `--json`."""
    print(table)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2 ** 20:.0f}"


def format_table(result: dict) -> str:
    """A short plain-text table of a result dict from `run`."""
    head = (f"{result['device_name']} ({result['device']}), {result['size']}² cm{result['channel_multiplier']}, "
            f"{result['frames']} frames, fast dtype {result['dtype']}, {result['gflop_per_frame']:.1f} GFLOP/frame")
    rows = [(f"{'path':<14}{'batch':>6}{'frames/s':>10}{'ms/frame':>10}{'first ms':>10}{'peak MiB':>10}"
             f"{'speedup':>9}{'max|err|':>10}{'% peak':>8}{'TB/s':>7}")]
    ref = result["reference"]
    rows.append(f"{'reference fp32':<14}{1:>6}{ref['fps']:>10.2f}{ref['ms_per_frame']:>10.1f}"
                f"{ref['first_frame_ms']:>10.1f}{_mib(ref['peak_mem_bytes']):>10}{1.0:>9.2f}{0.0:>10.1e}"
                f"{'-':>8}{'-' if ref['tb_per_s'] is None else format(ref['tb_per_s'], '.2f'):>7}")
    for e in result["fast"]:
        pct = "-" if e["pct_bf16_peak"] is None else f"{e['pct_bf16_peak']:.1f}"
        tbs = "-" if e["tb_per_s"] is None else f"{e['tb_per_s']:.2f}"
        rows.append(f"{'fast ' + result['dtype']:<14}{e['batch']:>6}{e['fps']:>10.2f}{e['ms_per_frame']:>10.1f}"
                    f"{e['first_frame_ms']:>10.1f}{_mib(e['peak_mem_bytes']):>10}{e['speedup']:>9.2f}"
                    f"{e['max_abs_err']:>10.1e}{pct:>8}{tbs:>7}")
    req = result.get("request")
    if req:
        rows.append(f"whole request ({req['domain']}, {req['size']}², {req['frames']} frames): reference "
                    f"{req['reference']['total_s']:.2f} s, fast {req['fast']['total_s']:.2f} s "
                    f"(prepare {req['fast']['prepare_s']:.2f} s), speedup {req['speedup']:.2f}")
    return "\n".join([head, *rows])
