"""`python -m lganim bench --video CLIP`: editing a video (lganim/video_edit.py), timed and measured, as JSON beside
the renderer benchmark's.

Speed, on CLIP with a constant smile offset (smile=0.1) as the edit: the first pass (tracking, frames/s), the
one-frame preview (seconds) and the second pass (decoded → inverted → rendered twice → composited, frames/s,
without the MP4 encoder) over the first `--video-frames` frames, and the process's peak resident memory. The
domain is `--video-domain`'s (demo...) or, by default, random weights of the real architectures: the `--size`
StyleGAN2 (rendered by a `FastRenderer` in `--dtype`), a full e4e encoder (IR-SE-50, 256² input) and the fallback
control directions.

Quality (`--video-quality`): fidelity, the PSNR (dB; None: identical) and mean absolute error (uint8 levels) of an
output against a reference inside the face box (each frame's crop square's bounding box); flicker, the mean absolute
change between consecutive frames inside the face box, over the reference's (1: no flicker added). Both methods
(residual, reconstruction) and code smoothings σ of SMOOTHINGS seconds (1 s: about one code for the whole clip):
- open world: the first QUALITY_FRAMES frames of CLIP at strength 0 and 1, against CLIP;
- closed world: a clip the StyleGAN2 renders from known codes w*_t (the mouth opening and closing, two blinks, a
  slow turn; the crop moving and rolling across a textured canvas), edited at strength 0 (against the clip) and 1
  (against the true edit, G(w*_t + Δ) composed the same way). The codes come from the domain's own e4e and from the
  true codes seen through an e4e-like error (ORACLE_BIAS, ORACLE_JITTER: a fixed offset and a per-frame one, in
  units of the spread of W over seeds).
"""
from __future__ import annotations

import math
import resource
import time
from pathlib import Path

import numpy as np
import torch

from ..config import DEFAULT_CHUNK, GeneratorConfig
from ..device import resolve_dtype
from ..edit import Editor
from ..errors import LganimError
from ..face.composite import blend_into
from ..models.e4e import E4EConfig, E4EEncoder
from ..models.renderer import FastRenderer
from ..models.stylegan2 import Generator, to_uint8
from ..motion.calibration import calibrate
from ..pipeline import Animator
from ..startcodes import seed_codes
from ..tracks.idle import CLOSED
from ..tracks.track import Track
from ..video_edit import CODE_SMOOTH, EditDirections, VideoEdit, VideoFace, e4e_encode, edit_weights, follow_face
from ..weights.registry import Domain

EDIT = {"smile": 0.1}                 # the benchmark's edit: a constant offset (typical full smile)
SMOOTHINGS = (0.0, CODE_SMOOTH, 0.12, 1.0)
QUALITY_FRAMES = 50                   # frames of the clip the open-world measures use
CLOSED_SECONDS, CLOSED_FPS, CANVAS = 2.0, 25, 256
ORACLE_BIAS, ORACLE_JITTER = 0.3, 0.1


def video_editor(domain: str | None, config: GeneratorConfig, device: torch.device, dtype: torch.dtype,
                 seed: int) -> tuple[Editor, tuple[torch.nn.Module, torch.Tensor] | None]:
    """A domain's editor (its e4e: None, the editor's own), or random weights at `config` with a random full-size
    e4e (encoder, latent_avg)."""
    if domain is not None:
        return Animator.from_pretrained(domain, device=str(device), dtype=dtype).editor, None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        stylegan = Generator.from_config(config).to(device).eval().requires_grad_(False)
        e4e = E4EConfig(num_ws=stylegan.num_ws, style_dim=stylegan.style_dim)
        encoder = E4EEncoder(e4e).to(device, dtype).eval().requires_grad_(False)
        latent_avg = stylegan.mean_latent(256).expand(stylegan.num_ws, -1)
    spec = Domain("random", "Random weights (benchmark)", "person", config, None, "-", untrained=True)
    anim = Animator(spec, stylegan, FastRenderer(stylegan, dtype=dtype, chunk_size=DEFAULT_CHUNK), None,
                    directions=calibrate(spec, stylegan))
    return anim.editor, (encoder, latent_avg)


