"""Constants, defaults and frozen configs: the one source of every limit, default and file kind, the shapes of the
progress callbacks, and the contracts of the constructors the configs configure. No torch here (the CLI's `--help`
imports this module).

No file paths live here: which files a domain loads is `weights/domain_files.py`, how they are read is
`weights/formats.py`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from . import checks
from .errors import LganimError

# The paper's 28 training expressions (the authors' `face_pmt` vocabulary): "The {subject} is {expression}."
PAPER_EXPRESSIONS = ("smiling", "angry", "closing eyes", "winking", "shocked", "pouting", "crying", "disgusted",
                     "appalled", "opening mouth", "hatred", "surprised", "aha", "annoyed", "awkward",
                     "biting tongues", "blank stare", "confused", "duck lips", "incredulous", "mocking", "nervous",
                     "no comment", "oh no", "serious", "stunned", "whatever", "wtf")
# Decay schedules of the motion step size (motion.py); "linear" is the official default, "cosine" is ours.
SCHEDULES = ("linear", "sqrt", "exp", "const", "cosine")

# Limits of one request (the CLI, the Python API and the app share them).
MAX_FRAMES = 256                # frames of a language-guided clip
MAX_DRIVEN_FRAMES = 18_000      # a clip a track or audio drives (10 minutes at 30 fps), streamed to its file
MAX_FPS = 60                    # frames per second of a video lganim writes (and of the features that drive one)
MAX_TRACK_FPS = 1000.0          # sampling rate of a motion track (a high-speed camera's)
MAX_BATCH = 16                  # clips per request
MAX_STRENGTH = 10.0             # |strength| of a motion, and |scale| of a driving track's pose or expression
MAX_SEED = 2 ** 32 - 1
MAX_PROMPT_CHARS = 1000         # CLIP reads 77 tokens; longer text is a mistake or an abuse (also: text to say)
MAX_REFINE_STEPS = 500
MAX_VIDEO_SIDE = 1024           # pasted-back videos are at most this wide/high (the photo is scaled down)
MAX_PHOTO_PIXELS = 40_000_000   # width × height of a photo (a 40 MP photo), read from its header
MAX_VIDEO_SECONDS = 600.0       # longest driving or style video
MAX_VIDEO_PIXELS = 4096 * 2160  # largest frame of a video that is read (DCI 4K; 8K is refused)
MAX_AUDIO_SECONDS = 300.0       # longest sound that drives a face
FFMPEG_TIMEOUT = 120            # seconds any one ffmpeg call may take before it is stopped

# The Hugging Face Hub, and lganim's cache (LGANIM_CACHE).
HUB_PROBE_TIMEOUT = 4.0         # seconds a probe of the Hub may take before it counts as unreachable
HUB_PROBE_MEMORY = 60.0         # seconds a probe's answer is remembered (per endpoint) before the Hub is asked again
FIT_LOCK_GRACE = 60.0           # seconds a fit waits beyond the holder's time budget before it fits on its own
LOCK_POLL_SECONDS = 0.2         # how often a waiting process tries a held file lock again
TEMP_MAX_AGE = 24 * 3600.0      # seconds after which a temporary file of a live or unknown owner is swept anyway
CACHE_SWEEP_DEPTH = 2           # folder levels below LGANIM_CACHE that lganim writes in (fitted/<domain>/) and sweeps

# Defaults of one request.
DEFAULT_FRAMES = 16
DEFAULT_FPS = 12
DEFAULT_DRIVEN_FPS = 25         # frame rate of a face driven by sound or text (a video drives at its own rate)
DEFAULT_STRENGTH = 1.0
DEFAULT_SCHEDULE = "linear"
DEFAULT_PROMPT = "The person is smiling."
DEFAULT_FUTURE_FRAMES = 24      # frames of a predicted future
DEFAULT_FUTURE_FPS = 12
MAX_FUTURES = 16                # futures of one prediction
DEFAULT_CHUNK = 16              # frames per synthesis call: the granularity of streaming

# File kinds, by suffix.
VIDEO_SUFFIXES = (".mp4", ".gif")                   # what lganim writes a clip as
TRACK_SUFFIXES = (".json", ".csv")                  # a motion track
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # an image lganim writes

# What drives a face: the channels of a motion track that move W+ (through control directions; roll, tx, ty and
# scale move the face's crop instead), the regions of the face a driving track may drive, and the ways a style
# video shapes a talking face (its statistics, or a copy of its head pose).
# The channels of a motion track (lganim.tracks), name -> unit. Angles follow the image: yaw > 0 when the face turns
# to its own left (toward image right), pitch > 0 chin up, roll > 0 counter-clockwise as seen in the image. Landmark
# channels are distances over the inter-ocular distance minus the neutral frame's.
CHANNELS: dict[str, str] = {
    "yaw": "deg",
    "pitch": "deg",
    "roll": "deg",
    "tx": "face widths, + right",
    "ty": "face widths, + down",
    "scale": "ln(face width / neutral face width)",
    "mouth_open": "inter-ocular distances, minus neutral",
    "mouth_wide": "inter-ocular distances, minus neutral",
    "smile": "inter-ocular distances, minus neutral",
    "eye_l": "inter-ocular distances, minus neutral",
    "eye_r": "inter-ocular distances, minus neutral",
    "brow": "inter-ocular distances, minus neutral",
}
DRIVEN_CHANNELS = ("yaw", "pitch", "mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow")
REGIONS: dict[str, tuple[str, ...]] = {
    "all": DRIVEN_CHANNELS,
    "pose": ("yaw", "pitch"),
    "expression": ("mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow"),
    "lips": ("mouth_open", "mouth_wide", "smile"),
    "eyes": ("eye_l", "eye_r", "brow"),
}
STYLE_MODES = ("stats", "copy")

# Editing a still face (lganim/edit.py). The driven channels' ranges come from the domain's calibration
# (motion/calibration.py, `observed_ranges`); roll, tx, ty and scale move the crop, not W+, and have no calibration:
# ±30° of roll (the landmark head pose is good for changes within about ±30°, docs/facts.md), ±0.25 face widths of
# shift (the face's centre stays within the middle half of its crop), ±0.2 of log scale (the face 0.82–1.22 times
# its size, so it neither leaves its crop nor shrinks into its background).
EDIT_CROP_RANGES: dict[str, float] = {"roll": 30.0, "tx": 0.25, "ty": 0.25, "scale": 0.2}
MAX_EDIT_PROMPTS = 4            # language sliders of one edit
MAX_EDIT_AMOUNT = 1.0           # |amount| of a language slider: ±1 is its prompt's full fitted expression
EDIT_CACHED_FACES = 8           # start faces (codes, aligned photos) an editor keeps, so a slider only renders
EDIT_HASHED_PHOTO_BYTES = 256 * 2 ** 20   # a photo file up to this size is known again by its content (an upload
                                          # may come back under a new path); a larger one by its path and time
DRIVING_KINDS = ("video", "audio", "text")          # a driving video (or track file), a sound, text to say
VIDEO_EDIT_RAMP = 0.2           # seconds: the most an edit of a video's time range fades in and out over

# Puppeteering a face live from a camera (lganim.live, the CLI's `live`, the app's Live tab).
LIVE_HOLD_SECONDS = 0.3         # the face is lost: its last pose is held this long ...
LIVE_EASE_SECONDS = 0.7         # ... then eases back to the neutral pose over this long (back within a second)
DEFAULT_LIVE_SMOOTH = 0.5       # causal smoothing of the tracked landmarks, 0 (none) to 1 (steadiest, most lag)
LIVE_STATS_WINDOW = 2.0         # seconds of recent frames the live frames per second are measured over
LIVE_STREAM_EVERY = 0.04        # the page sends a camera frame at most every 40 ms (25 a second), one at a time
LIVE_TIME_LIMIT = 600           # seconds one browser stream runs before the camera must be started again
LIVE_RECORD_FPS = 25            # frame rate of a recorded live MP4 (what was shown, sampled at its times)

# Sets (lganim/sets): a manifest of clips rendered across processes (render-set), and evaluated (eval --set).
MANIFEST_SUFFIXES = (".csv", ".jsonl")              # a manifest: CSV with a header line, or JSON Lines
MAX_SET_ID_CHARS = 100          # a row's id names its files: <id>.mp4, <id>.json
SET_WAIT_SECONDS = 7 * 24 * 3600.0   # how long a process waits for the others at the end of a set: the slowest share
                                     # may take days (torchrun stops every process as soon as one dies)
SET_NOMINAL_GFLOPS = {"cpu": 150.0, "cuda": 100_000.0}   # synthesis GFLOP/s a process is assumed to render at, for a
                                     # dry run's estimate before any row of the folder is measured (CPU: the fast path
                                     # on 2 cores, benchmarks/README.md; CUDA: the eager bf16 prediction for an H200)
SET_NOMINAL_CLIP_SECONDS = {"cpu": 0.5, "cuda": 0.2}   # ... and the seconds besides synthesis a clip is assumed to
                                     # take (its request, encoding its MP4, its record)
NEUTRAL_PROMPT = "The {subject} has a neutral expression."   # the start of the directional CLIP similarity's text
                                                             # direction (neutral → the prompt)

# The shapes of a progress callback.
StepProgress = Callable[[int, int], None]           # (done, expected; 0 when unknown): frames tracked, renders
LossProgress = Callable[[int, int, float], None]    # (step, steps, loss): an optimisation (fitting, refinement)
StageProgress = Callable[[str, int, int], None]     # (what is done, done, expected): work in several stages


def paper_prompts(subject: str = "person") -> list[str]:
    """The paper's 28 prompts for a domain's subject: "The person is smiling.", ..."""
    return [f"The {subject} is {e}." for e in PAPER_EXPRESSIONS]


@dataclass(frozen=True)
class GeneratorConfig:
    """StyleGAN2 generator in the rosinality layout.

    `channels` overrides the per-resolution channel table as ((resolution, channels), ...); None keeps
    rosinality's table {4..32: 512, 64: 256m, 128: 128m, 256: 64m, 512: 32m, 1024: 16m} (m = channel_multiplier).
    """

    size: int
    style_dim: int = 512
    n_mlp: int = 8
    channel_multiplier: int = 2
    channels: tuple[tuple[int, int], ...] | None = None
    lr_mlp: float = 0.01

    def __post_init__(self):
        if self.size < 4 or self.size & (self.size - 1):
            raise ValueError(f"generator size must be a power of two >= 4, got {self.size}")

    @property
    def log_size(self) -> int:
        return int(math.log2(self.size))

    @property
    def num_ws(self) -> int:
        """Number of W+ layers (rosinality's n_latent): 18 at 1024 px, 16 at 512, 14 at 256."""
        return self.log_size * 2 - 2

    def channel_table(self) -> dict[int, int]:
        if self.channels is not None:
            return dict(self.channels)
        m = self.channel_multiplier
        return {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * m, 128: 128 * m, 256: 64 * m,
                512: 32 * m, 1024: 16 * m}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = [list(p) for p in self.channels] if self.channels else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        d = dict(d)
        if d.get("channels") is not None:
            d["channels"] = tuple(tuple(p) for p in d["channels"])
        return cls(**d)


@dataclass(frozen=True)
class MotionConfig:
    """The paper's recurrent motion generator (LatentRecurrent + two Mappers).

    Defaults are the official code's settings (see docs/motion.md).
    """

    num_ws: int = 18            # W+ layers of the generator it drives
    style_dim: int = 512        # width of one W code
    embed_dim: int = 1024       # CLIP embedding width (RN50: 1024); the recurrence runs in this space
    hidden_dim: int = 384       # hidden width of LatentRecurrent (a residual MLP cell, not a GRU/LSTM)
    w_residual: float = 0.2     # motion budget; the official step is 4 * w_residual / T * decay(t)
    schedule: str = "linear"    # decay schedule of the step size at inference
    mapper_dim: int = 1024      # hidden width of both Mappers
    hidden_init_std: float = 0.01  # std of the random initial hidden state (zeros without a generator)
    use_image_mapper: bool = True  # build the image Mapper (v_mapper) of the official layout

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MotionConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LossWeights:
    """λ of every term of the paper's objective (`motion/objective.py`); a zero weight skips the term and its work.

    Official defaults (configs/config.py and the released CelebA-HQ config): λ_clip 0.5, λ_w_l1 1, λ_w_reg 1,
    λ_w_2rd 1, λ_id 0; λ_lpips 1 applies to the photo recipe of training only.
    """

    clip: float = 0.5
    latent: float = 1.0
    loop: float = 1.0
    smooth: float = 1.0
    identity: float = 0.0
    lpips: float = 0.0
    temperature: float = 0.07

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
                raise LganimError(f"The loss weight {name} must be a finite number >= 0, got {value!r}.")
        if self.temperature <= 0:
            raise LganimError(f"The CLIP temperature must be > 0, got {self.temperature!r}.")

    @classmethod
    def with_overrides(cls, overrides: dict) -> "LossWeights":
        """The defaults with `overrides` ({"clip": 1.0, ...}) applied; an unknown name is a user mistake."""
        unknown = sorted(set(overrides) - set(cls.__dataclass_fields__))
        if unknown:
            raise LganimError(f"Unknown loss weight {unknown[0]!r}: use clip, latent, loop, smooth, identity or lpips.")
        return cls(**overrides)

    def to_dict(self) -> dict:
        return asdict(self)


FIT_PATHS = ("fast", "reference")      # how a fit step renders and differentiates (FitSettings.path)
FIT_DECAYS = ("hold-cosine", "constant")   # the learning rate over a fit's steps (FitSettings.decay)
FIT_DTYPES = ("fp32", "bf16")          # compute dtypes of the fast fit (FitSettings.dtype)
FIT_PASSES = 200                       # passes over the fitting faces of a fit whose steps are not given


@dataclass(frozen=True)
class FitSettings:
    """How a prompt is fitted without training (`motion/fitted.py`). Every field but the time budget is part of the
    fit's cache key: a fit that ran all its steps is the same whatever budget it had (one the budget stopped is
    never cached).

    The defaults are the fast fit; `FitSettings.reference()` is the fit before it (fit version 1: `path`
    "reference", 100 steps of Adam at a constant 0.02), kept selectable and as the fit benchmark's reference.
    """

    steps: int | None = None        # Adam steps (the budget in steps); None = FIT_PASSES over the fitting faces: 200
                                    # steps that render all of them, 400 of two faces of four (`faces_per_step`);
                                    # the reference's fits ran 100 (`reference()`), each costing several fast ones
    max_seconds: float = 120.0      # wall-clock budget; the fit stops at whichever comes first
    batch: int = 4                  # domain samples (faces) the direction is fitted on
    faces_per_step: int | None = None  # faces a step renders, in turn (step k: faces k·n … k·n + n − 1, mod batch):
                                    # None = 2 on the CPU for the fast path (there a step costs in proportion to its
                                    # faces, and a step on two gains about what one on four does), all of them
                                    # elsewhere (a GPU renders four about as fast as one)
    frames: int = 4                 # frames of the fitting clip (the paper trains on 4)
    lr: float = 0.02                # Adam learning rate on A (betas (0, 0.999) as in the paper), at the start
    decay: str = "hold-cosine"      # the rate over the steps: "hold-cosine" (held for the first 3/4 of them,
                                    # then half a cosine down to 0 after the last step) or "constant"
    path: str = "fast"              # "fast": the batched renderer's differentiable synthesis (FastRenderer.synthesis)
                                    # in `dtype`; "reference": the fp32 StyleGAN2's own (Generator.synthesis)
    dtype: str | None = None        # compute dtype of the fast path: None = bf16 where the device computes it
                                    # natively (CUDA, CPUs with AVX512-BF16/AMX), else fp32; the direction is fp32
    loss_size: int | None = 256     # the fast path renders the loss image only up to this side (CLIP sees 224²,
                                    # ArcFace pools to 256²): a 1024² StyleGAN2 skips its 512² and 1024² blocks;
                                    # None: the full resolution
    seed: int = 0                   # seeds of the fitting faces: seed, seed + 1, ...
    truncation: float | None = None  # None: the domain's
    negatives: bool = True          # contrast against the 28 expression prompts (else plain 1 − cos)
    weights: dict = field(default_factory=dict)  # LossWeights overrides, e.g. {"clip": 1.0}

    def __post_init__(self):
        if self.steps is not None:
            checks.whole("Fitting steps", self.steps, 1, 100_000)
        checks.number("The fitting time budget (seconds)", self.max_seconds, 1e-3, 1e9)
        checks.whole("The fitting batch", self.batch, 1, 64)
        if self.faces_per_step is not None:
            checks.whole("The faces of a fitting step", self.faces_per_step, 1, self.batch)
        checks.whole("Fitting frames", self.frames, 2, 64)
        checks.number("The fitting learning rate", self.lr, 1e-12, 1e3)
        checks.choice("The fitting learning-rate decay", self.decay, FIT_DECAYS)
        checks.choice("The fitting path", self.path, FIT_PATHS)
        if self.dtype is not None:
            checks.choice("The fitting dtype", self.dtype, FIT_DTYPES)
        if self.loss_size is not None and (checks.whole("The fitting loss size", self.loss_size, 4, 4096)
                                           & (self.loss_size - 1)):
            raise LganimError(f"The fitting loss size must be a power of two, got {self.loss_size}.")
        checks.whole("The fitting seed", self.seed, 0, MAX_SEED)
        if self.truncation is not None:
            checks.number("Truncation", self.truncation, 0.0, 1.0)
        self.loss_weights()

    @classmethod
    def reference(cls, **overrides) -> "FitSettings":
        """The reference fit (the one before the fast path): Generator.synthesis at full resolution, 100 steps of
        Adam at a constant 0.02."""
        return cls(**{"steps": 100, "path": "reference", "lr": 0.02, "decay": "constant", "loss_size": None,
                       **overrides})

    def key_dict(self) -> dict:
        """What determines a complete fit (the cache key's settings): every field but `max_seconds`."""
        key = asdict(self)
        key.pop("max_seconds")
        return key

    def loss_weights(self) -> LossWeights:
        """The LossWeights of the objective (defaults: the paper's) with `weights` applied."""
        return LossWeights.with_overrides(self.weights)


__all__ = ["PAPER_EXPRESSIONS", "SCHEDULES", "DRIVEN_CHANNELS", "REGIONS", "STYLE_MODES", "DRIVING_KINDS",
           "EDIT_CROP_RANGES", "MAX_EDIT_PROMPTS", "MAX_EDIT_AMOUNT", "EDIT_CACHED_FACES",
           "EDIT_HASHED_PHOTO_BYTES", "VIDEO_EDIT_RAMP",
           "LIVE_HOLD_SECONDS", "LIVE_EASE_SECONDS", "DEFAULT_LIVE_SMOOTH", "LIVE_STATS_WINDOW", "LIVE_STREAM_EVERY",
           "LIVE_TIME_LIMIT", "LIVE_RECORD_FPS",
           "StepProgress", "LossProgress", "StageProgress", "paper_prompts", "GeneratorConfig", "MotionConfig",
           "LossWeights", "FIT_PATHS", "FIT_DECAYS", "FIT_DTYPES", "FIT_PASSES", "FitSettings"]
