"""What each command asks for, built and checked before any model loads (and before torch is imported): the
request of the library's door, its input files (they must exist, and their headers must be what the command reads:
a photo, a video, a sound, a track) and where its outputs go (suffix and folder). A mistake here ends the command at
once with its one `error:` line, having written nothing.

Each function takes the parsed arguments and returns what the command's runner gets besides them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import checks
from ..config import IMAGE_SUFFIXES, MAX_FPS, MAX_PROMPT_CHARS, TRACK_SUFFIXES, VIDEO_SUFFIXES, paper_prompts
from ..errors import LganimError
from ..face.photo import check_photo
from ..media.audio import probe_audio
from ..media.ffmpeg import MediaInfo
from ..media.video_reader import probe_video
from ..motion.sequences import split_prompt
from ..request import (
    PROMPT_EXAMPLE,
    DriveRequest,
    Driving,
    EditRequest,
    LiveRequest,
    PredictRequest,
    Request,
    VideoEditRequest,
)
from ..sets.manifest import Manifest, read_manifest
from ..sets.results import check_folder, records
from ..tracks.track import Track
from ..weights.registry import get_domain


@dataclass(frozen=True, kw_only=True)
class ClipFiles:
    """Where a command's clips go: one video per clip (`--out`, or `<stem>_<i><suffix>` for several), and the
    optional GIF (`--gif`), frame strip (`--strip`) and motion track (`--track-out`)."""

    videos: tuple[Path, ...]
    gif: Path | None = None
    strip: Path | None = None
    track: Path | None = None


def clip_files(args, clips: int, video_suffixes=VIDEO_SUFFIXES) -> ClipFiles:
    """The --out, --gif, --strip and --track-out of a command that writes clips, checked."""
    out = checks.output_file("--out", args.out, video_suffixes)
    videos = (out,) if clips == 1 else tuple(out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(clips))
    gif = getattr(args, "gif", None)
    strip = getattr(args, "strip", None)
    track = getattr(args, "track_out", None)
    if gif is not None and out.suffix.lower() != ".mp4":
        raise LganimError("--gif makes a GIF from the MP4: give --out a .mp4 name (or --out x.gif alone).")
    return ClipFiles(videos=videos,
                     gif=None if gif is None else checks.output_file("--gif", gif, (".gif",)),
                     strip=None if strip is None else checks.output_file("--strip", strip, IMAGE_SUFFIXES),
                     track=None if track is None else checks.output_file("--track-out", track, TRACK_SUFFIXES))


def motion_path(args) -> None:
    """--motion: 'fit', or a checkpoint folder or file that exists."""
    motion = getattr(args, "motion", None)
    if motion is not None and str(motion) != "fit" and not Path(motion).exists():
        raise LganimError(f"--motion {checks.shown(str(motion))} was not found: give a motion checkpoint folder "
                          f"or file, or 'fit'.")


def face(args) -> dict:
    """The face options every request of a face shares (--seed or --image, --face, --no-paste-back, --refine,
    --truncation); a photo's header is read."""
    if args.image is not None:
        check_photo(checks.input_file("--image", args.image))
    return dict(image=args.image, truncation=args.truncation, face_index=args.face,
                paste_back=not args.no_paste_back, refine_steps=args.refine)


def animate(args) -> tuple[Request, ClipFiles]:
    get_domain(args.domain)
    motion_path(args)
    request = Request(prompts=args.prompt, seeds=args.seed or 0, num_frames=args.frames, fps=args.fps,
                      strength=args.strength, schedule=args.schedule, **face(args))
    return request, clip_files(args, request.batch)


def align(args) -> Path:
    checks.output_file("--out", args.out, IMAGE_SUFFIXES)
    checks.whole("--size", args.size, 16, 4096)
    check_photo(checks.input_file("--image", args.image))
    return args.image


def edit(args) -> EditRequest | None:
    get_domain(args.domain)
    if args.list_controls:
        return None
    if args.out is None:
        raise LganimError("Give --out (e.g. edited.png) for the edited image, or --list-controls.")
    checks.output_file("--out", args.out, IMAGE_SUFFIXES)
    return EditRequest(seed=args.seed or 0, controls=controls_of(args.control),
                       prompts=prompts_of(args.prompt, args.amount), **face(args))


