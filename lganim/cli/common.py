"""What the commands that make videos share: loading the domain (its device said on stderr) and writing a result's
clips through the library's output stage (lganim.outputs), frames streamed from the renderer into the files."""
from __future__ import annotations

import sys

from tqdm import tqdm

from ..device import device_line
from ..outputs import Outputs, Written
from ..pipeline import AnimationResult, Animator
from .requests import ClipFiles


def load(args) -> Animator:
    """The domain's Animator for the command's --domain, --motion, --device, --dtype; says which device it uses."""
    anim = Animator.from_pretrained(args.domain, motion=getattr(args, "motion", None), device=args.device,
                                    dtype=args.dtype)
    print(device_line(anim.device), file=sys.stderr)
    return anim


def write_clips(result: AnimationResult, files: ClipFiles) -> Written:
    """Render the result straight into its files (a progress bar on a terminal) and say what was written."""
    outputs = Outputs(videos=files.videos, gifs=() if files.gif is None else (files.gif,), strip=files.strip,
                      tracks=() if files.track is None else (files.track,))
    with tqdm(total=result.plan.request.num_frames, unit="frame", desc="rendering", disable=None) as bar:
        written = result.write(outputs, progress=lambda done, total: bar.update(done - bar.n))
    h, w = written.last.shape[1:3]
    sound = ", with sound" if result.plan.motion.audio is not None else ""
    for path in written.videos:
        print(f"wrote {path} ({written.frames} frames, {w}x{h}, {written.fps:g} fps{sound})")
    for path in [*written.gifs, *([written.strip_file] if written.strip_file else []), *written.tracks]:
        print(f"wrote {path}")
    for line in result.plan.warnings:                       # a fit its time budget stopped
        print(f"warning: {line}", file=sys.stderr)
    return written


__all__ = ["load", "write_clips"]
