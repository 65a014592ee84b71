"""What the commands that make videos share: checking where the output goes, loading the domain, the face of the
request, the control directions, and rendering straight into the file with a progress bar."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..controls import Controls, load_controls
from ..device import device_line
from ..errors import LganimError
from ..pipeline import Animator, Plan
from ..request import Request
from ..sources import MotionSource, MotionSum
from ..video import write_mp4_stream, write_video
from ..weights import domain_files

VIDEO_SUFFIXES = (".mp4", ".gif")
TRACK_SUFFIXES = (".json", ".csv")


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


def face_request(args, prompts, num_frames: int, fps: int, driven: bool = False) -> Request:
    """The request of the command's face options (--seed or --image, --face, --no-paste-back, --refine)."""
    return Request(prompts, args.seed or 0, args.image, num_frames, fps, getattr(args, "strength", 1.0),
                   args.truncation, getattr(args, "schedule", "linear"), args.face, not args.no_paste_back,
                   args.refine, driven)


def controls_of(anim: Animator) -> Controls:
    """The control directions of the Animator's domain (calibrated on first use only on a GPU)."""
    with steps_bar("calibrating the control directions") as progress:
        return load_controls(anim.domain, domain_files(anim.domain), anim.generator,
                             calibrate_if_missing=anim.device.type == "cuda", progress=progress)


def drive_face(args, anim: Animator, source: MotionSource, num_frames: int, fps: int, video_fps: float,
               placeholder: str) -> int:
    """Render the face of the command's options driven by `source` (and by --prompt's motion on top) into --out at
    `video_fps`, and its track into --track-out if asked: the frame count."""
    if args.prompt:
        source = MotionSum([source, anim.motion])            # language-guided motion on top
    plan = anim.prepare(face_request(args, args.prompt or [placeholder], num_frames, fps, driven=True), source=source)
    frames = render_to(anim, plan, args.out, video_fps)
    print(f"wrote {args.out} ({frames} frames at {video_fps:.3f} fps, "
          f"{'with' if plan.motion.audio is not None else 'without'} sound)")
    if args.track_out is not None:
        plan.motion.track.save(args.track_out)
        print(f"wrote {args.track_out}")
    return frames


@contextmanager
def steps_bar(desc: str):
    """A progress bar (on a terminal) for work that reports progress(done, expected)."""
    with tqdm(total=0, desc=desc, unit="frame", disable=None) as bar:
        def progress(done: int, expected: int) -> None:
            bar.total = expected
            bar.update(done - bar.n)
        yield progress


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
