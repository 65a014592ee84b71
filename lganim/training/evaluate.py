"""`python -m lganim eval`: the paper's metrics for a video file or for a run of the pipeline, as JSON."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LganimError
from .fit import write_json


def read_video(path: Path) -> np.ndarray:
    """All frames of an MP4/GIF as uint8 [T, H, W, 3]."""
    import imageio.v3 as iio
    if not path.is_file():
        raise LganimError(f"No video at {path}.")
    try:
        frames = np.asarray(iio.imread(path, index=None))
    except Exception as e:
        raise LganimError(f"Could not read the video {path} ({type(e).__name__}).") from None
    if frames.ndim == 3:
        frames = frames[..., None].repeat(3, axis=-1)
    if frames.ndim != 4 or frames.shape[0] < 2:
        raise LganimError(f"{path} has {0 if frames.ndim != 4 else frames.shape[0]} frames; the metrics need 2 or more.")
    return np.ascontiguousarray(frames[..., :3].astype(np.uint8))


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", type=Path, action="append", help="a generated clip (.mp4/.gif; repeatable)")
    src.add_argument("--seed", type=int, action="append", help="run the pipeline on this seed (repeatable)")
    p.add_argument("--prompt", action="append", help="the clip's prompt (for the CLIP score; repeatable)")
    p.add_argument("--domain", default="human", help="domain of the pipeline run, and of the loss CLIP")
    p.add_argument("--motion", help="motion checkpoint folder for the pipeline run ('fit' to fit the prompt)")
    p.add_argument("--frames", type=int, default=16, help="frames of the pipeline run (default 16)")
    p.add_argument("--arcface", type=Path, help="ir_se50.pth for ACD-face (default: local weights/ or Hub cache)")
    p.add_argument("--no-clip", action="store_true", help="skip the CLIP score (no ViT-B/32 needed)")
    p.add_argument("--json", type=Path, help="write the results here (default: print them)")
    p.add_argument("--device", default="auto")


def run(args) -> int:
    import json

    from ..device import resolve_device
    from ..hub import CLIP_LOSS_MODEL, get_domain
    from .losses import load_arcface
    from .metrics import evaluate_clip, mean_metrics

    device = resolve_device(args.device)
    spec = get_domain(args.domain)
    prompts = args.prompt or []
    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    if args.video:
        clips = [read_video(v) for v in args.video]
        names = [str(v) for v in args.video]
        if prompts and len(prompts) not in (1, len(clips)):
            raise LganimError(f"Give one --prompt or one per video ({len(clips)}).")
        prompts = prompts * len(clips) if len(prompts) == 1 else prompts
    else:
        if not prompts:
            raise LganimError("A pipeline run needs --prompt.")
        from ..pipeline import Animator
        anim = Animator.from_pretrained(spec.name, motion=args.motion, device=str(device))
        result = anim(prompts, args.seed, num_frames=args.frames)
        clips, prompts = list(result.frames), result.prompts
        names = [f"seed {s}: {p}" for s, p in zip(result.seeds, result.prompts)]
    clip = None
    if not args.no_clip and prompts:
        from ..encoders import load_clip
        if spec.untrained:
            from ..demo import ensure_demo
            name = str(ensure_demo().clip_loss)
        else:
            name = CLIP_LOSS_MODEL
        clip = load_clip(name, device=device)
    identity = load_arcface(device, path=str(args.arcface) if args.arcface else None)
    results = []
    for i, frames in enumerate(clips):
        r = evaluate_clip(frames, prompts[i] if prompts else None, clip=clip, identity=identity)
        results.append({"clip": names[i], "prompt": prompts[i] if prompts else None, **r})
    out = {"mean": mean_metrics([{k: v for k, v in r.items() if k not in ("clip", "prompt")} for r in results]),
           "clips": results,
           "notes": {"acd_face": "needs ir_se50.pth" if identity is None else "ArcFace IR-SE50, official input",
                     "clip_score": "100 * max(cos, 0) of the last frame, loss CLIP"
                     + (" (demo: tiny random ViT)" if spec.untrained else f" ({CLIP_LOSS_MODEL})")}}
    if args.json is not None:
        write_json(args.json, out)
        print(f"wrote {args.json}")
    else:
        print(json.dumps(out, indent=2))
    return 0
