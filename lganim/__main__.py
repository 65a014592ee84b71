"""Command line: `python -m lganim COMMAND ...` (see `--help`).

User mistakes end with one line on stderr and exit status 2; nothing half-written is left behind.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from .errors import LganimError

VIDEO_SUFFIXES = (".mp4", ".gif")
# Commands whose code lives in their own module: name -> module with add_arguments(parser) and run(args).
MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "train": (".training.train", "train the paper's motion generator (torchrun for several processes)"),
    "fit": (".training.fit", "fit a prompt's motion without training (cached per domain and prompt)"),
    "eval": (".training.evaluate", "ACD-face, ACD-shape, MS-SSIM and CLIP score of a video or a pipeline run"),
    "bench": (".bench", "time the fp32 per-frame reference against the batched fast renderer (JSON)"),
}


def add_animate(sub) -> None:
    p = sub.add_parser("animate", help="animate a face from a sentence and write an MP4/GIF")
    p.add_argument("--domain", default="human", help="human, art, dog, anime or demo (default: human)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seed", type=int, action="append", help="sample a face from this seed (repeatable)")
    src.add_argument("--image", type=Path, help="a photo of a face")
    p.add_argument("--face", type=int, default=0, help="with --image: which face, 0 = the largest")
    p.add_argument("--no-paste-back", action="store_true", help="with --image: output the aligned crop only")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="with --image: sharpen the identity with this many optimisation steps (e.g. 30)")
    p.add_argument("--prompt", action="append", required=True, help="what the face does (repeatable)")
    p.add_argument("--frames", type=int, default=16, help="number of frames T (default 16)")
    p.add_argument("--fps", type=int, default=12, help="frames per second (default 12)")
    p.add_argument("--strength", type=float, default=1.0, help="motion strength; negative gives 'less of it'")
    p.add_argument("--truncation", type=float, default=None, help="truncation psi for sampled faces")
    p.add_argument("--schedule", default="linear", help="motion decay schedule: linear, sqrt, exp, const")
    p.add_argument("--motion", type=Path, help="a motion checkpoint folder from `lganim train`, a checkpoint file "
                   "of the authors' training script, or 'fit' to fit the prompt (the default on real domains, "
                   "which have no trained motion)")
    p.add_argument("--out", type=Path, default=Path("animation.mp4"), help="output .mp4 or .gif")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default=None, help="fp32 (default), bf16 or fp16")


def run_animate(args) -> int:
    from tqdm import tqdm

    from .pipeline import Animator
    if args.out.suffix.lower() not in VIDEO_SUFFIXES:
        raise LganimError(f"--out must end in .mp4 or .gif, got {args.out.name!r}.")
    if not args.out.parent.is_dir():
        raise LganimError(f"The output folder {args.out.parent} does not exist.")
    anim = Animator.from_pretrained(args.domain, motion=args.motion, device=args.device, dtype=args.dtype)
    plan = anim.prepare(args.prompt, args.seed or 0, image=args.image, num_frames=args.frames, fps=args.fps,
                        strength=args.strength, schedule=args.schedule, truncation=args.truncation,
                        face_index=args.face, paste_back=not args.no_paste_back, refine_steps=args.refine)
    chunks = []
    with tqdm(total=plan.ws.shape[0] * plan.ws.shape[1], unit="frame", desc="rendering", disable=None) as bar:
        for chunk in anim.render(plan):
            chunks.append(chunk.frames)
            bar.update(chunk.frames.shape[0] * chunk.frames.shape[1])
    import numpy as np

    from .video import write_video
    frames = np.concatenate(chunks, axis=1)
    outs = [args.out] if len(frames) == 1 else [args.out.with_name(f"{args.out.stem}_{i}{args.out.suffix}")
                                                 for i in range(len(frames))]
    for clip, out in zip(frames, outs):
        write_video(clip, out, plan.settings.fps)
        print(f"wrote {out} ({clip.shape[0]} frames, {clip.shape[2]}x{clip.shape[1]}, {plan.settings.fps} fps)")
    return 0


def add_align(sub) -> None:
    p = sub.add_parser("align", help="find the face in a photo and write its FFHQ-style aligned crop")
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--size", type=int, default=1024, help="crop size in pixels (default 1024)")
    p.add_argument("--face", type=int, default=0, help="which face, 0 = the largest")
    p.add_argument("--out", type=Path, required=True, help="output image (.png, .jpg)")


def run_align(args) -> int:
    from PIL import Image

    from .align import align_face
    from .photo import load_photo
    if args.out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise LganimError(f"--out must end in .png, .jpg or .webp, got {args.out.name!r}.")
    if not 16 <= args.size <= 4096:
        raise LganimError(f"--size must be from 16 to 4096, got {args.size}.")
    aligned = align_face(load_photo(args.image), size=args.size, face_index=args.face)
    from .files import atomic_path
    try:
        with atomic_path(args.out) as tmp:
            Image.fromarray(aligned.image).save(tmp)
    except OSError as e:
        raise LganimError(f"Could not write {args.out}: {e.strerror or e}.") from None
    print(f"wrote {args.out} ({args.size}x{args.size}, face {args.face} of the photo)")
    return 0


def add_download(sub) -> None:
    p = sub.add_parser("download", help="fetch a domain's weights into the cache (demo: build them)")
    p.add_argument("domain")


def run_download(args) -> int:
    from .hub import E4E_FFHQ, fetch, get_domain
    spec = get_domain(args.domain)
    if spec.untrained:
        from .demo import ensure_demo
        print(f"demo checkpoints ready in {ensure_demo().generator.parent}")
        return 0
    from .encoders import download_clip
    from .hub import CLIP_LOSS_MODEL, CLIP_MOTION_MODEL
    files = [spec.weights] + ([E4E_FFHQ] if spec.supports_photos else [])
    for weight in files:
        print(f"{weight.basename}: {fetch(weight)}")
    for name in (CLIP_MOTION_MODEL, CLIP_LOSS_MODEL):        # motion embeddings; fitting losses
        print(f"CLIP {name}: {download_clip(name)}")
    return 0


def add_domains(sub) -> None:
    sub.add_parser("domains", help="list the domains with their licence, size and whether they are cached")


def run_domains(args) -> int:
    from .demo import demo_dir
    from .hub import DOMAINS, cached_file
    for spec in DOMAINS.values():
        if spec.untrained:
            cached, size = (demo_dir() / "complete").is_file(), "tiny, built locally"
        else:
            cached = cached_file(spec.weights) is not None
            size = f"{spec.weights.size / 1e6:.0f} MB" if spec.weights.size else "size unknown"
        print(f"{spec.name:7s} {spec.title:42s} {size:20s} {'cached' if cached else 'not cached':11s} {spec.licence}")
    return 0


BUILTIN = {"animate": (add_animate, run_animate), "align": (add_align, run_align),
           "download": (add_download, run_download),
           "domains": (add_domains, run_domains)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lganim",
                                     description="Language-guided face animation (Hang et al., TMM 2023).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in BUILTIN.values():
        add(sub)
    for name, (module, help_text) in MODULE_COMMANDS.items():
        importlib.import_module(module, __package__).add_arguments(sub.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in BUILTIN:
            return BUILTIN[args.command][1](args)
        return importlib.import_module(MODULE_COMMANDS[args.command][0], __package__).run(args)
    except LganimError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a bad input: one line unless asked for the traceback
        if os.environ.get("LGANIM_DEBUG"):
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); rerun with LGANIM_DEBUG=1 for the traceback",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
