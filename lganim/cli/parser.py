"""The command-line grammar: every command's arguments, and the module that runs it. No torch here, so that
`python -m lganim --help` answers at once; the modules that do the work are imported only to run a command.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config import (
    DEFAULT_DRIVEN_FPS,
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_LIVE_SMOOTH,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    FIT_PASSES,
    MAX_REFINE_STEPS,
    REGIONS,
    SCHEDULES,
    STYLE_MODES,
    FitSettings,
)
from ..weights.registry import DOMAINS

DOMAIN_HELP = f"{', '.join(DOMAINS)} (default: human)"
DTYPE_HELP = "fp32 (default), bf16 or fp16"


def parse_weight(text: str) -> tuple[str, float]:
    """argparse type of --weight NAME=VALUE."""
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes NAME=VALUE (e.g. clip=1.0), got {text!r}") from None


def add_device(p, dtype: bool = True) -> None:
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1 ...")
    if dtype:
        p.add_argument("--dtype", default=None, help=DTYPE_HELP)


def add_face(p, many: bool = True) -> None:
    """The face of a request: a domain sample from a seed, or a photo."""
    p.add_argument("--domain", default="human", help=DOMAIN_HELP)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seed", type=int, action="append" if many else None,
                     help="sample a face from this seed" + (" (repeatable)" if many else ""))
    src.add_argument("--image", type=Path, help="a photo of a face")
    p.add_argument("--face", type=int, default=0, help="with --image: which face, 0 = the largest")
    p.add_argument("--no-paste-back", action="store_true", help="with --image: output the aligned crop only")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help=f"with --image: sharpen the identity with this many optimisation steps (e.g. 30; at most "
                        f"{MAX_REFINE_STEPS})")
    p.add_argument("--truncation", type=float, default=None, help="truncation psi for sampled faces")


def add_animate(p) -> None:
    add_face(p)
    p.add_argument("--prompt", action="append", required=True, help="what the face does (repeatable)")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help=f"number of frames T (default {DEFAULT_FRAMES})")
    p.add_argument("--fps", type=int, default=DEFAULT_FPS, help=f"frames per second (default {DEFAULT_FPS})")
    p.add_argument("--strength", type=float, default=DEFAULT_STRENGTH,
                   help="motion strength; 0 the still face, negative the opposite motion")
    p.add_argument("--schedule", default=DEFAULT_SCHEDULE, help=f"motion decay schedule: {', '.join(SCHEDULES)}")
    p.add_argument("--motion", type=Path, help="a motion checkpoint folder from `lganim train`, a checkpoint file "
                   "of the authors' training script, or 'fit' to fit the prompt (the default on real domains, "
                   "which have no trained motion)")
    p.add_argument("--out", type=Path, default=Path("animation.mp4"),
                   help="output .mp4 or .gif (several clips: <name>_0.mp4, <name>_1.mp4 ...)")
    add_extra_outputs(p)
    add_device(p)


def add_extra_outputs(p) -> None:
    """Files a command that writes clips can also write, from the same frames."""
    p.add_argument("--gif", type=Path, help="also write the (first) clip as a looping GIF, made from its MP4")
    p.add_argument("--strip", type=Path, help="also write a frame strip (.png): 8 frames per clip, a row per clip")


def add_edit(p) -> None:
    add_face(p, many=False)
    p.add_argument("--control", action="append", default=[], metavar="NAME=VALUE",
                   help="a channel's value in its unit, e.g. yaw=10 (degrees) or mouth_open=0.3 (inter-ocular "
                        "distances); repeatable; --list-controls shows every channel with its unit and range")
    p.add_argument("--prompt", action="append", default=[],
                   help="a sentence whose fitted expression is added, e.g. \"The person is surprised.\" (repeatable)")
    p.add_argument("--amount", action="append", type=float, default=[],
                   help="how much of each --prompt's expression, -1 to 1 (one per --prompt; default 1)")
    p.add_argument("--out", type=Path, help="the edited image: .png, .jpg or .webp")
    p.add_argument("--list-controls", action="store_true",
                   help="print every channel with its unit and range on --domain, and exit")
    add_device(p)


def add_edit_video(p) -> None:
    p.add_argument("--domain", default="human", help=DOMAIN_HELP + "; a domain with a photo encoder")
    p.add_argument("--video", type=Path, required=True, help="the video whose face is edited (its sound is kept)")
    p.add_argument("--prompt", help="a sentence whose fitted expression is added, e.g. \"The person is smiling.\" "
                                    "('A; then B': one after the other over the time range)")
    p.add_argument("--control", action="append", default=[], metavar="NAME=VALUE",
                   help="a channel's constant offset in its unit, e.g. smile=0.1 or yaw=5 (degrees); repeatable; "
                        "`edit --list-controls` shows the channels and their ranges")
    p.add_argument("--strength", type=float, default=DEFAULT_STRENGTH,
                   help="how much of the edit (default 1; 0: the video as it is, negative: the opposite)")
    p.add_argument("--start", type=float,
                   help="seconds from the first frame where the edit starts (default: the start)")
    p.add_argument("--end", type=float, help="seconds from the first frame where the edit ends (default: the end)")
    p.add_argument("--face", type=int, default=0, help="which face when several are in view: 0 = the clearest")
    p.add_argument("--out", type=Path, required=True,
                   help="the edited video: .mp4, every frame of the video at its time, with its sound")
    p.add_argument("--track-out", type=Path, help="also write the face's motion track (.json or .csv)")
    add_extra_outputs(p)
    add_device(p)


def add_align(p) -> None:
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--size", type=int, default=1024, help="crop size in pixels (default 1024)")
    p.add_argument("--face", type=int, default=0, help="which face, 0 = the largest")
    p.add_argument("--out", type=Path, required=True, help="output image (.png, .jpg)")


def add_download(p) -> None:
    p.add_argument("domain")


def add_domains(p) -> None:
    pass


def add_fit(p) -> None:
    d = FitSettings()
    p.add_argument("--domain", default="human", help=DOMAIN_HELP)
    p.add_argument("--prompt", action="append", required=True,
                   help="the motion to fit (repeatable; 'A; then B' fits each segment)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"Adam steps (default: {FIT_PASSES} passes over the faces; {FIT_PASSES} steps of all of them "
                        f"on a GPU, {2 * FIT_PASSES} of two of the 4 on the CPU)")
    p.add_argument("--seconds", type=float, default=d.max_seconds,
                   help=f"time budget in seconds; stops at steps or seconds, whichever comes first "
                        f"(default {d.max_seconds:g})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"domain samples to fit on (default {d.batch})")
    p.add_argument("--faces-per-step", type=int, default=None, metavar="N",
                   help="faces a step renders, in turn (default: 2 on the CPU, all of them on a GPU)")
    p.add_argument("--frames", type=int, default=d.frames, help=f"frames of the fitting clip (default {d.frames})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument("--seed", type=int, default=d.seed, help="first seed of the fitting faces (default 0)")
    p.add_argument("--no-negatives", action="store_true",
                   help="plain 1 - cos CLIP loss instead of contrasting with the paper's 28 expression prompts")
    p.add_argument("--weight", action="append", default=[], type=parse_weight, metavar="NAME=VALUE",
                   help="loss weight override: clip, latent, loop, smooth, identity (repeatable)")
    p.add_argument("--no-cache", action="store_true", help="fit again even when a cached fit exists")
    p.add_argument("--json", type=Path, help="write loss_first, loss_last, steps, seconds per prompt as JSON")
    add_device(p)


def add_prefit(p) -> None:
    p.add_argument("--domain", default="human", help=DOMAIN_HELP)
    p.add_argument("--prompt", action="append",
                   help="a prompt to fit (repeatable; default: the paper's 28 expressions of the domain's subject)")
    p.add_argument("--out", type=Path, required=True,
                   help="the bundle's folder: new or empty, or a bundle of an earlier prefit to resume")
    p.add_argument("--push", metavar="USER/NAME", help="upload the bundle to this Hub model repo (needs HF_TOKEN)")
    p.add_argument("--private", action="store_true", help="with --push: create the repo as private")
    add_device(p, dtype=False)


def add_fits(p) -> None:
    p.add_argument("--domain", help="only this domain's fits (default: every domain's)")
    p.add_argument("--clear", action="store_true", help="delete them (what earlier fits measured of step times stays)")


def add_calibrate(p) -> None:
    p.add_argument("--domain", default="human", help=DOMAIN_HELP)
    p.add_argument("--samples", type=int, default=None, help="faces rendered along each direction (default 8)")
    p.add_argument("--components", type=int, default=None, help="SeFa components per layer group (default 5)")
    p.add_argument("--json", type=Path, help="write the methods, R² and time per channel as JSON")
    p.add_argument("--force", action="store_true", help="compute again even when cached directions exist")
    add_device(p)


def add_train(p) -> None:
    p.add_argument("--domain", default="human", help=DOMAIN_HELP)
    p.add_argument("--out", type=Path, required=True, help="output folder: the motion checkpoint")
    p.add_argument("--steps", type=int, default=5000, help="optimiser steps (paper: 5000)")
    p.add_argument("--batch", type=int, default=4, help="clips per process and step (paper: 4)")
    p.add_argument("--frames", type=int, default=4, help="frames per training clip (paper: 4)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam lr of the recurrent cell and mappers (1e-3)")
    p.add_argument("--clip-lr", type=float, default=1e-5, help="Adam lr of the motion CLIP text tower (1e-5)")
    p.add_argument("--freeze-clip", action="store_true", help="do not fine-tune the motion CLIP")
    p.add_argument("--hidden-dim", type=int, default=384, help="hidden width of the recurrent cell (384)")
    photos = p.add_mutually_exclusive_group()
    photos.add_argument("--latents", type=Path, help="photo recipe: a .pt file of W+ codes [N, L, D] (e.g. e4e)")
    photos.add_argument("--images", type=Path,
                        help="photo recipe: a folder of face photos, aligned and inverted with e4e at start-up")
    p.add_argument("--truncation", type=float, default=None, help="data-free recipe: psi (default: the domain's)")
    p.add_argument("--prompts", type=Path, help="a text file, one prompt per line (default: the paper's 28)")
    p.add_argument("--weight", action="append", default=[], type=parse_weight, metavar="NAME=VALUE",
                   help="loss weight override: clip, latent, loop, smooth, identity, lpips (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=int, default=1000, help="checkpoint every K steps (and at the end)")
    p.add_argument("--sample-every", type=int, default=200, help="sample strip PNG every K steps (0: never)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the final folder to this Hugging Face model repo")
    p.add_argument("--private", action="store_true", help="create the Hub repo as private")
    add_device(p, dtype=False)


def add_eval(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", type=Path, action="append", help="a generated clip (.mp4/.gif; repeatable)")
    src.add_argument("--seed", type=int, action="append", help="run the pipeline on this seed (repeatable)")
    src.add_argument("--set", type=Path, help="a folder render-set wrote: every clip, and per prompt (docs/sets.md)")
    p.add_argument("--compare", type=Path, metavar="DIR2", help="with --set: a second set (method B against A)")
    p.add_argument("--csv", type=Path, help="with --set: also write one line per clip as CSV")
    p.add_argument("--markdown", type=Path, help="with --set: also write the table per prompt (.md)")
    p.add_argument("--plot", type=Path, help="with --set: also draw CLIP direction against identity per prompt (.png)")
    p.add_argument("--prompt", action="append", help="the clip's prompt (for the CLIP score; repeatable)")
    p.add_argument("--domain", default="human", help="domain of the pipeline run, and of the loss CLIP")
    p.add_argument("--motion", help="motion checkpoint folder for the pipeline run ('fit' to fit the prompt)")
    p.add_argument("--frames", type=int, default=16, help="frames of the pipeline run (default 16)")
    p.add_argument("--arcface", type=Path, help="ir_se50.pth for ACD-face (default: local weights/ or Hub cache)")
    p.add_argument("--no-clip", action="store_true", help="skip the CLIP score (no ViT-B/32 needed)")
    p.add_argument("--json", type=Path, help="write the results here (default: print them)")
    add_device(p, dtype=False)


def add_render_set(p) -> None:
    p.add_argument("--manifest", type=Path, required=True,
                   help="the clips: a .csv (its first line names the columns) or .jsonl file, a row a clip: id, seed "
                        "or image, prompt or track, and optional domain, frames, fps, strength, truncation, schedule")
    p.add_argument("--out", type=Path, required=True,
                   help="the set's folder: <id>.mp4 and <id>.json for each row (a rerun renders what is not done)")
    p.add_argument("--domain", default="human", help=f"the domain of rows that name none: {DOMAIN_HELP}")
    p.add_argument("--motion", type=Path, help="as for animate: a motion checkpoint, or 'fit' (default: each domain's "
                   "own motion)")
    p.add_argument("--resume", action="store_true",
                   help="add to a folder that holds another set's results (rows that changed are rendered again)")
    p.add_argument("--redo-failed", action="store_true", help="render again the rows an earlier run marked failed")
    p.add_argument("--shard", metavar="I/N", default="0/1",
                   help="render the i-th of n shares of the manifest only (0/4 ... 3/4: a scheduler's job array, "
                        "without torchrun; default 0/1, all)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the manifest, count what is done and what is left, deal it out and estimate the time; "
                        "render nothing (the processes: torchrun's, or WORLD_SIZE)")
    p.add_argument("--json", type=Path, help="write the summary (or the dry run) here as JSON")
    add_device(p)


def add_bench(p) -> None:
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="device to render on")
    p.add_argument("--size", type=int, default=256, help="generator resolution (power of two, 8 to 1024)")
    p.add_argument("--channel-multiplier", type=int, default=2, help="2 = the real FFHQ config-f widths")
    p.add_argument("--frames", type=int, default=16, help="frames T rendered by each path")
    p.add_argument("--reference-frames", type=int, default=8,
                   help="frames the per-frame reference renders (its cost is linear in them; capped at --frames)")
    p.add_argument("--batch", type=int, action="append", default=None,
                   help="chunk size of the fast path; repeat for several (default: all frames in one chunk)")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), default=None,
                   help="compute dtype of the fast path (default fp32; with --fit the fast fit's own: bf16 where the "
                        "device computes it natively, else fp32)")
    p.add_argument("--channels-last", choices=["auto", "on", "off"], default="auto",
                   help="NHWC activations in the fast path (auto: on)")
    p.add_argument("--compile", default=None, metavar="MODE", nargs="?", const="default",
                   help="torch.compile the fast path, optionally with a mode (reduce-overhead: CUDA graphs)")
    p.add_argument("--repeats", type=int, default=None, help="timed passes per path (default 3 on CUDA, 2 on CPU)")
    p.add_argument("--warmup", type=int, default=1, help="untimed passes per path before timing")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights and codes")
    p.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak of the device for %% of peak")
    p.add_argument("--request", default=None, metavar="DOMAIN",
                   help="also time a whole 16-frame request through the pipeline: a domain (e.g. demo), or "
                        "random: the --size generator, CLIP RN50 and the motion generator with random weights")
    p.add_argument("--motion", type=Path, default=None, metavar="DIR",
                   help="with --request: the motion checkpoint folder (real domains)")
    p.add_argument("--edit", default=None, metavar="DOMAIN",
                   help="also time the Edit tab's slider update (one edited frame, median of --edit-updates) against "
                        "a 16-frame clip of the same face: a domain (e.g. demo), or random: the --size generator "
                        "with random weights and the fallback control directions")
    p.add_argument("--edit-image", type=Path, default=None, metavar="PHOTO",
                   help="with --edit: also time updates of this photo's face (aligned, inverted once, pasted back)")
    p.add_argument("--edit-updates", type=int, default=10, metavar="N", help="with --edit: updates timed (10)")
    p.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default: torch's own)")
    p.add_argument("--live", type=Path, default=None, metavar="VIDEO",
                   help="time the live loop instead, this clip played as a camera: the tracker alone, then a live "
                        "session with a seed's face (random weights at --size in --dtype, or --live-domain)")
    p.add_argument("--live-domain", default=None, metavar="DOMAIN", help="with --live: a domain's StyleGAN2 (demo...)")
    p.add_argument("--live-side", type=int, default=512, metavar="PIXELS",
                   help="with --live: the camera frames' longest side (default 512)")
    p.add_argument("--fit", action="store_true",
                   help="time the prompt fit instead: the reference fit against the fast one (the --size StyleGAN2 "
                        "and CLIP ViT-B/32 with random weights; the fast path in --dtype fp32 or bf16), both judged "
                        "by the fp32 full-resolution objective after every step")
    p.add_argument("--steps", type=int, default=5, metavar="N", help="with --fit: steps of each fit (default 5)")
    p.add_argument("--fit-setting", action="append", default=[], metavar="NAME=VALUE",
                   help="with --fit: a FitSettings field of the fast fit, e.g. decay=none (repeatable)")
    p.add_argument("--calibrate", default=None, metavar="DOMAIN",
                   help="time a domain's calibration of its control directions instead, on the reference and the "
                        "fast path: a domain, or random: the --size StyleGAN2 with random weights")
    p.add_argument("--video", type=Path, default=None, metavar="CLIP",
                   help="time editing this clip instead (edit-video, a constant smile): tracking, the preview, the "
                        "edited frames/s (random weights of the real StyleGAN2 and e4e at --size, or --video-domain)")
    p.add_argument("--video-domain", default=None, metavar="DOMAIN", help="with --video: a domain (demo...)")
    p.add_argument("--video-frames", type=int, default=None, metavar="N",
                   help="with --video: edit the first N frames (default all)")
    p.add_argument("--video-quality", action="store_true",
                   help="with --video: also measure fidelity and flicker of both methods, on the clip and in a closed "
                        "world (a clip rendered from known codes)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="write the results here (JSON)")


def add_doctor(p) -> None:
    p.add_argument("--domain", action="append", help="a domain to check (repeatable; default: every domain)")
    p.add_argument("--json", type=Path, help="write the report here (JSON: ok, files, domains, environment)")
    p.add_argument("--no-download", action="store_true", help="report what is missing instead of downloading it")
    p.add_argument("--fit-steps", type=int, default=10, help="steps of the test fit (default 10)")
    add_device(p)


def add_space(p) -> None:
    p.add_argument("out", type=Path, help="a new folder for the Space")
    p.add_argument("--domain", default="human", help="the start domain whose files the Space preloads (human)")
    p.add_argument("--push", metavar="USER/NAME", help="create or update this Space on the Hub (needs HF_TOKEN)")
    p.add_argument("--private", action="store_true", help="with --push: a private Space")


def add_driven(p, fps_default: int | None) -> None:
    """The options of a face driven by a track: scales, the language motion on top, the outputs."""
    p.add_argument("--pose-scale", type=float, default=1.0, help="multiplier of the head motion (default 1)")
    p.add_argument("--expression-scale", type=float, default=1.0, help="multiplier of the expression (default 1)")
    p.add_argument("--prompt", help="a sentence whose motion is added on top, e.g. \"The person is smiling.\"")
    default = fps_default or "the driving video's: one frame per driving frame"
    p.add_argument("--fps", type=int, default=fps_default, help=f"frames per second of the output (default {default})")
    p.add_argument("--out", type=Path, required=True, help="output .mp4 (with the sound)")
    p.add_argument("--track-out", type=Path, help="also write the motion track that drove the face (.json or .csv)")
    add_extra_outputs(p)
    p.add_argument("--motion", type=Path, help="the language motion for --prompt: as for animate")
    add_device(p)


def add_track(p) -> None:
    p.add_argument("--video", type=Path, required=True, help="a video of a face")
    p.add_argument("--out", type=Path, required=True, help="the motion track: .json or .csv")
    p.add_argument("--smooth", type=float, default=0.0, help="smoothing 0..1 against jitter (default 0)")
    p.add_argument("--neutral", type=int, default=0, help="the frame the channels are relative to (default 0)")


def add_retarget(p) -> None:
    add_face(p, many=False)
    p.add_argument("--driving", type=Path, required=True, help="a driving video, or a motion track (.json, .csv)")
    p.add_argument("--region", default="all", choices=tuple(REGIONS),
                   help="which motion drives the face (default all)")
    p.add_argument("--smooth", type=float, default=0.0, help="smoothing 0..1 against jitter (default 0)")
    add_driven(p, None)


def add_predict(p) -> None:
    add_face(p, many=False)
    p.add_argument("--samples", type=int, default=4, help="how many futures (default 4)")
    p.add_argument("--prompt", help="the motion of every future (default: sequences of the paper's prompts)")
    p.add_argument("--frames", type=int, default=24, help="frames per future (default 24)")
    p.add_argument("--fps", type=int, default=12, help="frames per second (default 12)")
    p.add_argument("--diversity", type=float, default=4.0,
                   help="with a trained motion model: spread of its hidden-state draws (default 4)")
    p.add_argument("--motion", type=Path, help="a trained motion checkpoint (default: the domain's own, or fitting)")
    p.add_argument("--out", type=Path, required=True, help="a new folder: sample_00.mp4 ... and predict.json")
    add_device(p)


def add_talking(p) -> None:
    add_face(p, many=False)
    p.add_argument("--style", type=Path, help="a video of someone talking whose style the face takes")
    p.add_argument("--style-mode", choices=STYLE_MODES, default="stats",
                   help="stats: its amplitudes, rhythm, blinks and pose habits; copy: its head pose (default stats)")
    p.add_argument("--blink-rate", type=float, help="blinks a minute (default: 17 at rest, 26 while talking)")
    p.add_argument("--still", action="store_true", help="no head motion")
    add_driven(p, DEFAULT_DRIVEN_FPS)


def add_live(p) -> None:
    add_face(p, many=False)
    p.add_argument("--video", type=Path, required=True,
                   help="a video of a face, fed to the live session frame by frame as a camera would (no look-ahead)")
    p.add_argument("--region", default="all", help=f"which motion drives the face: {', '.join(REGIONS)} (default all)")
    p.add_argument("--pose-scale", type=float, default=1.0, help="multiplier of the head motion (default 1)")
    p.add_argument("--expression-scale", type=float, default=1.0, help="multiplier of the expression (default 1)")
    p.add_argument("--smooth", type=float, default=DEFAULT_LIVE_SMOOTH,
                   help=f"causal smoothing of the tracked face, 0..1 (default {DEFAULT_LIVE_SMOOTH:g})")
    p.add_argument("--out", type=Path, required=True, help="the puppet's frames: .mp4, one frame per input frame")
    p.add_argument("--json", type=Path, help="write the speed: frames, latency_ms (p50, p95), fps")
    p.add_argument("--track-out", type=Path, help="write the session's motion track (.json or .csv)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads on the CPU (default 1: a frame's work is small, more threads only wait on "
                        "each other)")
    add_device(p)


def add_talk(p) -> None:
    p.add_argument("--audio", type=Path, required=True,
                   help="speech: wav, mp3, m4a/aac, ogg/opus, flac, or a video's sound (at most 5 minutes)")
    add_talking(p)


def add_say(p) -> None:
    p.add_argument("--text", required=True, help="what the face says (spoken by espeak-ng)")
    p.add_argument("--voice", default="en", help="an espeak-ng voice: a language such as en, en-us, fr, de")
    p.add_argument("--rate", type=int, default=175, help="words a minute (80 to 450, default 175)")
    add_talking(p)


# name -> (help, add_arguments, module that runs it, its function, the check in lganim.cli.requests that builds what it
# gets besides the arguments, before any model or torch is imported: None for none)
COMMANDS = {
    "doctor": ("check this machine: every file each domain needs, loaded and used once (run it first)", add_doctor,
               "lganim.cli.doctor", "run", None),
    "animate": ("animate a face from a sentence and write an MP4/GIF", add_animate, "lganim.cli.animate", "run",
                "animate"),
    "edit": ("edit a still face with head pose, expression and sentence sliders, and write the image", add_edit,
             "lganim.cli.edit", "run", "edit"),
    "edit-video": ("edit the face of a video with a sentence or control offsets: the same frames, times and sound",
                   add_edit_video, "lganim.cli.edit_video", "run", "edit_video"),
    "align": ("find the face in a photo and write its FFHQ-style aligned crop", add_align, "lganim.cli.animate",
              "align", "align"),
    "download": ("fetch a domain's weights into the cache (demo: build them)", add_download, "lganim.cli.weights",
                 "download", None),
    "domains": ("list the domains with their licence, size and whether they are cached", add_domains,
                "lganim.cli.weights", "domains", None),
    "track": ("track the face of a video into a motion track (.json/.csv)", add_track, "lganim.cli.track", "track",
              "track"),
    "retarget": ("drive a face with a video (or a motion track), its sound kept", add_retarget, "lganim.cli.drive",
                 "run", "retarget"),
    "predict": ("plausible futures of a face: several short videos", add_predict, "lganim.cli.predict", "run",
                "predict"),
    "talk": ("make a face talk from audio (mouth from the speech envelope, not phoneme-exact)", add_talk,
             "lganim.cli.drive", "run", "talk"),
    "say": ("make a face say a sentence (espeak-ng speech)", add_say, "lganim.cli.drive", "run", "say"),
    "live": ("puppeteer a face with a video played as a live camera, frame by frame (MP4, speed as JSON)", add_live,
             "lganim.cli.live", "run", "live"),
    "fit": ("fit a prompt's motion without training (cached per domain and prompt)", add_fit, "lganim.cli.fit",
            "run", None),
    "prefit": ("fit a domain's prompts and control directions once into a presets bundle (and push it to the Hub)",
               add_prefit, "lganim.cli.prefit", "run", "prefit"),
    "fits": ("list the cached prompt fits, or clear them", add_fits, "lganim.cli.fits", "run", None),
    "calibrate": ("find the control directions that drive a face from a motion track (cached per domain)",
                  add_calibrate, "lganim.cli.calibrate", "run", None),
    "train": ("train the paper's motion generator (torchrun for several processes)", add_train,
              "lganim.cli.train", "run", None),
    "render-set": ("render a manifest of clips (faces x prompts) on one process or across torchrun's; resumes",
                   add_render_set, "lganim.cli.sets", "render", "render_set"),
    "eval": ("the paper's measures of a video, a pipeline run, or a set per prompt (--set)", add_eval,
             "lganim.cli.sets", "evaluate", "evaluate"),
    "space": ("write a ready Hugging Face Space folder of the app (and push it with --push)", add_space,
              "lganim.cli.space", "run", None),
    "bench": ("time the fp32 per-frame reference against the batched fast renderer, or the fit (JSON)", add_bench,
              "lganim.tools.bench", "run", None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lganim",
                                     description="Language-guided face animation (Hang et al., TMM 2023).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add, *_) in COMMANDS.items():
        add(sub.add_parser(name, help=help_text, description=help_text))
    return parser


__all__ = ["COMMANDS", "build_parser", "parse_weight"]