def edit_video(args) -> tuple[VideoEditRequest, ClipFiles]:
    """The video's header read (a text file named .mp4 is refused here), the edit's values checked."""
    domain = get_domain(args.domain)
    if not domain.supports_photos:
        raise LganimError(f"The {domain.name} domain has no photo encoder, so it cannot edit the faces of a video: "
                          f"use the human domain.")
    files = clip_files(args, 1, (".mp4",))
    probe_video(checks.input_file("--video", args.video))
    request = VideoEditRequest(video=args.video, prompt=args.prompt, controls=controls_of(args.control),
                               strength=args.strength, start=args.start, end=args.end, face_index=args.face)
    return request, files


def controls_of(texts: list[str]) -> dict[str, float]:
    """--control NAME=VALUE ... as channel -> value."""
    controls: dict[str, float] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            number = float(value)
        except ValueError:
            raise LganimError(f"--control takes NAME=VALUE (e.g. yaw=10), got {text!r}.") from None
        if name.strip() in controls:
            raise LganimError(f"--control {name.strip()} is given twice: give it once.")
        controls[name.strip()] = number
    return controls


def prompts_of(prompts: list[str], amounts: list[float]) -> dict[str, float]:
    """--prompt TEXT ... with their --amount A ... (none: each its full expression, 1)."""
    if amounts and len(amounts) != len(prompts):
        raise LganimError(f"Give one --amount per --prompt (got {len(prompts)} prompts and {len(amounts)} amounts), "
                          f"or none for 1 each.")
    if len(set(prompts)) != len(prompts):
        raise LganimError("A --prompt is given twice: give each sentence once, with its --amount.")
    return dict(zip(prompts, amounts or [1.0] * len(prompts)))


def driven(args, driving: Driving) -> tuple[DriveRequest, ClipFiles]:
    """A command's driven face: the DriveRequest of its face, fps and prompt options, and where its clip goes."""
    get_domain(args.domain)
    motion_path(args)
    request = DriveRequest(driving=driving, seed=args.seed, fps=args.fps, prompt=args.prompt, **face(args))
    suffixes = VIDEO_SUFFIXES if driving.kind == "video" else (".mp4",)
    return request, clip_files(args, 1, suffixes)


def driving_file(path: Path) -> None:
    """A driving video's header, or a whole motion track file (small)."""
    if Path(path).suffix.lower() in TRACK_SUFFIXES:
        Track.load(checks.input_file("--driving", path))
    else:
        probe_video(checks.input_file("--driving", path))


def retarget(args) -> tuple[DriveRequest, ClipFiles]:
    driving_file(args.driving)
    return driven(args, Driving(kind="video", source=args.driving, region=args.region, pose_scale=args.pose_scale,
                                expression_scale=args.expression_scale, smooth=args.smooth))


def talking(args, kind: str, **what) -> Driving:
    """The Driving of `talk` and `say` from the command's options (a style video's header read)."""
    if args.style is not None:
        probe_video(checks.input_file("--style", args.style))
    return Driving(kind=kind, pose_scale=args.pose_scale, expression_scale=args.expression_scale, style=args.style,
                   style_mode=args.style_mode, still=args.still, blinks_per_minute=args.blink_rate, **what)


def talk(args) -> tuple[DriveRequest, ClipFiles]:
    probe_audio(checks.input_file("--audio", args.audio))
    return driven(args, talking(args, "audio", source=args.audio))


def say(args) -> tuple[DriveRequest, ClipFiles]:
    return driven(args, talking(args, "text", text=args.text, voice=args.voice, rate=args.rate))


def predict(args) -> PredictRequest:
    get_domain(args.domain)
    motion_path(args)
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise LganimError(f"{args.out} exists and is not an empty folder: give a new folder.")
    if not args.out.parent.is_dir():
        raise LganimError(f"The folder {args.out.parent} does not exist.")
    return PredictRequest(seed=args.seed, samples=args.samples, prompt=args.prompt, num_frames=args.frames,
                          fps=args.fps, diversity=args.diversity, **face(args))


