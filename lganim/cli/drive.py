"""`retarget`, `talk`, `say`, `predict`: a face driven by a video (or its motion track), by speech or by text
(through the one driven path, lganim.driving), and plausible futures of a face (`track` is `track.py`: no torch).

Mouth motion follows the speech envelope (`talk`) or the phonemes of the synthesis (`say`): it is not
phoneme-exact lip sync of recorded speech.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..config import TRACK_SUFFIXES, VIDEO_SUFFIXES
from ..driving import prepare_drive
from ..errors import LganimError
from ..files import atomic_dir, write_json
from ..motion.calibration import load_controls
from ..motion.futures import futures
from ..motion.trained import TrainedMotion
from ..request import DriveRequest, Driving
from .common import check_out, face_request, load, render_to, stage_bars


def drive_request(args, driving: Driving) -> DriveRequest:
    """The DriveRequest of the command's face, fps and prompt options (checked before any work)."""
    return DriveRequest(driving, args.seed, args.image, args.fps, args.prompt, 1.0, args.truncation, args.face,
                        not args.no_paste_back, args.refine)


def drive(args, request: DriveRequest) -> int:
    """Render the driven face into --out (with its sound) and its track into --track-out, if asked."""
    check_out(args.out, VIDEO_SUFFIXES if request.driving.kind == "video" else (".mp4",))
    if args.track_out is not None:
        check_out(args.track_out, TRACK_SUFFIXES, "--track-out")
    with tempfile.TemporaryDirectory(prefix="lganim-drive-") as scratch:
        with stage_bars() as progress:
            anim = load(args)
            driven = prepare_drive(anim, request, Path(scratch), progress=progress)
        plan = driven.plan
        frames = render_to(anim, plan, args.out, driven.video_fps)
    print(f"wrote {args.out} ({frames} frames at {driven.video_fps:.3f} fps, "
          f"{'with' if plan.motion.audio is not None else 'without'} sound)")
    if args.track_out is not None:
        plan.motion.track.save(args.track_out)
        print(f"wrote {args.track_out}")
    return 0


def retarget(args) -> int:
    return drive(args, drive_request(args, Driving("video", args.driving, region=args.region,
                                                   pose_scale=args.pose_scale,
                                                   expression_scale=args.expression_scale, smooth=args.smooth)))


def talking(args, kind: str, **what) -> Driving:
    """The Driving of `talk` and `say` from the command's options."""
    return Driving(kind, pose_scale=args.pose_scale, expression_scale=args.expression_scale, style=args.style,
                   style_mode=args.style_mode, still=args.still, blinks_per_minute=args.blink_rate, **what)


def talk(args) -> int:
    return drive(args, drive_request(args, talking(args, "audio", source=args.audio)))


def say(args) -> int:
    return drive(args, drive_request(args, talking(args, "text", text=args.text, voice=args.voice, rate=args.rate)))


def predict(args) -> int:
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise LganimError(f"{args.out} exists and is not an empty folder: give a new folder.")
    if not args.out.parent.is_dir():
        raise LganimError(f"The folder {args.out.parent} does not exist.")
    anim = load(args)
    seed = args.seed or 0
    with stage_bars() as progress:
        controls = load_controls(anim.domain, anim.files, anim.stylegan,
                                 calibrate_if_missing=anim.device.type == "cuda",
                                 progress=lambda done, total: progress("calibrating the control directions", done,
                                                                       total))
    drawn = futures(anim.motion, controls, anim.domain.subject, args.samples, seed, args.frames, args.fps,
                    args.prompt, args.diversity)
    trained = isinstance(anim.motion, TrainedMotion)
    samples = []
    with atomic_dir(args.out) as folder:                    # the folder appears whole, or not at all
        for k, future in enumerate(drawn):
            plan = anim.prepare(face_request(args, future.prompt, args.frames, args.fps), source=future.source,
                                generator=future.generator)
            name = f"sample_{k:02d}.mp4"
            render_to(anim, plan, folder / name, args.fps)
            samples.append({"file": name, **future.info})
            print(f"{name}: {future.prompt}")
        how = ("samples of the trained recurrent generator from different hidden-state seeds, on sequences of the "
               "paper's prompts, with idle motion (blinks, head sway)" if trained else
               "no trained motion model: sequences of the paper's prompts (fitted), with idle motion (blinks, head "
               "sway) drawn from the seed")
        write_json(folder / "predict.json", {"domain": anim.domain.name, "seed": seed,
                                             "image": None if args.image is None else str(args.image),
                                             "frames": args.frames, "fps": args.fps,
                                             "mode": "trained" if trained else "prompt sequences", "how": how,
                                             "samples": samples})
    print(f"wrote {args.out} ({args.samples} samples and predict.json)")
    return 0
