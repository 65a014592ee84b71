"""`track`, `retarget`, `predict`: a face driven by a video (or its motion track), and plausible futures of a face."""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..audio import write_wav
from ..drive import TrackMotion, driving_track, futures, output_frames
from ..errors import LganimError
from ..face_track import track_video
from ..files import atomic_dir, write_json
from ..media import probe_video
from ..sources import TrainedMotion
from .common import (TRACK_SUFFIXES, VIDEO_SUFFIXES, check_out, controls_of, drive_face, face_request, load, render_to,
                     steps_bar)


def track(args) -> int:
    check_out(args.out, TRACK_SUFFIXES)
    probe_video(args.video)                                 # limits and format from the header, before decoding
    with steps_bar("tracking the face") as progress:
        result = track_video(args.video, neutral=args.neutral, smooth=args.smooth, progress=progress).track
    result.save(args.out)
    print(f"wrote {args.out} ({len(result)} samples over {result.duration:.2f} s, {result.fps:.3f} fps average, "
          f"{100 * result.valid.mean():.0f} % with the face found)")
    return 0


def retarget(args) -> int:
    check_out(args.out, VIDEO_SUFFIXES)
    if args.track_out is not None:
        check_out(args.track_out, TRACK_SUFFIXES, "--track-out")
    if args.fps is not None and not 1 <= args.fps <= 60:
        raise LganimError(f"--fps must be from 1 to 60, got {args.fps}.")
    with tempfile.TemporaryDirectory(prefix="lganim-retarget-") as scratch:
        with steps_bar("tracking the driving face") as progress:
            driving, audio = driving_track(args.driving, args.smooth, progress)
        sound = None if audio is None else write_wav(audio, Path(scratch) / "sound.wav")   # into the output
        if args.fps is None:                                # one frame per driving frame, at its times
            times, num_frames, fps = driving.t - driving.t[0], len(driving), driving.fps
        else:
            times, num_frames, fps = None, output_frames(driving.duration, args.fps), args.fps
        anim = load(args)
        source = TrackMotion(driving, controls_of(anim), times=times, region=args.region,
                             pose_scale=args.pose_scale, expression_scale=args.expression_scale, audio=sound)
        drive_face(args, anim, source, num_frames, min(60, max(1, round(fps))), fps, "the driving motion")
    return 0


def predict(args) -> int:
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise LganimError(f"{args.out} exists and is not an empty folder: give a new folder.")
    if not args.out.parent.is_dir():
        raise LganimError(f"The folder {args.out.parent} does not exist.")
    anim = load(args)
    seed = args.seed or 0
    drawn = futures(anim.motion, controls_of(anim), anim.domain.subject, args.samples, seed, args.frames, args.fps,
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
