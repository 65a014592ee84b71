"""`python -m lganim eval`: the paper's metrics for a video file or for a run of the pipeline, as JSON."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..device import resolve_device
from ..errors import LganimError
from ..files import write_json
from ..media.video_reader import read_video
from ..pipeline import Animator
from ..weights.domain_files import domain_files, resolve
from ..weights.encoders import load_arcface, load_clip
from ..weights.registry import get_domain
from .metrics import evaluate_clip, mean_metrics


def clip_frames(path: Path) -> np.ndarray:
    """All frames of an MP4/GIF as uint8 [T, H, W, 3] (two at least: the metrics compare frames)."""
    frames = read_video(path).frames
    if frames.shape[0] < 2:
        raise LganimError(f"{path} has {frames.shape[0]} frame; the metrics need 2 or more.")
    return frames


def run(args) -> int:
    device = resolve_device(args.device)
    spec = get_domain(args.domain)
    prompts = args.prompt or []
    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    if args.video:
        clips = [clip_frames(v) for v in args.video]
        names = [str(v) for v in args.video]
        if prompts and len(prompts) not in (1, len(clips)):
            raise LganimError(f"Give one --prompt or one per video ({len(clips)}).")
        prompts = prompts * len(clips) if len(prompts) == 1 else prompts
    else:
        if not prompts:
            raise LganimError("A pipeline run needs --prompt.")
        anim = Animator.from_pretrained(spec.name, motion=args.motion, device=str(device))
        result = anim(prompts, args.seed, num_frames=args.frames)
        clips, prompts = list(result.frames), result.prompts
        names = [f"seed {s}: {p}" for s, p in zip(result.seeds, result.prompts)]
    clip = None
    loss_clip = domain_files(spec).clip_loss
    if not args.no_clip and prompts:
        clip = load_clip(resolve(loss_clip), device=device)
    identity = load_arcface(device, path=str(args.arcface) if args.arcface else None)
    results = []
    for i, frames in enumerate(clips):
        r = evaluate_clip(frames, prompts[i] if prompts else None, clip=clip, identity=identity)
        results.append({"clip": names[i], "prompt": prompts[i] if prompts else None, **r})
    out = {"mean": mean_metrics([{k: v for k, v in r.items() if k not in ("clip", "prompt")} for r in results]),
           "clips": results,
           "notes": {"acd_face": "needs ir_se50.pth" if identity is None else "ArcFace IR-SE50, official input",
                     "clip_score": "100 * max(cos, 0) of the last frame, loss CLIP"
                     + (" (demo: tiny random ViT)" if spec.untrained else f" ({loss_clip})")}}
    if args.json is not None:
        write_json(args.json, out)
        print(f"wrote {args.json}")
    else:
        print(json.dumps(out, indent=2))
    return 0
