"""`edit-video`: the face of an existing video edited with a sentence or control offsets (`Animator.edit_video`):
every frame at its time, the sound kept, written by the output stage. Scaling and lost faces are said on stderr."""
from __future__ import annotations

import sys

from ..config import MAX_VIDEO_SIDE
from ..request import VideoEditRequest
from .common import load, write_clips
from .progress import stage_bars
from .requests import ClipFiles


def run(args, built: tuple[VideoEditRequest, ClipFiles]) -> int:
    request, files = built
    anim = load(args)
    with stage_bars() as progress:                     # tracking, a new prompt's fit, the preview
        result = anim.edit_video(request, progress=progress)
    info = result.info
    (w, h), (sw, sh) = info["size"], info["source_size"]
    if (w, h) != (sw, sh):
        print(f"scaled: {sw}x{sh} to {w}x{h} (videos are edited at up to {MAX_VIDEO_SIDE} pixels a side)",
              file=sys.stderr)
    if info["lost"]:
        print(f"face lost in {info['lost']} of {info['frames']} frames: they pass through unedited", file=sys.stderr)
    write_clips(result, files)
    return 0
