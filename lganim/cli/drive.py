"""`retarget`, `talk`, `say`: a face driven by a video (or its motion track), by speech or by text, through the
library's one door for driven faces (`Animator.drive`), written by its output stage (`track` is `track.py`: no
torch).

Mouth motion follows the speech envelope (`talk`) or the phonemes of the synthesis (`say`): it is not
phoneme-exact lip sync of recorded speech.
"""
from __future__ import annotations

from ..request import DriveRequest
from .common import load, write_clips
from .progress import stage_bars
from .requests import ClipFiles


def run(args, built: tuple[DriveRequest, ClipFiles]) -> int:
    request, files = built
    with stage_bars() as progress:
        result = load(args).drive(request, progress=progress)
    write_clips(result, files)
    return 0