def prefit(args) -> list[str]:
    """The prompts to fit (segments of "A; then B" each, the paper's expressions by default) and --out: a new or
    empty folder, or a bundle to resume (whose index the prefit itself checks)."""
    spec = get_domain(args.domain)
    out = args.out
    if not (out / "index.json").is_file() and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LganimError(f"{out} exists and is not a presets bundle: give a new or empty folder.")
    if not out.absolute().parent.is_dir():
        raise LganimError(f"The folder {out.parent} does not exist.")
    if args.push is not None and not re.fullmatch(checks.HUB_REPO, args.push):
        raise LganimError(f"--push takes a Hub repo as USER/NAME, got {checks.shown(args.push)}.")
    prompts = [checks.text("--prompt", p, PROMPT_EXAMPLE, MAX_PROMPT_CHARS)
               for p in args.prompt or paper_prompts(spec.subject)]
    return [segment for prompt in prompts for segment in split_prompt(prompt)]


def live(args) -> tuple[LiveRequest, MediaInfo]:
    """The live session's request and the header of the video played as its camera."""
    get_domain(args.domain)
    checks.output_file("--out", args.out, (".mp4",))
    for path, flag, suffixes in ((args.json, "--json", (".json",)), (args.track_out, "--track-out", TRACK_SUFFIXES)):
        if path is not None:
            checks.output_file(flag, path, suffixes)
    checks.whole("--threads", args.threads, 1, 256)
    info = probe_video(checks.input_file("--video", args.video))
    if not info.fps or not 1 <= info.fps <= MAX_FPS:
        raise LganimError(f"{args.video.name} runs at {info.fps or 'an unknown rate of'} frames a second; the live "
                          f"loop takes videos of 1 to {MAX_FPS} frames a second (re-encode it, e.g. with -r 25).")
    return LiveRequest(seed=args.seed, region=args.region, pose_scale=args.pose_scale,
                       expression_scale=args.expression_scale, smooth=args.smooth, **face(args)), info


def track(args) -> Path:
    checks.output_file("--out", args.out, TRACK_SUFFIXES)
    probe_video(checks.input_file("--video", args.video))
    return args.video


def motion_of(args) -> str | None:
    """--motion as a set records it: None, "fit", or the checkpoint's full path."""
    motion = getattr(args, "motion", None)
    return None if motion is None else "fit" if str(motion) == "fit" else str(Path(motion).resolve())


def render_set(args) -> tuple[Manifest, tuple[int, int]]:
    """The manifest (every row checked by its request), the shard, and the folder: no other set's results in it
    unless --resume."""
    get_domain(args.domain)
    motion_path(args)
    manifest = read_manifest(args.manifest, args.domain)
    if args.motion is not None and str(args.motion) != "fit" and len(manifest.domains) > 1:
        raise LganimError(f"--motion {checks.shown(str(args.motion))} is one domain's motion, but the manifest has "
                          f"rows of {', '.join(manifest.domains)}: render each domain's rows on their own.")
    index, sep, parts = str(args.shard).partition("/")
    if not sep or not index.strip().isdigit() or not parts.strip().isdigit() or not 0 <= int(index) < int(parts):
        raise LganimError(f"--shard takes i/n with 0 <= i < n (e.g. 0/4 for the first of 4 jobs), got "
                          f"{checks.shown(args.shard)}.")
    if args.json is not None:
        checks.output_file("--json", args.json, (".json",))
    check_folder(args.out, manifest, motion_of(args), args.resume)
    return manifest, (int(index), int(parts))


def evaluate(args) -> tuple[Path, ...]:
    """eval --set: the folders (each holds finished clips) and the outputs; () for a video or a pipeline run."""
    extra = [flag for flag in ("compare", "csv", "markdown", "plot") if getattr(args, flag) is not None]
    if args.set is None:
        if extra:
            raise LganimError(f"--{extra[0]} goes with --set (a folder of clips render-set wrote).")
        return ()
    folders = (args.set,) if args.compare is None else (args.set, args.compare)
    for folder in folders:
        if not folder.is_dir():
            raise LganimError(f"No folder at {folder}: give the --out of a render-set run.")
        if not records(folder):
            raise LganimError(f"{folder} holds no finished clip of a set (render-set writes <id>.json beside each "
                              f"<id>.mp4).")
    for flag, suffixes in (("json", (".json",)), ("csv", (".csv",)), ("markdown", (".md",)), ("plot", (".png",))):
        if getattr(args, flag) is not None:
            checks.output_file(f"--{flag}", getattr(args, flag), suffixes)
    return folders


__all__ = ["ClipFiles", "clip_files", "face", "animate", "align", "edit", "edit_video", "controls_of", "prompts_of",
           "driven", "retarget", "talking", "talk", "say", "predict", "live", "track", "motion_of",
           "render_set", "evaluate"]
