"""The request path: one Animator per domain, one door per kind of request, each the same shape (the request in,
the result out; request.py lists them):

    anim = Animator.from_pretrained("demo")
    result = anim("The person is smiling.", seed=1, num_frames=12)   # or anim(Request(prompts=..., seeds=[1, 2]))
    result.frames                                                    # uint8 [B, T, H, W, 3], rendered when asked
    result.save("smile.mp4")                                         # streamed into the file (outputs.py)
    result.rerender(strength=0.5)                                    # same motion, no CLIP/fitting/motion model
    anim.drive(DriveRequest(driving=Driving(kind="audio", source="speech.wav")))   # a face driven by a track
    anim.predict(PredictRequest(seed=7, samples=4))                  # plausible futures: one result each
    edit = anim.edit(seed=1, controls={"yaw": 10.0})                 # one edited still face (lganim/edit.py)
    anim("The person is smiling.", start=edit)                       # a clip that starts from it
    session = anim.live(LiveRequest(seed=1))                         # frames in, the puppet's frames out
    anim.edit_video(VideoEditRequest(video="vlog.mp4", prompt="The person is smiling.")).save("e.mp4")   # a video

docs/architecture.md draws the flow. A door computes the motion once (`prepare`: start codes, then the motion
source); the result renders w[t] = w0 + strength · Δw[t] when its frames are asked for (`render`, chunk by chunk,
never a frame twice: frame 0, when the motion source has already rendered it, and every frame whose code equals
frame 0's (strength 0) reuse its pixels).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
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
    StageProgress,
    StepProgress,
)
from .device import resolve_device, resolve_dtype
from .driving import driven_motion, driving_track_of
from .edit import Edit, Editor
from .errors import LganimError
from .face.composite import compose, place_crops
from .live import LiveSession
from .models.renderer import Renderer, make_renderer
from .models.stylegan2 import Generator, to_uint8
from .motion.calibration import calibration_seconds, load_directions
from .motion.directions import ControlDirections
from .motion.fit_time import about
from .motion.fitted import FittedMotion
from .motion.futures import futures
from .motion.loading import load_motion_source
from .motion.presets import bundle_for, load_presets
from .motion.source import LanguageMotion, Motion, MotionSource
from .outputs import Outputs, OutputWriter, Written
from .plan import FrameChunk, Plan
from .request import DriveRequest, EditRequest, LiveRequest, PredictRequest, Request, VideoEditRequest
from .startcodes import PhotoEncoder, seed_codes
from .video_edit import prepare_video_edit
from .weights.domain_files import DomainFiles, domain_files, resolve
from .weights.registry import Domain, get_domain
from .weights.stylegan_files import load_generator


class AnimationResult:
    """The clips of a request: what made them (`plan`: start codes and motion, computed) and their frames, rendered
    when first asked for (`frames`, kept) or streamed (`chunks`, `save`, `write`: nothing kept).

    render: what makes the frames of a plan, render(plan, steps) (default: the Animator's renderer, w[t] = w0 +
    strength · Δw[t]; an edited video: its own frames, edited as they are read, lganim.video_edit)."""

    def __init__(self, plan: Plan, animator: Animator, *, frames: np.ndarray | None = None,
                 first: np.ndarray | None = None, info: dict | None = None,
                 render: Callable[[Plan, int | None], Iterator[FrameChunk]] | None = None):
        self.plan, self.animator = plan, animator
        self._frames = frames                   # uint8 [B, T, H, W, 3] once rendered
        self._first = first                     # uint8 [B, H, W, 3]: frame 0 of an earlier render of w0, reused
        self.info = info or {}                  # how the clips were drawn (a predicted future's prompt and seeds; an
                                                # edited video's preview, lost frames and scaling)
        self._render = render

    @property
    def frames(self) -> np.ndarray:
        """uint8 [B, T, H, W, 3] (rendered on first use, then kept)."""
        if self._frames is None:
            self._frames = np.concatenate([c.frames for c in self.chunks()], axis=1)
        return self._frames

    def chunks(self, steps: int | None = None) -> Iterator[FrameChunk]:
        """The frames in time order, chunk by chunk as they render (at once when already rendered); steps: at most
        this many time steps a chunk (a live view that should change every few frames), None: as many as one call
        of the renderer holds."""
        if self._frames is not None:
            yield FrameChunk(0, self._frames)
        elif self._render is not None:
            yield from self._render(self.plan, steps)
        else:
            yield from self.animator.render(self.plan, self._first, steps=steps)

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
    def fps(self) -> float:
        """Frames per second of its videos."""
        return self.plan.fps

    @property
    def domain(self) -> str:
        return self.animator.domain.name

    def write(self, outputs: Outputs, *, progress: StepProgress | None = None) -> Written:
        """Stream the frames into the files `outputs` asks for (outputs.py); progress(done, total) per chunk."""
        with OutputWriter(outputs, self.plan) as writer:
            for chunk in self.chunks():
                writer.add(chunk)
                if progress is not None:
                    progress(writer.done, self.plan.request.num_frames)
            writer.finish()
        return writer.finish_derived()

    def save(self, path: str | Path, index: int = 0) -> Path:
        """Write clip `index` as MP4 (with the motion's sound, if any) or GIF, by suffix, with exactly T frames."""
        if not 0 <= index < self.plan.request.batch:
            raise LganimError(f"There is no clip {index}: the result has {self.plan.request.batch}.")
        videos = [Path(path) if i == index else None for i in range(self.plan.request.batch)]
        return self.write(Outputs(videos=videos)).videos[index]

    def rerender(self, *, strength: float | None = None, truncation: float | None = None,
                 fps: int | None = None) -> AnimationResult:
        """The same motion with another strength (0: the still face; negative: the opposite motion), truncation ψ
        (seeded faces only) or fps, without running CLIP, fitting or the motion model again. Only fps changed: the
        same frames at the new rate; otherwise frame 0 is reused when its code did not change."""
        plan = self.animator.replan(self.plan, strength=strength, truncation=truncation, fps=fps)
        if torch.equal(plan.ws, self.plan.ws):
            return AnimationResult(plan, self.animator, frames=self._frames, first=self._first, render=self._render)
        first = self._first if self._frames is None else self._frames[:, 0]
        return AnimationResult(plan, self.animator, first=first if torch.equal(plan.w0, self.plan.w0) else None,
                               render=self._render)


class Animator:
    """A domain's frozen StyleGAN2, a renderer and a motion source: prompts and faces in, frames out."""

    def __init__(self, domain: Domain, stylegan: Generator, renderer: Renderer, motion: MotionSource | None,
                 photos: PhotoEncoder | None = None, files: DomainFiles | None = None, *,
                 directions: ControlDirections | None = None):
        self.domain, self.stylegan, self.renderer, self.motion = domain, stylegan, renderer, motion
        self.photos = photos or PhotoEncoder(domain, stylegan, None)
        self.files = files                  # the files it was loaded from (their cache keys); None: built in memory
        self._editor: Editor | None = None
        self._directions = directions       # the control directions (None: loaded on first use from the files)

    @classmethod
    def from_pretrained(cls, domain: str = "human", *, device: str = "auto", dtype: str | torch.dtype | None = None,
                        motion: str | Path | None = None, renderer: str = "fast",
                        fit_settings: FitSettings | None = None, chunk_size: int = DEFAULT_CHUNK,
                        presets: str | Path | None = None) -> "Animator":
        """Load a domain's StyleGAN2 and motion source (downloading what is missing).

        motion: a folder written by `python -m lganim train`; a checkpoint file of the authors' training script
        (loaded with its fine-tuned CLIP); "fit" for training-free prompt fitting (cached per domain and prompt).
        None: the demo domain's own untrained checkpoint, and prompt fitting on the real domains (no trained
        motion weights exist for them). fit_settings: how prompts are fitted (default: `FitSettings()`).
        renderer: "fast" (batched, `models.renderer.FastRenderer`, tested against the reference) or "reference" (the
        fp32 StyleGAN2). `dtype` bf16/fp16 speeds up both. chunk_size: frames per synthesis call (streaming steps).
        presets: a bundle of prompts fitted ahead and control directions (`python -m lganim prefit`): a folder or a
        Hub repo USER/NAME[@REVISION]; a preset prompt fits nothing, and the directions calibrate nothing. None:
        the bundle of this domain that `LGANIM_PRESETS` names, if any. A bundle made for another domain, generator
        file, fit settings or fit version is refused in one line (motion/presets.py).
        """
        spec = get_domain(domain)
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        settings = fit_settings or FitSettings()
        files = domain_files(spec)
        bundle = bundle_for(spec, presets)                  # its index read: a wrong name fails before any loading
        stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=dev, dtype=dt)
        loaded = None if bundle is None else load_presets(bundle, spec, files, stylegan, settings)
        source = load_motion_source(spec, files, stylegan, motion, settings)
        if loaded is not None and isinstance(source, FittedMotion):
            source.fitter.preset(loaded.prompts)
        return cls(spec, stylegan, make_renderer(renderer, stylegan, dt, chunk_size), source,
                   PhotoEncoder(spec, stylegan, files.encoder), files,
                   directions=None if loaded is None else loaded.directions)

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

    # -- the control directions ----------------------------------------------------------------------------
    @property
    def directions(self) -> ControlDirections:
        """The domain's control directions (what a motion track or a slider moves W+ along): loaded once, on
        first use (calibrated then on a GPU; on a CPU an uncalibrated domain gets its fallback directions)."""
        return self.load_directions()

    def load_directions(self, progress: StageProgress | None = None) -> ControlDirections:
        """`directions`, with progress of a calibration (stage, done, total)."""
        if self._directions is None:
            calibrating = None if progress is None else (
                lambda done, total: progress("Calibrating the control directions", done, total))
            self._directions = load_directions(self.domain, self.files or domain_files(self.domain), self.stylegan,
                                               calibrate_if_missing=self.device.type == "cuda", progress=calibrating)
        return self._directions

    def calibration_seconds(self) -> float:
        """About how long the first request that needs the control directions calibrates them here: 0 when they are
        loaded already (or came with presets), cached, or take milliseconds (motion/calibration.py)."""
        if self._directions is not None:
            return 0.0
        return calibration_seconds(self.domain, self.files or domain_files(self.domain), self.stylegan)

    # -- editing a still face -------------------------------------------------------------------------------
    @property
    def editor(self) -> Editor:
        """The domain's `Editor` (made on first use): the faces and prompts it edited, this Animator's directions."""
        if self._editor is None:
            fitter = self.motion.fitter if isinstance(self.motion, FittedMotion) else None
            self._editor = Editor(self.domain, self.stylegan, self.renderer, self.photos, self.files,
                                  directions=self.load_directions, fitter=fitter)
        return self._editor

    def edit(self, request: EditRequest | None = None, *, progress: StageProgress | None = None, **values) -> Edit:
        """One still face (a seed's, or a photo's) edited: `EditRequest(...)`, or its values as keywords —
        `controls` channel -> value in its track unit (yaw and pitch in degrees, expressions in inter-ocular
        distances, roll/tx/ty/scale move the crop; a channel left out is 0), `prompts` sentence -> amount from -1 to
        1 of its fitted expression. Returns an `Edit` (`.image` uint8 [H, W, 3], `.w` the W+ code [1, L, D]);
        `anim(prompt, start=edit)` animates from it. A repeated edit of the same face renders one frame and nothing
        else (see lganim/edit.py)."""
        if request is not None and values:
            raise LganimError("Give an EditRequest or its values as keywords, not both.")
        request = request if request is not None else EditRequest(**values)
        return self.editor.edit(request, optimising(progress, "Optimising"))

    # -- planning -------------------------------------------------------------------------------------------
    def prepare(self, request: Request, *, source: MotionSource | None = None,
                generator: torch.Generator | None = None, progress: StageProgress | None = None) -> Plan:
        """Start codes and motion of a request. source: another motion source for this request (default: the
        Animator's); generator: randomness of the motion source; progress(stage, step, steps): follows the slow
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
            announce(progress, "Finding the face in the photo")
            photo = self.photos.read(request.image, request.face_index, request.paste_back)
        with torch.inference_mode():
            if start is not None:                                                          # an edited face
                w0 = start.w.to(self.device, self.stylegan.dtype).expand(request.batch, -1, -1).contiguous()
            elif photo is not None:
                announce(progress, "Encoding the photo")                  # e4e, loaded on the first photo
                refining = optimising(progress, "Refining the photo")
                w0 = self.photos.invert(photo, request.refine_steps, refining)              # [1, L, D]
                w0 = w0.expand(request.batch, -1, -1).contiguous()                          # [B, L, D]
            else:
                w0 = seed_codes(self.stylegan, request.seeds, psi)                         # [B, L, D]
            first = self.renderer(w0) if source.needs_first_frames else None               # [B, 3, H, W]
            fitting = "Fitting the motion to the prompt"
            fitted = isinstance(source, FittedMotion)
            if fitted and source.unfitted(request.prompts):        # its first step is slow: say it begins, and how long
                fitting += f" ({about(source.fit_seconds(request.prompts))} on {self.device.type})"
                announce(progress, fitting, source.fitter.settings.steps)
            motion = source.motion(request, w0, first, generator=generator, progress=optimising(progress, fitting))
        want = (request.batch, request.num_frames, self.stylegan.num_ws, self.stylegan.style_dim)
        if tuple(motion.offsets.shape) != want:
            raise LganimError(f"The motion source made offsets of shape {tuple(motion.offsets.shape)}, "
                              f"expected {want}.")
        if start is not None and start.move is not None:          # the edit's crop move, under the motion's moves
            held = np.broadcast_to(np.asarray(start.move, np.float64), (request.num_frames, 3, 3))
            motion = Motion(motion.offsets, compose(motion.transforms, held), motion.audio, motion.track)
        warnings = tuple(source.warnings(request.prompts)) if fitted else ()        # fits a time budget stopped
        return Plan(request, w0, motion, psi, photo, first, warnings=warnings)

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
            return dataclasses.replace(plan, request=request)
        w0 = seed_codes(self.stylegan, request.seeds, request.truncation)
        return dataclasses.replace(plan, request=request, w0=w0, truncation=request.truncation, first_frames=None)

    # -- rendering ------------------------------------------------------------------------------------------
    def render(self, plan: Plan, first: np.ndarray | None = None, *, steps: int | None = None) -> Iterator[FrameChunk]:
        """All B·T frames in time order, streamed as FrameChunks while the renderer finishes them: a block of
        time steps at a time (about `chunk_size` frames), so that memory does not grow with the clip.

        first: frame 0 of every clip as an earlier render of the same start codes output it (uint8 [B, H, W, 3]);
        by default the motion source's rendered first frames, if any, else it is rendered here. A frame whose code
        and crop move equal frame 0's (strength 0, or a still stretch of a track) reuses frame 0's pixels.
        steps: at most this many time steps a chunk (None: as many as one synthesis call of `chunk_size` holds).
        """
        request, offsets, moves = plan.request, plan.motion.offsets, plan.motion.transforms   # [B, T, L, D]
        b, t = request.batch, request.num_frames
        w0 = plan.w0                                                             # [B, L, D]
        ws0 = w0 + request.strength * offsets[:, 0].to(w0)                       # frame 0's codes
        if first is None and plan.first_frames is not None:
            first = self.output(plan, plan.first_frames[:, None], [0])[:, 0]
        per_call = max(1, (self.renderer.chunk_size or DEFAULT_CHUNK) // b)     # time steps one call renders
        steps = per_call if steps is None else max(1, min(steps, per_call))

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

    # -- the doors ------------------------------------------------------------------------------------------
    def __call__(self, prompts: str | Sequence[str] | Request = (), seed: int | Sequence[int] = 0, *, image=None,
                 num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
                 truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, face_index: int = 0,
                 paste_back: bool = True, refine_steps: int = 0, start: Edit | None = None,
                 source: MotionSource | None = None, generator: torch.Generator | None = None,
                 progress: StageProgress | None = None) -> AnimationResult:
        """Animate: a `Request`, or its values — B clips (one per prompt and/or seed) of `num_frames` frames (see
        `Request`); start: an `Edit` (`anim.edit(...)`) every clip starts from, instead of the seed or photo.
        source: another motion source (default: the domain's language motion); generator: its randomness.
        The motion is computed here; the frames when the result's are asked for."""
        if isinstance(prompts, Request):
            request = prompts
        else:
            request = Request(prompts=prompts, seeds=seed, image=image, num_frames=num_frames, fps=fps,
                              strength=strength, truncation=truncation, schedule=schedule, face_index=face_index,
                              paste_back=paste_back, refine_steps=refine_steps, start=start)
        return AnimationResult(self.prepare(request, source=source, generator=generator, progress=progress), self)

    def drive(self, request: DriveRequest, *, progress: StageProgress | None = None) -> AnimationResult:
        """A face driven by a video, a motion track, speech or text (`DriveRequest`; lganim.driving): its track
        through the control directions, at the driving video's own frame times or at `fps`, with its sound (and a
        prompt's motion on top)."""
        if request.prompt is not None and not isinstance(self.motion, LanguageMotion):
            raise LganimError("This domain's motion source cannot add a prompt's motion on top of a driving track.")
        track, sound = driving_track_of(request, progress)
        if progress is not None:
            progress("Finding the control directions", 0, 0)
        driven = driven_motion(request, track, sound, self.load_directions(progress), self.motion)
        plan = self.prepare(request.as_request(driven.num_frames, driven.fps), source=driven.source,
                            progress=progress)
        return AnimationResult(dataclasses.replace(plan, video_fps=driven.video_fps, envelope=driven.envelope), self)

    def predict(self, request: PredictRequest, *, progress: StageProgress | None = None) -> list[AnimationResult]:
        """Plausible futures of one face (`PredictRequest`): one result per future, each with its `info` (the
        prompt it animates and the seeds it was drawn with)."""
        drawn = futures(self.motion, self.load_directions(progress), self.domain.subject, request.samples,
                        request.seed or 0, request.num_frames, request.fps, request.prompt, request.diversity)
        results = []
        for k, future in enumerate(drawn):
            if progress is not None:
                progress("Drawing the futures", k, len(drawn))
            plan = self.prepare(request.as_request(future.prompt), source=future.source, generator=future.generator,
                                progress=progress)
            results.append(AnimationResult(plan, self, info=future.info))
        return results

    def live(self, request: LiveRequest | None = None) -> LiveSession:
        """A live session (`LiveRequest`; lganim.live): camera frames in, the puppet's frames out, one at a time."""
        return LiveSession(self, request, directions=self.directions)

    def edit_video(self, request: VideoEditRequest, *, progress: StageProgress | None = None) -> AnimationResult:
        """An existing video's face edited in every frame (`VideoEditRequest`; lganim.video_edit): a prompt's fitted
        expression and/or control offsets, at the video's own frame times, with its own sound. The face is tracked
        and the prompt fitted here; the frames are edited when the result's are asked for. `info` holds a one-frame
        preview (original and edited), the frames where the face was lost (passed through unedited) and the frame
        size (the video's, or scaled down to MAX_VIDEO_SIDE)."""
        plan, edit, info = prepare_video_edit(request, self.editor, self.renderer.chunk_size, progress)
        return AnimationResult(plan, self, info=info, render=edit.render)


def announce(progress: StageProgress | None, stage: str, total: int = 0) -> None:
    """Say that a slow stage begins (step 0 of `total`; 0: a stage without steps), before its first step ends: a
    terminal shows its bar, the app its status line, at once."""
    if progress is not None:
        progress(stage, 0, total)


def optimising(progress: StageProgress | None, stage: str):
    """A slow optimisation's progress(step, steps, loss) as `progress`'s stage."""
    return None if progress is None else (lambda step, steps, loss: progress(stage, step, steps))


__all__ = ["Plan", "FrameChunk", "AnimationResult", "Animator", "announce", "optimising"]
