"""What the commands that make videos share: loading the domain, the face of the request, and rendering straight
into the file (checking where outputs go and the progress bars of stages are `outputs.py`, which needs no torch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..device import device_line
from ..media.writers import write_mp4_stream, write_video
from ..pipeline import Animator, Plan
from ..request import Request
from .outputs import check_out, stage_bars


def load(args) -> Animator:
    """The domain's Animator for the command's --domain, --motion, --device, --dtype; says which device it uses."""
    anim = Animator.from_pretrained(args.domain, motion=getattr(args, "motion", None), device=args.device,
                                    dtype=args.dtype)
    print(device_line(anim.device))
    return anim


def face_request(args, prompts, num_frames: int, fps: int) -> Request:
    """The request of the command's face options (--seed or --image, --face, --no-paste-back, --refine)."""
    return Request(prompts, args.seed or 0, args.image, num_frames, fps, getattr(args, "strength", 1.0),
                   args.truncation, getattr(args, "schedule", "linear"), args.face, not args.no_paste_back,
                   args.refine)


def render_to(anim: Animator, plan: Plan, out: Path, fps: float) -> int:
    """Render the plan straight into `out` (MP4 streamed chunk by chunk, with the motion's audio; or GIF): its
    frame count. Nothing is left at `out` if rendering fails or is interrupted."""
    total = plan.request.batch * plan.request.num_frames
    with tqdm(total=total, unit="frame", desc="rendering", disable=None) as bar:
        def chunks():
            for chunk in anim.render(plan):
                bar.update(chunk.frames.shape[0] * chunk.frames.shape[1])
                yield chunk.frames[0]                                             # [n, H, W, 3] of clip 0
        if out.suffix.lower() == ".gif":                                          # one palette: all frames first
            frames = np.concatenate(list(chunks()))
            write_video(frames, out, fps)
            return len(frames)
        return write_mp4_stream(chunks(), out, fps, audio=plan.motion.audio)[1]


__all__ = ["check_out", "stage_bars", "load", "face_request", "render_to"]
