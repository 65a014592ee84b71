"""What the commands that make videos share: checking where the output goes, loading the domain, the face of the
request, progress bars (on a terminal only), and rendering straight into the file."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..device import device_line
from ..errors import LganimError
from ..media.writers import write_mp4_stream, write_video
from ..pipeline import Animator, Plan
from ..request import Request


def check_out(out: Path, suffixes: tuple[str, ...], flag: str = "--out") -> None:
    """The output's suffix and folder, checked before any work."""
    if out.suffix.lower() not in suffixes:
        wanted = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise LganimError(f"{flag} must end in {wanted}, got {out.name!r}.")
    if not out.parent.is_dir():
        raise LganimError(f"The output folder {out.parent} does not exist.")


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


@contextmanager
def stage_bars():
    """Progress bars (on a terminal) for work in stages that reports progress(stage, done, expected): one bar per
    stage, closed when the next one starts."""
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, expected: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=0, desc=stage, unit="step", disable=None)
        bar = bars[stage]
        bar.total = expected
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


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
