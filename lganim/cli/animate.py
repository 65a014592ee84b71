"""`animate` and `align`: a sentence (and a seed or a photo) to a video; a photo to its aligned face crop."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..errors import LganimError
from ..face.align import align_face
from ..face.photo import load_photo
from ..files import atomic_path
from ..request import Request
from .common import load, write_clips
from .progress import stage_bars
from .requests import ClipFiles


def run(args, built: tuple[Request, ClipFiles]) -> int:
    request, files = built
    anim = load(args)
    with stage_bars() as progress:                          # a photo's refinement, a new prompt's fit
        result = anim(request, progress=progress)
    write_clips(result, files)
    return 0


def align(args, image: Path) -> int:
    aligned = align_face(load_photo(image), size=args.size, face_index=args.face)
    try:
        with atomic_path(args.out) as tmp:
            Image.fromarray(aligned.image).save(tmp)
    except OSError as e:
        raise LganimError(f"Could not write {args.out}: {e.strerror or e}.") from None
    print(f"wrote {args.out} ({args.size}x{args.size}, face {args.face} of the photo)")
    return 0
