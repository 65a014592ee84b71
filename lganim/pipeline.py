"""One request, one path: start codes → motion source → renderer → frames (→ output files).

    anim = Animator.from_pretrained("demo")
    result = anim("The person is smiling.", seed=1, num_frames=12)   # result.frames uint8 [B, T, H, W, 3]
    result.rerender(strength=0.5)                                    # same motion, no CLIP/fitting/motion model
    edit = anim.edit(seed=1, controls={"yaw": 10.0})                 # one edited still face (lganim/edit.py)
    anim("The person is smiling.", start=edit)                       # a clip that starts from it
    plan = anim.prepare(Request("The person is smiling.", seeds=[1, 2]))
    for chunk in anim.render(plan):                                  # chunk.frames uint8 [B, n, H, W, 3]
        ...

docs/architecture.md draws the flow. The motion is computed once per request (`prepare`); rendering composes
w[t] = w0 + strength · Δw[t] and never renders a frame twice: frame 0, when the motion source has already rendered
it, and every frame whose code equals frame 0's (strength 0) reuse its pixels.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import (
    DEFAULT_CHUNK,
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    FitSettings,
    LossProgress,
)
from .device import resolve_device, resolve_dtype
from .edit import Edit, Editor
from .errors import LganimError
from .face.composite import compose, place_crops
from .media.writers import write_video
from .models.clip import clip_from_state_dict
from .models.renderer import Renderer, make_renderer
from .models.stylegan2 import Generator, to_uint8
from .motion.fitted import FittedMotion, build_fitter
from .motion.source import Motion, MotionSource
from .motion.trained import TrainedMotion
from .request import EditRequest, Request
from .startcodes import PhotoEncoder, PhotoFace, seed_codes
from .weights.domain_files import DomainFiles, domain_files, resolve
from .weights.encoders import load_clip
from .weights.motion_files import (
    MOTION_CLIP_FILE,
    load_clip_text_tower,
    load_motion,
    load_official,
)
from .weights.registry import Domain, get_domain
from .weights.stylegan_files import load_generator


@dataclass
class Plan:
    """A request resolved to tensors: the start codes and the motion, computed once."""

    request: Request
    w0: torch.Tensor                        # [B, L, D] start codes
    motion: Motion                          # Δw [B, T, L, D] (+ transforms, audio, track)
    truncation: float                       # ψ the seeded start codes were drawn with
    photo: PhotoFace | None = None
    first_frames: torch.Tensor | None = None  # [B, 3, H, W] frame 0, when the motion source rendered it

    @property
    def ws(self) -> torch.Tensor:
        """W+ code of every frame, w[t] = w0 + strength · Δw[t]: [B, T, L, D]."""
        return self.w0[:, None] + self.request.strength * self.motion.offsets.to(self.w0)

    def to(self, device: torch.device | str) -> "Plan":
        """The same plan with its tensors on `device` (the CPU to keep it, or to send it to another process)."""
        first = None if self.first_frames is None else self.first_frames.to(device)
        motion = Motion(self.motion.offsets.to(device), self.motion.transforms, self.motion.audio, self.motion.track)
        return Plan(self.request, self.w0.to(device), motion, self.truncation, self.photo, first)


@dataclass
class FrameChunk:
    """Frames [start, start + n) of every clip in the batch."""

    start: int
    frames: np.ndarray                # uint8 [B, n, H, W, 3]


@dataclass
class AnimationResult:
    """The frames of a request, and what made them (so that they can be re-rendered or saved)."""

    frames: np.ndarray                # uint8 [B, T, H, W, 3]
    plan: Plan
    animator: "Animator" = field(repr=False)

    @property
    def ws(self) -> torch.Tensor:
        """[B, T, L, D] float32 on the CPU."""
        return self.plan.ws.float().cpu()

    @property
    def prompts(self) -> list[str]:
        return list(self.plan.request.prompts)

    @property
    def seeds(self) -> list[int | None]:
        return list(self.plan.request.seeds)

    @property
    def fps(self) -> int:
        return self.plan.request.fps

    @property
    def domain(self) -> str:
        return self.animator.domain.name

    def save(self, path: str | Path, index: int = 0) -> Path:
        """Write clip `index` as MP4 or GIF (by suffix) with exactly T frames (and the motion's audio, if any)."""
        return write_video(self.frames[index], path, self.fps, audio=self.plan.motion.audio)

    def rerender(self, *, strength: float | None = None, truncation: float | None = None,
                 fps: int | None = None) -> "AnimationResult":
        """The same motion with another strength (0: the still face; negative: the opposite motion), truncation ψ
        (seeded faces only) or fps, without running CLIP, fitting or the motion model again.

        Only fps changed: the same frames at the new rate. Otherwise the frames are rendered again, except frame 0
        when its code did not change.
        """
        plan, chunks = self.animator.rerender(self.plan, self.frames, strength=strength, truncation=truncation,
                                              fps=fps)
        frames = self.frames if chunks is None else np.concatenate([c.frames for c in chunks], axis=1)
        return AnimationResult(frames, plan, self.animator)


class Animator:
    """A domain's frozen StyleGAN2, a renderer and a motion source: prompts and faces in, frames out."""

    def __init__(self, domain: Domain, stylegan: Generator, renderer: Renderer, motion: MotionSource,
                 photos: PhotoEncoder | None = None, files: DomainFiles | None = None):
        self.domain, self.stylegan, self.renderer, self.motion = domain, stylegan, renderer, motion
        self.photos = photos or PhotoEncoder(domain, stylegan, None)
        self.files = files                  # the files it was loaded from (their cache keys); None: built in memory
        self._editor: Editor | None = None

    @classmethod
    def from_pretrained(cls, domain: str = "human", *, device: str = "auto", dtype: str | torch.dtype | None = None,
                        motion: str | Path | None = None, renderer: str = "fast",
                        fit_settings: FitSettings | None = None, chunk_size: int = DEFAULT_CHUNK) -> "Animator":
        """Load a domain's StyleGAN2 and motion source (downloading what is missing).

        motion: a folder written by `python -m lganim train`; a checkpoint file of the authors' training script
        (loaded with its fine-tuned CLIP); "fit" for training-free prompt fitting (cached per domain and prompt).
        None: the demo domain's own untrained checkpoint, and prompt fitting on the real domains (no trained
        motion weights exist for them). fit_settings: how prompts are fitted (default: `FitSettings()`).
        renderer: "fast" (batched, `models.renderer.FastRenderer`, tested against the reference) or "reference" (the
        fp32 StyleGAN2). `dtype` bf16/fp16 speeds up both. chunk_size: frames per synthesis call (streaming steps).
        """
        spec = get_domain(domain)
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        files = domain_files(spec)
        stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=dev, dtype=dt)
        source = load_motion_source(spec, files, stylegan, motion, fit_settings or FitSettings())
        return cls(spec, stylegan, make_renderer(renderer, stylegan, dt, chunk_size), source,
                   PhotoEncoder(spec, stylegan, files.encoder), files)

    @property
    def device(self) -> torch.device:
        return self.stylegan.device

    @property
    def chunk_size(self) -> int | None:
        """Frames per synthesis call: the granularity of streaming."""
        return self.renderer.chunk_size

    @chunk_size.setter
    def chunk_size(self, value: int | None) -> None:
        self.renderer.chunk_size = value

    def load(self) -> None:
        """Load now what would load on first use (the photo encoder, a fitted source's loss CLIP): a server does it
        at startup, so that no request waits for it (and on ZeroGPU the weights sit on the GPU from the start)."""
        if self.photos.source is not None:
            self.photos.encoder()
        if hasattr(self.motion, "load"):
            self.motion.load()

    # -- editing a still face -------------------------------------------------------------------------------
    @property
    def editor(self) -> Editor:
        """The domain's `Editor` (made on first use): its control directions, the faces and prompts it edited."""
        if self._editor is None:
            fitter = self.motion.fitter if isinstance(self.motion, FittedMotion) else None
            self._editor = Editor(self.domain, self.stylegan, self.renderer, self.photos, self.files, fitter=fitter)
        return self._editor

    def edit(self, seed: int = 0, image=None, controls: dict[str, float] | None = None,
             prompts: dict[str, float] | None = None, *, truncation: float | None = None, face_index: int = 0,
             paste_back: bool = True, refine_steps: int = 0, progress: LossProgress | None = None) -> Edit:
        """One still face (a seed's, or a photo's) edited: `controls` channel -> value in its track unit (yaw and
        pitch in degrees, expressions in inter-ocular distances, roll/tx/ty/scale move the crop; a channel left out
        is 0), `prompts` sentence -> amount from -1 to 1 of its fitted expression. Returns an `Edit` (`.image` uint8
        [H, W, 3], `.w` the W+ code [1, L, D]); `anim(prompt, start=edit)` animates from it. A repeated edit of the
        same face renders one frame and nothing else (see lganim/edit.py)."""
        request = EditRequest(seed, image, controls, prompts, truncation, face_index, paste_back, refine_steps)
        return self.editor.edit(request, progress)

    # -- planning -------------------------------------------------------------------------------------------
    def prepare(self, request: Request, *, source: MotionSource | None = None,
                generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Plan:
        """Start codes and motion of a request. source: another motion source for this request (default: the
        Animator's); generator: randomness of the motion source; progress(step, total, loss): follows the slow
        optimisations (photo refinement, fitting a prompt not seen before)."""
        source = source or self.motion
        if source.needs_prompts and not request.prompts:
            raise LganimError('Give at least one prompt: describe the motion, e.g. "The person is smiling."')
        psi = self.domain.truncation if request.truncation is None else request.truncation
        start, photo = request.start, None
        if start is not None:
            self._check_start(start)
            psi, photo = start.truncation, start.photo
        elif request.image is not None:
            photo = self.photos.read(request.image, request.face_index, request.paste_back)
        with torch.inference_mode():
            if start is not None:                                                          # an edited face
                w0 = start.w.to(self.device, self.stylegan.dtype).expand(request.batch, -1, -1).contiguous()
            elif photo is not None:
                w0 = self.photos.invert(photo, request.refine_steps, progress)               # [1, L, D]
                w0 = w0.expand(request.batch, -1, -1).contiguous()                          # [B, L, D]
            else:
                w0 = seed_codes(self.stylegan, request.seeds, psi)                         # [B, L, D]
            first = self.renderer(w0) if source.needs_first_frames else None               # [B, 3, H, W]
            motion = source.motion(request, w0, first, generator=generator, progress=progress)
        want = (request.batch, request.num_frames, self.stylegan.num_ws, self.stylegan.style_dim)
        if tuple(motion.offsets.shape) != want:
            raise LganimError(f"The motion source made offsets of shape {tuple(motion.offsets.shape)}, "
                              f"expected {want}.")
        if start is not None and start.move is not None:          # the edit's crop move, under the motion's moves
            held = np.broadcast_to(np.asarray(start.move, np.float64), (request.num_frames, 3, 3))
            motion = Motion(motion.offsets, compose(motion.transforms, held), motion.audio, motion.track)
        return Plan(request, w0, motion, psi, photo, first)

    def _check_start(self, start) -> None:
        """An edit is a start code of this Animator's domain and StyleGAN2."""
        if start.domain != self.domain.name:
            raise LganimError(f"This edit is of a {start.domain} face: animate it with the {start.domain} domain, "
                              f"not {self.domain.name}.")
        want = (1, self.stylegan.num_ws, self.stylegan.style_dim)
        if tuple(start.w.shape) != want:
            raise LganimError(f"The edit's W+ code has shape {tuple(start.w.shape)}, this StyleGAN2 needs {want}.")

    def replan(self, plan: Plan, *, strength: float | None = None, truncation: float | None = None,
               fps: int | None = None) -> Plan:
        """The same motion with other settings: new start codes only when ψ changes a seeded face (not an edited
        one: its code is the edit's)."""
        changes = {k: v for k, v in dict(strength=strength, truncation=truncation, fps=fps).items() if v is not None}
        request = plan.request.with_changes(**changes)
        if (plan.photo is not None or request.start is not None or truncation is None
                or float(truncation) == plan.truncation):
            return Plan(request, plan.w0, plan.motion, plan.truncation, plan.photo, plan.first_frames)
        w0 = seed_codes(self.stylegan, request.seeds, request.truncation)
        return Plan(request, w0, plan.motion, request.truncation, plan.photo, None)

    def rerender(self, plan: Plan, frames: np.ndarray, *, strength: float | None = None,
                 truncation: float | None = None, fps: int | None = None
                 ) -> tuple[Plan, Iterator[FrameChunk] | None]:
        """A rendered plan (its `frames` uint8 [B, T, H, W, 3]) with other settings: the new plan, and its frames
        as they render (None: the frames are the same, only fps changed). Frame 0 is reused when its code is."""
        new = self.replan(plan, strength=strength, truncation=truncation, fps=fps)
        if torch.equal(new.ws, plan.ws):
            return new, None
        first = np.asarray(frames[:, 0]) if torch.equal(new.w0, plan.w0) else None
        return new, self.render(new, first)

    # -- rendering ------------------------------------------------------------------------------------------
    def render(self, plan: Plan, first: np.ndarray | None = None) -> Iterator[FrameChunk]:
        """All B·T frames in time order, streamed as FrameChunks while the renderer finishes them: a block of
        time steps at a time (about `chunk_size` frames), so that memory does not grow with the clip.

        first: frame 0 of every clip as an earlier render of the same start codes output it (uint8 [B, H, W, 3]);
        by default the motion source's rendered first frames, if any, else it is rendered here. A frame whose code
        and crop move equal frame 0's (strength 0, or a still stretch of a track) reuses frame 0's pixels.
        """
        request, offsets, moves = plan.request, plan.motion.offsets, plan.motion.transforms   # [B, T, L, D]
        b, t = request.batch, request.num_frames
        w0 = plan.w0                                                             # [B, L, D]
        ws0 = w0 + request.strength * offsets[:, 0].to(w0)                       # frame 0's codes
        if first is None and plan.first_frames is not None:
            first = self.output(plan, plan.first_frames[:, None], [0])[:, 0]
        steps = max(1, (self.renderer.chunk_size or DEFAULT_CHUNK) // b)        # time steps rendered per call

        def reused(k: int) -> bool:
            if k == 0:
                return first is not None
            same_move = moves is None or np.array_equal(moves[k], moves[0])
            return same_move and torch.equal(w0 + request.strength * offsets[:, k].to(w0), ws0)

        def block_frames(keys: list[int], todo: list[int]) -> FrameChunk:
            """The chunk of time steps `keys`, rendering `todo` (the others are frame 0)."""
            nonlocal first
            rendered: dict[int, np.ndarray] = {}                                 # time step -> [B, H', W', 3]
            if todo:
                ws = w0[:, None] + request.strength * offsets[:, todo].to(w0)   # [B, n, L, D]
                flat = ws.transpose(0, 1).reshape(len(todo) * b, *ws.shape[2:])   # [n·B, L, D], time-major
                with torch.inference_mode():
                    images = torch.cat([x.float() for x in self.renderer.stream(flat)])     # [n·B, 3, H, W]
                block = images.reshape(len(todo), b, *images.shape[1:]).transpose(0, 1)    # [B, n, 3, H, W]
                rendered = dict(zip(todo, self.output(plan, block, todo).transpose(1, 0, 2, 3, 4)))
                first = rendered.get(0, first)
            return FrameChunk(keys[0], np.stack([rendered.get(k, first) for k in keys], axis=1))

        keys, todo = [], []
        for k in range(t):
            again = reused(k)
            if not again and keys and not todo:                                  # frame-0 frames: out at once
                yield block_frames(keys, todo)
                keys = []
            keys.append(k)
            if not again:
                todo.append(k)
            if len(todo) == steps:
                yield block_frames(keys, todo)
                keys, todo = [], []
        if keys:
            yield block_frames(keys, todo)

    def output(self, plan: Plan, images: torch.Tensor, steps: Sequence[int]) -> np.ndarray:
        """Rendered images [B, n, 3, H, W] of time steps `steps` → output frames uint8 [B, n, H', W', 3]: the
        crops, or pasted back into the photo; where the motion moves the face (roll, shift, scale of a driving
        head), the crop moves in the photo, or within its own frame without one."""
        b, n = images.shape[:2]
        frames = to_uint8(images.reshape(b * n, *images.shape[2:]))             # [B·n, H, W, 3]
        frames = frames.reshape(b, n, *frames.shape[1:]).numpy()
        moves = None if plan.motion.transforms is None else plan.motion.transforms[list(steps)]   # [n, 3, 3]
        canvas, aligned = (None, None) if plan.photo is None else (plan.photo.canvas, plan.photo.aligned)
        if canvas is None and moves is None:
            return frames
        return np.stack([place_crops(clip, canvas, aligned, moves) for clip in frames])

    def collect(self, plan: Plan, first: np.ndarray | None = None) -> AnimationResult:
        """Render a plan to the end: the result holds all frames."""
        frames = np.concatenate([c.frames for c in self.render(plan, first)], axis=1)
        return AnimationResult(frames, plan, self)

    # -- one call -------------------------------------------------------------------------------------------
    def __call__(self, prompts: str | Sequence[str], seed: int | Sequence[int] = 0, *, image=None,
                 num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
                 truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, face_index: int = 0,
                 paste_back: bool = True, refine_steps: int = 0, start: Edit | None = None,
                 source: MotionSource | None = None, generator: torch.Generator | None = None,
                 progress: LossProgress | None = None) -> AnimationResult:
        """Animate: B clips (one per prompt and/or seed) of `num_frames` frames; see `Request` for the values.
        start: an `Edit` (`anim.edit(...)`) every clip starts from, instead of the seed or photo."""
        request = Request(prompts, seed, image, num_frames, fps, strength, truncation, schedule, face_index,
                          paste_back, refine_steps, start)
        return self.collect(self.prepare(request, source=source, generator=generator, progress=progress))

    def stream(self, request: Request, *, source: MotionSource | None = None,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Iterator[FrameChunk]:
        """`prepare` then `render`: chunks of frames arrive while they are rendered."""
        yield from self.render(self.prepare(request, source=source, generator=generator, progress=progress))


def load_motion_source(domain: Domain, files: DomainFiles, stylegan: Generator, motion: str | Path | None,
                       fit_settings: FitSettings) -> MotionSource:
    """The motion source `motion` names for a loaded StyleGAN2 (see `Animator.from_pretrained`)."""
    if str(motion) == "fit" or (motion is None and files.motion is None):
        return FittedMotion(build_fitter(domain, files, stylegan, settings=fit_settings))
    device, dtype = stylegan.device, stylegan.dtype
    path = Path(motion) if motion is not None else files.motion
    if path.is_file():                                   # a checkpoint of the authors' training script
        model, clip_state = load_official(path, stylegan.style_dim, device=device, dtype=dtype)
        clip = (clip_from_state_dict(clip_state, device, dtype, name=f"fine-tuned CLIP of {path.name}")
                if clip_state else load_clip(resolve(files.clip_motion), device=device, dtype=dtype))
    elif (path / "config.json").is_file():
        model = load_motion(path, device=device, dtype=dtype)
        clip = load_clip(resolve(files.clip_motion), device=device, dtype=dtype)
        if (path / MOTION_CLIP_FILE).is_file():
            load_clip_text_tower(clip, path / MOTION_CLIP_FILE)
    else:
        raise LganimError(f"{path} is not a motion checkpoint folder (no config.json in it).")
    if model.config.num_ws != stylegan.num_ws or model.config.style_dim != stylegan.style_dim:
        raise LganimError(f"The motion model in {path} drives {model.config.num_ws}×{model.config.style_dim} W+ "
                          f"codes but the {domain.name} StyleGAN2 has {stylegan.num_ws}×{stylegan.style_dim}.")
    return TrainedMotion(model, clip)


__all__ = ["Plan", "FrameChunk", "AnimationResult", "Animator", "load_motion_source"]
