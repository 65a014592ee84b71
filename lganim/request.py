"""Requests, checked once: what the CLI, the Python API and the app ask the pipeline for.

Each kind has one door on the `Animator` (pipeline.py), the same shape for all — the request in, the result out:

    anim(Request(...))              clips of faces moved by a language motion (or any motion source)
    anim.drive(DriveRequest(...))   one face driven by what is not language (`Driving`: a video, a sound, text to say)
    anim.predict(PredictRequest())  plausible futures of one face
    anim.edit(EditRequest(...))     one still face edited by control channels and language sliders
    anim.live(LiveRequest(...))     one face a camera drives live (lganim.live)
    anim.edit_video(VideoEditRequest(...))   an existing video's face edited in every frame (lganim.video_edit)

A request's face is a seed's, a photo's, or an edit's (`start`: what `Animator.edit` returned, whose W+ code, photo
and crop move the clip starts from). Every request is keyword-only and frozen; it normalises and validates every
user value (through `checks.py`) when it is built — files it reads must exist — so a bad value gets the same
one-line `LganimError` wherever it comes from, before any work. No torch here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import checks
from .config import (
    CHANNELS,
    DEFAULT_DRIVEN_FPS,
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_FUTURE_FPS,
    DEFAULT_FUTURE_FRAMES,
    DEFAULT_LIVE_SMOOTH,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    DRIVEN_CHANNELS,
    DRIVING_KINDS,
    MAX_BATCH,
    MAX_DRIVEN_FRAMES,
    MAX_EDIT_AMOUNT,
    MAX_EDIT_PROMPTS,
    MAX_FPS,
    MAX_FRAMES,
    MAX_FUTURES,
    MAX_PROMPT_CHARS,
    MAX_REFINE_STEPS,
    MAX_SEED,
    MAX_STRENGTH,
    MAX_VIDEO_SECONDS,
    REGIONS,
    SCHEDULES,
    STYLE_MODES,
)
from .errors import LganimError

PROMPT_EXAMPLE = 'describe the motion, e.g. "The person is smiling."'
START_FIELDS = ("w", "domain", "seed", "truncation", "photo", "move")   # what a clip takes from an edit


def check_start(start) -> None:
    """An edit to start from: what `Animator.edit` returns (an `Edit`), or None."""
    if start is not None and not all(hasattr(start, name) for name in START_FIELDS):
        raise LganimError(f"start must be an edit of a face (what Animator.edit returns), got "
                          f"{type(start).__name__}.")


@dataclass(frozen=True, kw_only=True)
class Request:
    """B = max(len(prompts), len(seeds)) clips of `num_frames` frames.

    prompts: one prompt, or one per clip, for a language motion source; none (an empty list) when another source
    (a driving track) moves the face. Language-guided clips have at most MAX_FRAMES frames, driven ones
    MAX_DRIVEN_FRAMES (they stream into their file). seeds: one seed, or one per clip (ignored for a photo, whose
    face is the start of every clip). truncation None: the domain's ψ. A photo (`image`: path, bytes, PIL image or
    uint8 array) has its `face_index`-th largest face aligned, inverted (`refine_steps` of optimisation sharpen it)
    and, with `paste_back`, pasted back into the photo. start: an edit (`Animator.edit`) every clip starts from
    instead: its W+ code, and its photo and crop move (seeds and photo are then its own).
    """

    prompts: tuple[str, ...] | list[str] | str = ()
    seeds: tuple[int | None, ...] | list[int] | int | None = 0
    image: object = None
    num_frames: int = DEFAULT_FRAMES
    fps: int = DEFAULT_FPS
    strength: float = DEFAULT_STRENGTH
    truncation: float | None = None
    schedule: str = DEFAULT_SCHEDULE
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0
    start: object = None

    def __post_init__(self):
        if isinstance(self.prompts, str) or self.prompts is None:
            prompts = [self.prompts]
        else:
            try:
                prompts = list(self.prompts)
            except TypeError:
                raise LganimError(f"prompt must be text, got {checks.shown(self.prompts)}.") from None
        prompts = [checks.text("prompt", p, PROMPT_EXAMPLE, MAX_PROMPT_CHARS) for p in prompts]
        check_start(self.start)
        object.__setattr__(self, "image", checks.input_file("The photo", self.image))
        if self.start is not None and self.image is not None:
            raise LganimError("Start from a photo or from an edit, not both (an edit of a photo keeps its photo).")
        if self.start is not None:
            seeds = [self.start.seed]
        elif self.image is not None:
            seeds = [None]
        else:
            raw = [self.seeds] if self.seeds is None or isinstance(self.seeds, (int, float)) else self.seeds
            try:
                raw = list(raw)
            except TypeError:
                raise LganimError(f"seed must be a whole number from 0 to {MAX_SEED}, got "
                                  f"{checks.shown(self.seeds)}.") from None
            seeds = [checks.whole("seed", s, 0, MAX_SEED) for s in raw]
            if not seeds:
                raise LganimError("Give at least one seed.")
        if prompts and len(prompts) != len(seeds) and 1 not in (len(prompts), len(seeds)):
            raise LganimError(f"Give one prompt or one seed, or as many prompts as seeds "
                              f"(got {len(prompts)} prompts and {len(seeds)} seeds).")
        n = max(len(prompts), len(seeds))
        if n > MAX_BATCH:
            raise LganimError(f"At most {MAX_BATCH} clips per request, got {n}.")
        set_ = object.__setattr__   # frozen: normalised once, here
        set_(self, "prompts", tuple(prompts * (n // len(prompts))) if prompts else ())
        set_(self, "seeds", tuple(seeds * (n // len(seeds))))
        limit = MAX_FRAMES if prompts else MAX_DRIVEN_FRAMES
        set_(self, "num_frames", checks.whole("num_frames", self.num_frames, 1, limit))
        set_(self, "fps", checks.whole("fps", self.fps, 1, MAX_FPS))
        set_(self, "strength", checks.number("strength", self.strength, -MAX_STRENGTH, MAX_STRENGTH))
        if self.truncation is not None:
            set_(self, "truncation", checks.number("truncation", self.truncation, 0.0, 1.0))
        checks.choice("schedule", self.schedule, SCHEDULES)
        set_(self, "face_index", checks.whole("face_index", self.face_index, 0, 1000))
        set_(self, "refine_steps", checks.whole("refine_steps", self.refine_steps, 0, MAX_REFINE_STEPS))
        set_(self, "paste_back", bool(self.paste_back))

    @property
    def batch(self) -> int:
        return len(self.seeds)

    def with_changes(self, **changes) -> "Request":
        """A copy with some values changed, checked again."""
        return replace(self, **changes)


def parse_seed_list(value) -> list[int]:
    """'1, 2 3' -> [1, 2, 3] (commas, semicolons or spaces)."""
    if not isinstance(value, str) or not value.strip():
        raise LganimError("seeds is empty: give one or more whole numbers, e.g. 1, 2, 3.")
    seeds = []
    for token in re.split(r"[\s,;]+", value.strip()):
        if not token.isdigit() or int(token) > MAX_SEED:
            raise LganimError(f"seeds must be whole numbers from 0 to {MAX_SEED}, got {checks.shown(token)}.")
        seeds.append(int(token))
    return seeds


def parse_prompt_lines(value) -> list[str]:
    """One prompt per line (a line may itself be a sequence: 'smiling; then winking')."""
    checks.text("prompts", value, "write one prompt per line.", MAX_PROMPT_CHARS * MAX_BATCH)
    return [line.strip() for line in value.splitlines() if line.strip()]


@dataclass(frozen=True, kw_only=True)
class Driving:
    """What drives a face (plain values and paths: it pickles, e.g. to ZeroGPU's GPU worker).

    kind "video": `source` is a driving video or a motion track file (.json, .csv); `region` (config.REGIONS) says
    what of it drives the face and `smooth` (0..1) steadies it. kind "audio": `source` is speech (a sound file, or a
    video's sound). kind "text": `text` is said by espeak-ng in `voice` at `rate` words a minute. For audio and text,
    `style` is a video of someone talking whose style (`style_mode`: "stats", its amplitudes, rhythm and blinks;
    "copy", its head pose) the face takes, `still` keeps the head still, `blinks_per_minute` sets the blink rate
    (None: resting or talking rate). `pose_scale` and `expression_scale` multiply the head motion and the
    expression.
    """

    kind: str
    source: Path | None = None
    text: str = ""
    voice: str = "en"
    rate: int = 175
    region: str = "all"
    pose_scale: float = 1.0
    expression_scale: float = 1.0
    smooth: float = 0.0
    style: Path | None = None
    style_mode: str = "stats"
    still: bool = False
    blinks_per_minute: float | None = None

    def __post_init__(self):
        checks.choice("kind", self.kind, DRIVING_KINDS)
        checks.choice("region", self.region, tuple(REGIONS))
        checks.choice("style mode", self.style_mode, STYLE_MODES)
        checks.number("pose_scale", self.pose_scale, -MAX_STRENGTH, MAX_STRENGTH)
        checks.number("expression_scale", self.expression_scale, -MAX_STRENGTH, MAX_STRENGTH)
        checks.number("smoothing", self.smooth, 0.0, 1.0)
        if self.kind != "video" and (self.pose_scale < 0 or self.expression_scale < 0):
            raise LganimError("The pose and expression scales of a talking face must be from 0 to "
                              f"{MAX_STRENGTH:g} (1 = natural).")
        what = "The driving video" if self.kind == "video" else "The audio"
        if self.kind in ("video", "audio") and self.source is None:
            raise LganimError(f"Give the {what.lower()[4:]} to drive the face.")
        object.__setattr__(self, "source", checks.input_file(what, self.source))
        object.__setattr__(self, "style", checks.input_file("The style video", self.style))
        if self.kind == "text":
            object.__setattr__(self, "text", checks.text("text", self.text, "type what the face should say.",
                                                         MAX_PROMPT_CHARS))
        checks.text("voice", self.voice, "name an espeak-ng voice, e.g. en.", 40)
        checks.whole("The speaking rate (words a minute)", self.rate, 80, 450)
        if self.blinks_per_minute is not None:
            checks.number("The blink rate (a minute)", self.blinks_per_minute, 0.0, 60.0)


@dataclass(frozen=True, kw_only=True)
class DriveRequest:
    """One face (a seed's or a photo's, as in `Request`) and what drives it.

    fps: the rate of the output. None: a driving video drives at its own frame times (one output frame per driving
    frame), a sound or text at DEFAULT_DRIVEN_FPS; a number resamples the driving motion at that rate (by time).
    prompt: a language-guided motion to add on top (None: none). strength scales the whole motion. start: an edit
    (`Animator.edit`) the face starts from instead of the seed or photo.
    """

    driving: Driving
    seed: int | None = 0
    image: object = None
    fps: int | None = None
    prompt: str | None = None
    strength: float = DEFAULT_STRENGTH
    truncation: float | None = None
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0
    start: object = None

    def __post_init__(self):
        if not isinstance(self.driving, Driving):
            raise LganimError(f"driving must be a Driving, got {type(self.driving).__name__}.")
        if self.fps is not None:
            object.__setattr__(self, "fps", checks.whole("fps", self.fps, 1, MAX_FPS))
        if self.prompt is not None:
            object.__setattr__(self, "prompt", checks.text("prompt", self.prompt, PROMPT_EXAMPLE,
                                                           MAX_PROMPT_CHARS))
        self.as_request(1, DEFAULT_DRIVEN_FPS)             # the face's values, checked now, before any work

    def as_request(self, num_frames: int, fps: int) -> Request:
        """The pipeline's request for this face: no prompts (a track drives it), `num_frames` frames at `fps`."""
        return Request(seeds=(self.seed or 0,), image=self.image, num_frames=num_frames, fps=fps,
                       strength=self.strength, truncation=self.truncation, face_index=self.face_index,
                       paste_back=self.paste_back, refine_steps=self.refine_steps, start=self.start)


@dataclass(frozen=True, kw_only=True)
class PredictRequest:
    """Plausible futures of one face (a seed's, a photo's or an edit's, as in `Request`): `samples` clips of
    `num_frames` frames at `fps`, each a sequence of the paper's prompts drawn from the seed (or `prompt` for all of
    them) with blinks and head sway under it. diversity: with a trained motion model, the spread of its hidden-state
    draws."""

    seed: int | None = 0
    image: object = None
    samples: int = 4
    prompt: str | None = None
    num_frames: int = DEFAULT_FUTURE_FRAMES
    fps: int = DEFAULT_FUTURE_FPS
    diversity: float = 4.0
    truncation: float | None = None
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0
    start: object = None

    def __post_init__(self):
        set_ = object.__setattr__   # frozen: normalised once, here
        set_(self, "samples", checks.whole("samples", self.samples, 1, MAX_FUTURES))
        if self.prompt is not None:
            set_(self, "prompt", checks.text("prompt", self.prompt, PROMPT_EXAMPLE, MAX_PROMPT_CHARS))
        set_(self, "diversity", checks.number("diversity", self.diversity, 0.0, 100.0))
        self.as_request(self.prompt or "The person is smiling.")   # the face's values, checked now

    def as_request(self, prompt: str) -> Request:
        """The pipeline's request for one future: this face animated by `prompt`."""
        return Request(prompts=prompt, seeds=(self.seed or 0,), image=self.image, num_frames=self.num_frames,
                       fps=self.fps, truncation=self.truncation, face_index=self.face_index,
                       paste_back=self.paste_back, refine_steps=self.refine_steps, start=self.start)


@dataclass(frozen=True, kw_only=True)
class EditRequest:
    """One still face (a seed's, or a photo's as in `Request`), edited.

    controls: channel -> value in the channel's track unit (degrees, inter-ocular distances, face widths...; names
    and units: lganim.config.CHANNELS); a channel left out is 0. An unknown name is refused here; whether a value
    lies in the domain's range is checked by the editor (lganim/edit.py), which knows the domain's calibration,
    before it does any work. prompts: sentence -> amount from -MAX_EDIT_AMOUNT to MAX_EDIT_AMOUNT of its fitted
    expression (1 the full expression, negative the opposite), at most MAX_EDIT_PROMPTS of them.
    """

    seed: int | None = 0
    image: object = None
    controls: dict = field(default_factory=dict)
    prompts: dict = field(default_factory=dict)
    truncation: float | None = None
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0

    def __post_init__(self):
        set_ = object.__setattr__   # frozen: normalised once, here
        set_(self, "image", checks.input_file("The photo", self.image))
        set_(self, "seed", None if self.image is not None else checks.whole("seed", self.seed, 0, MAX_SEED))
        controls = {} if self.controls is None else self.controls
        if not isinstance(controls, dict):
            raise LganimError(f"controls must be a dict of channel -> value, got {checks.shown(controls)}.")
        for name, value in controls.items():
            if not isinstance(name, str):
                raise LganimError(f"A control must be named by its channel (text), got {checks.shown(name)}.")
            if not checks.is_real(value) or not math.isfinite(value):
                raise LganimError(f"The control {name} must be a number, got {checks.shown(value)}.")
        unknown = [name for name in controls if name not in CHANNELS]
        if unknown:
            raise LganimError(f"Unknown control {unknown[0]!r}: use one of {', '.join(CHANNELS)}.")
        set_(self, "controls", {name: float(value) for name, value in controls.items()})
        prompts = {} if self.prompts is None else self.prompts
        if not isinstance(prompts, dict):
            raise LganimError(f"prompts must be a dict of sentence -> amount, got {checks.shown(prompts)}.")
        if len(prompts) > MAX_EDIT_PROMPTS:
            raise LganimError(f"At most {MAX_EDIT_PROMPTS} language sliders per edit, got {len(prompts)}.")
        amounts: dict[str, float] = {}
        for prompt, amount in prompts.items():
            text = checks.text("prompt", prompt, PROMPT_EXAMPLE, MAX_PROMPT_CHARS)
            if text in amounts:
                raise LganimError(f"The prompt {checks.shown(text)} is given twice: give it one amount.")
            amounts[text] = checks.number(f"The amount of {checks.shown(text)}", amount, -MAX_EDIT_AMOUNT,
                                          MAX_EDIT_AMOUNT)
        set_(self, "prompts", amounts)
        if self.truncation is not None:
            set_(self, "truncation", checks.number("truncation", self.truncation, 0.0, 1.0))
        set_(self, "face_index", checks.whole("face_index", self.face_index, 0, 1000))
        set_(self, "refine_steps", checks.whole("refine_steps", self.refine_steps, 0, MAX_REFINE_STEPS))
        set_(self, "paste_back", bool(self.paste_back))


@dataclass(frozen=True, kw_only=True)
class LiveRequest:
    """One face (a seed's or a photo's, as in `Request`) that a camera drives live, frame by frame.

    region (config.REGIONS), pose_scale and expression_scale: as for a driving video (`Driving`); the session can
    change them while it runs. smooth: 0..1, how much the tracked landmarks are steadied (causally: a One-Euro
    filter; 0 none). The first good camera frame is the neutral pose.
    """

    seed: int | None = 0
    image: object = None
    truncation: float | None = None
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0
    region: str = "all"
    pose_scale: float = 1.0
    expression_scale: float = 1.0
    smooth: float = DEFAULT_LIVE_SMOOTH

    def __post_init__(self):
        checks.choice("region", self.region, tuple(REGIONS))
        set_ = object.__setattr__   # frozen: normalised once, here
        set_(self, "pose_scale", checks.number("pose_scale", self.pose_scale, -MAX_STRENGTH, MAX_STRENGTH))
        set_(self, "expression_scale", checks.number("expression_scale", self.expression_scale, -MAX_STRENGTH,
                                                     MAX_STRENGTH))
        set_(self, "smooth", checks.number("smoothing", self.smooth, 0.0, 1.0))
        self.as_request()                                  # the face's values, checked now, before any work

    def as_request(self) -> Request:
        """The pipeline's request for this face (one frame: the neutral pose)."""
        return Request(seeds=(self.seed or 0,), image=self.image, num_frames=1, fps=DEFAULT_DRIVEN_FPS,
                       truncation=self.truncation, face_index=self.face_index, paste_back=self.paste_back,
                       refine_steps=self.refine_steps)


@dataclass(frozen=True, kw_only=True)
class VideoEditRequest:
    """An existing video whose face is edited in every frame, the rest of each frame untouched (lganim.video_edit).

    video: the video (its sound is kept). prompt: a sentence whose fitted expression is added (a sequence "A; then
    B" plays its segments one after the other over the time range); controls: channel -> constant offset in the
    channel's track unit (the Edit tab's sliders, config.DRIVEN_CHANNELS; roll, tx, ty and scale move a crop, not a
    video's face, and are refused); at least one of the two. strength scales the whole edit (0: the video as it
    is). start, end: the time range in seconds from the first frame (None: from the start, to the end), faded in
    and out over at most config.VIDEO_EDIT_RAMP seconds inside it. face_index: which face to follow when several
    are in view (0: the clearest). residual: True keeps every frame's own pixels and adds only the change the edit
    makes to its face; False pastes the StyleGAN2's reconstruction of the edited face back instead.
    """

    video: Path
    prompt: str | None = None
    controls: dict = field(default_factory=dict)
    strength: float = DEFAULT_STRENGTH
    start: float | None = None
    end: float | None = None
    face_index: int = 0
    residual: bool = True

    def __post_init__(self):
        set_ = object.__setattr__   # frozen: normalised once, here
        if self.video is None:
            raise LganimError("Give the video to edit.")
        set_(self, "video", checks.input_file("The video", self.video))
        if not isinstance(self.video, Path):
            raise LganimError(f"The video must be a file path, got {type(self.video).__name__}.")
        if self.prompt is not None:
            set_(self, "prompt", checks.text("prompt", self.prompt, PROMPT_EXAMPLE, MAX_PROMPT_CHARS))
        set_(self, "controls", self.as_edit().controls)                 # names and numbers checked there
        moved = [name for name in self.controls if name not in DRIVEN_CHANNELS]
        if moved:
            raise LganimError(f"The control {moved[0]} moves a crop, not a video's face: use "
                              f"{', '.join(DRIVEN_CHANNELS)}.")
        if self.prompt is None and not any(self.controls.values()):
            raise LganimError('Give a prompt (e.g. "The person is smiling.") or a control (e.g. smile=0.1) to edit '
                              'the video with.')
        set_(self, "strength", checks.number("strength", self.strength, -MAX_STRENGTH, MAX_STRENGTH))
        for name in ("start", "end"):
            if getattr(self, name) is not None:
                set_(self, name, checks.number(f"The {name} time (seconds)", getattr(self, name), 0.0,
                                               MAX_VIDEO_SECONDS))
        if self.start is not None and self.end is not None and not self.end > self.start:
            raise LganimError(f"The end time ({self.end:g} s) must come after the start time ({self.start:g} s).")
        set_(self, "face_index", checks.whole("face_index", self.face_index, 0, 1000))
        set_(self, "residual", bool(self.residual))

    def as_edit(self) -> EditRequest:
        """The edit of one frame's face: the controls, and the prompt at its full expression (checked by the
        domain's editor against the channels' ranges)."""
        return EditRequest(controls=self.controls, prompts={} if self.prompt is None else {self.prompt: 1.0})


__all__ = ["Request", "Driving", "DriveRequest", "PredictRequest", "EditRequest", "LiveRequest", "VideoEditRequest",
           "check_start",
           "parse_seed_list", "parse_prompt_lines", "PROMPT_EXAMPLE", "START_FIELDS"]