def constant_edit(editor: Editor, t: np.ndarray, values: dict[str, float] = EDIT) -> torch.Tensor:
    """Δ [T, L, D]: control offsets over the whole clip."""
    g = editor.stylegan
    controls = editor.directions().offsets({c: np.array([v]) for c, v in values.items()})[0].float().cpu()
    return EditDirections(controls, torch.zeros(0, g.num_ws, g.style_dim)).offsets(edit_weights(t, None, None, 0))


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_video(args, device: torch.device) -> dict:
    """The video benchmark of parsed `args` (`--video`, `--video-domain`, `--video-frames`, `--video-quality`,
    `--size`, `--dtype`, `--seed`)."""
    if args.video_frames is not None and args.video_frames < 1:
        raise LganimError(f"--video-frames must be at least 1, got {args.video_frames}")
    dtype = resolve_dtype(args.dtype)
    config = GeneratorConfig(args.size, channel_multiplier=args.channel_multiplier)
    editor, e4e = video_editor(args.video_domain, config, device, dtype, args.seed)
    start = time.perf_counter()
    face = follow_face(args.video)
    tracking_s = time.perf_counter() - start
    n = min(len(face), args.video_frames or len(face))
    offsets = constant_edit(editor, face.t)
    encode = None if e4e is None else e4e_encode(*e4e, face.quads)
    edit = VideoEdit(args.video, editor, face, encode=encode, chunk_size=DEFAULT_CHUNK // 2)   # as the door
    start = time.perf_counter()
    edit.preview(offsets, 1.0)
    preview_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in edit.stream(edit.frames(stop=n), offsets, 1.0):
        pass
    edit_s = time.perf_counter() - start
    out = {"video": Path(args.video).name, "frame_size": list(face.size), "frames": n, "domain": editor.domain.name,
           "size": editor.stylegan.size, "device": device.type, "dtype": str(dtype).removeprefix("torch."),
           "threads": torch.get_num_threads(), "tracking_fps": len(face) / tracking_s, "preview_s": preview_s,
           "edit_fps": n / edit_s, "peak_rss_mb": peak_rss_mb(), "edit": EDIT}
    if args.video_quality:
        out["quality"] = {"open": open_world(editor, args.video, face, encode),
                          "closed": closed_world(editor, args.seed)}
    return out


# ---- measures ----------------------------------------------------------------------------------------------------

def face_boxes(quads: np.ndarray, size: tuple[int, int]) -> list[tuple[slice, slice]]:
    """Each frame's face box: the bounding box of its crop square [4, 2], clipped to the frame (W, H)."""
    boxes = []
    for q in quads:
        (x0, y0), (x1, y1) = np.floor(q.min(0)).astype(int), np.ceil(q.max(0)).astype(int)
        boxes.append((slice(max(y0, 0), min(y1, size[1])), slice(max(x0, 0), min(x1, size[0]))))
    return boxes


def fidelity(frames: np.ndarray, reference: np.ndarray, boxes) -> dict:
    """PSNR (dB; None: identical) and mean absolute error (levels) of frames uint8 [T, H, W, 3] against `reference`
    inside the face boxes."""
    errors = np.concatenate([(frames[k][b].astype(np.float64) - reference[k][b]).ravel()
                             for k, b in enumerate(boxes)])
    mse = float(np.mean(errors ** 2))
    return {"psnr": None if mse == 0 else 10 * math.log10(255 ** 2 / mse), "mae": float(np.mean(np.abs(errors)))}


def flicker(frames: np.ndarray, boxes) -> float:
    """The mean absolute change (levels) between consecutive frames uint8 [T, H, W, 3] inside frame t's face box."""
    return float(np.mean([np.mean(np.abs(frames[k + 1][b].astype(np.float64) - frames[k][b]))
                          for k, b in enumerate(boxes[:-1])]))


def edited(edit: VideoEdit, frames: np.ndarray, offsets: torch.Tensor, strength: float) -> np.ndarray:
    """All `frames` uint8 [T, H, W, 3] edited at once: uint8 [T, H, W, 3]."""
    return np.concatenate([c.frames[0] for c in edit.stream(enumerate(frames), offsets, strength)])


def compare(make_edit, frames: np.ndarray, offsets: torch.Tensor, boxes, ideal: np.ndarray) -> list[dict]:
    """Each method and smoothing of `make_edit(residual, smooth)` at strength 0 (against `frames`) and 1 (against
    `ideal`): fidelity and flicker ratio."""
    rows = []
    base, target = flicker(frames, boxes), flicker(ideal, boxes)
    for residual in (True, False):
        for smooth in SMOOTHINGS:
            edit = make_edit(residual, smooth)
            still, moved = edited(edit, frames, offsets, 0.0), edited(edit, frames, offsets, 1.0)
            rows.append({"method": "residual" if residual else "reconstruction", "smooth_s": smooth,
                         "strength0": {**fidelity(still, frames, boxes), "flicker": flicker(still, boxes) / base},
                         "strength1": {**fidelity(moved, ideal, boxes), "flicker": flicker(moved, boxes) / target}})
    return rows


def open_world(editor: Editor, video: Path, face: VideoFace, encode) -> dict:
    """The first QUALITY_FRAMES frames of the clip edited (against the clip itself at both strengths)."""
    n = min(len(face), QUALITY_FRAMES)
    part = VideoFace(face.t[:n], face.quads[:n], face.valid[:n], face.size, face.source_size, face.track)
    probe = VideoEdit(video, editor, face, encode=encode)
    frames = np.stack([f for _, f in probe.frames(stop=n)])
    offsets = constant_edit(editor, part.t)
    rows = compare(lambda residual, smooth: VideoEdit(None, editor, part, residual=residual, smooth=smooth,
                                                      encode=encode), frames, offsets,
                   face_boxes(part.quads, part.size), frames)
    return {"frames": n, "rows": rows}


def closed_world(editor: Editor, seed: int) -> dict:
    """A clip rendered from known codes, edited with the domain's e4e and with the true codes seen through an
    e4e-like error (module doc)."""
    g = editor.stylegan
    t = np.arange(round(CLOSED_SECONDS * CLOSED_FPS)) / CLOSED_FPS
    blink = sum(np.exp(-0.5 * ((t - c) / 0.05) ** 2) for c in (0.6, 1.4))                       # two blinks
    motion = {"mouth_open": 0.4 * np.maximum(0.0, np.sin(2 * np.pi * 1.5 * t)), "eye_l": -CLOSED * blink,
              "eye_r": -CLOSED * blink, "yaw": 10 * np.sin(2 * np.pi * t / CLOSED_SECONDS)}
    w0 = seed_codes(g, [seed], editor.domain.truncation)[0].float().cpu()                          # [L, D]
    true = w0 + editor.directions().offsets(motion)                                                # [T, L, D]
    offsets = constant_edit(editor, t)
    angle = np.radians(6 * np.sin(2 * np.pi * t / CLOSED_SECONDS))
    centre = CANVAS / 2 + np.stack([16 * np.sin(2 * np.pi * t / CLOSED_SECONDS), 8 * np.cos(2 * np.pi * t)], 1)
    x = 80 * np.stack([np.cos(angle), -np.sin(angle)], 1)                                          # half the side
    y = np.stack([-x[:, 1], x[:, 0]], 1)
    quads = np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y], 1)          # [T, 4, 2]
    yy, xx = np.mgrid[:CANVAS, :CANVAS]
    canvas = np.stack([96 + 40 * np.sin(xx / 9), 110 + 30 * np.cos(yy / 13), 120 + 20 * np.sin((xx + yy) / 17)],
                      -1).astype(np.uint8)

    def compose(codes: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            crops = torch.cat([to_uint8(x.float()) for x in editor.renderer.stream(codes.to(g.device, g.dtype))])
        return np.stack([blend_into(canvas, c.permute(2, 0, 1).float(), q, feather=0.0)
                         for c, q in zip(crops, quads)])

    frames, ideal = compose(true), compose(true + offsets)
    spread = float(seed_codes(g, range(256), editor.domain.truncation).float().std(0).mean())
    rng = torch.Generator().manual_seed(seed)
    bias = ORACLE_BIAS * spread * torch.randn(true.shape[1:], generator=rng)
    jitter = ORACLE_JITTER * spread * torch.randn(true.shape, generator=rng)

    def oracle(indices: list[int], _frames: np.ndarray) -> torch.Tensor:
        return (true[indices] + bias + jitter[indices]).to(g.device, g.dtype)

    valid = np.ones(len(t), dtype=bool)
    face = VideoFace(t, quads, valid, (CANVAS, CANVAS), (CANVAS, CANVAS), Track(CLOSED_FPS, t, {}, valid))
    boxes = face_boxes(quads, face.size)
    worlds = {}
    for name, encode in (("e4e-like", oracle), ("domain-e4e", None)):
        worlds[name] = compare(lambda residual, smooth: VideoEdit(None, editor, face, residual=residual,
                                                                  smooth=smooth, encode=encode),
                               frames, offsets, boxes, ideal)
    return {"frames": len(t), "oracle_bias": ORACLE_BIAS, "oracle_jitter": ORACLE_JITTER, "w_spread": spread,
            "true_edit": {**fidelity(ideal, frames, boxes), "flicker": flicker(ideal, boxes) / flicker(frames, boxes)},
            "encoders": worlds}


def format_video(result: dict) -> str:
    """A few lines of text for a `time_video` result."""
    lines = [f"video edit: {result['domain']} {result['size']}² on {result['device']} ({result['dtype']}, "
             f"{result['threads']} threads), {result['video']} at {result['frame_size'][0]}×{result['frame_size'][1]}: "
             f"tracking {result['tracking_fps']:.1f} frames/s, preview {result['preview_s']:.2f} s, editing "
             f"{result['edit_fps']:.2f} frames/s over {result['frames']} frames; peak memory "
             f"{result['peak_rss_mb']:.0f} MiB"]
    quality = result.get("quality")
    if quality:
        tables = [("open world", quality["open"]["rows"])]
        tables += [(f"closed world, {name}", rows) for name, rows in quality["closed"]["encoders"].items()]
        for title, rows in tables:
            lines.append(f"{title}: method, σ s | strength 0: PSNR dB, flicker ratio | strength 1: PSNR dB, flicker")
            for r in rows:
                a, b = r["strength0"], r["strength1"]
                lines.append(f"  {r['method']:<14} {r['smooth_s']:>5.2f} | {_db(a['psnr'])} {a['flicker']:>6.2f} | "
                             f"{_db(b['psnr'])} {b['flicker']:>6.2f}")
    return "\n".join(lines)


def _db(psnr: float | None) -> str:
    return f"{'same':>6}" if psnr is None else f"{psnr:>6.1f}"


__all__ = ["EDIT", "SMOOTHINGS", "QUALITY_FRAMES", "video_editor", "constant_edit", "time_video", "face_boxes",
           "fidelity", "flicker", "open_world", "closed_world", "format_video"]
