"""`animate` and `align`: a sentence (and a seed or a photo) to a video; a photo to its aligned face crop."""
from __future__ import annotations

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..config import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from ..device import device_line
from ..errors import LganimError
from ..face.align import align_face
from ..face.photo import load_photo
from ..files import atomic_path
from ..media.writers import write_video
from ..pipeline import Animator
from ..request import Request
from .common import check_out


def run(args) -> int:
    check_out(args.out, VIDEO_SUFFIXES)
    request = Request(args.prompt, args.seed or 0, args.image, args.frames, args.fps, args.strength,
                      args.truncation, args.schedule, args.face, not args.no_paste_back, args.refine)
    anim = Animator.from_pretrained(args.domain, motion=args.motion, device=args.device, dtype=args.dtype)
    print(device_line(anim.device))
    plan = anim.prepare(request)
    chunks = []
    with tqdm(total=request.batch * request.num_frames, unit="frame", desc="rendering", disable=None) as bar:
        for chunk in anim.render(plan):
            chunks.append(chunk.frames)
            bar.update(chunk.frames.shape[0] * chunk.frames.shape[1])
    frames = np.concatenate(chunks, axis=1)                                   # [B, T, H, W, 3]
    outs = [args.out] if len(frames) == 1 else [args.out.with_name(f"{args.out.stem}_{i}{args.out.suffix}")
                                                 for i in range(len(frames))]
    for clip, out in zip(frames, outs):
        write_video(clip, out, request.fps, audio=plan.motion.audio)
        print(f"wrote {out} ({clip.shape[0]} frames, {clip.shape[2]}x{clip.shape[1]}, {request.fps} fps)")
    return 0


def align(args) -> int:
    check_out(args.out, IMAGE_SUFFIXES)
    if not 16 <= args.size <= 4096:
        raise LganimError(f"--size must be from 16 to 4096, got {args.size}.")
    aligned = align_face(load_photo(args.image), size=args.size, face_index=args.face)
    try:
        with atomic_path(args.out) as tmp:
            Image.fromarray(aligned.image).save(tmp)
    except OSError as e:
        raise LganimError(f"Could not write {args.out}: {e.strerror or e}.") from None
    print(f"wrote {args.out} ({args.size}x{args.size}, face {args.face} of the photo)")
    return 0
