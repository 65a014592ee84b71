"""Orchestration: start codes → motion → batched synthesis → uint8 frames, streamed in chunks.

    anim = Animator.from_pretrained("demo")
    result = anim("The person is smiling.", seed=1, num_frames=12)    # result.frames uint8 [B, T, H, W, 3]
    for chunk in anim.stream("The person is smiling.", seed=1):       # chunk.frames uint8 [B, n, H, W, 3]
        ...

Where the motion Δw comes from is a strategy with one method, `offsets(prompts, w0, first_frames,
num_frames, schedule, generator) -> Δw [B, T, L, D]` (DESIGN.md §1).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .config import AnimationSettings
from .device import resolve_device, resolve_dtype
from .errors import LganimError
from .hub import Domain, get_domain
from .stylegan2 import Generator, to_uint8

if TYPE_CHECKING:
    from .align import AlignedFace

MOTION_CLIP_FILE = "clip_motion.safetensors"  # fine-tuned motion CLIP text tower written by `lganim train`
MAX_BATCH = 16          # clips per request
DEFAULT_CHUNK = 16      # frames rendered per synthesis call on the reference path
MAX_VIDEO_SIDE = 1024   # pasted-back videos are at most this wide/high (the photo is scaled down)


@dataclass
class PhotoFace:
    """A user's photo, the face found in it, and the photo the animated face is pasted back into."""

    aligned: "AlignedFace"            # crop at the generator's resolution + where it sits in `canvas`
    canvas: np.ndarray | None         # uint8 [H, W, 3] (photo scaled to ≤ MAX_VIDEO_SIDE); None: no paste-back


@dataclass
class Plan:
    """Everything needed to render a request: the W+ code of every frame."""

    ws: torch.Tensor                  # [B, T, L, D]
    prompts: list[str]
    seeds: list[int | None]
    settings: AnimationSettings
    photo: PhotoFace | None = None


@dataclass
class FrameChunk:
    """Frames [start, start + n) of every clip in the batch."""

    start: int
    frames: np.ndarray                # uint8 [B, n, H, W, 3]


@dataclass
class AnimationResult:
    frames: np.ndarray                # uint8 [B, T, H, W, 3]
    ws: torch.Tensor                  # [B, T, L, D] float32 on the CPU
    prompts: list[str]
    seeds: list[int | None]
    fps: int
    domain: str

    def save(self, path: str | Path, index: int = 0) -> Path:
        """Write clip `index` as MP4 or GIF (by suffix) with exactly T frames."""
        from .video import write_video
        return write_video(self.frames[index], path, self.fps)


class TrainedMotion:
    """Δw from the paper's recurrent generator: CLIP text + CLIP image of the first frame → LatentRecurrent → Mapper."""

    def __init__(self, model, clip):
        self.model, self.clip = model, clip

    def offsets(self, prompts: list[str], w0: torch.Tensor, first_frames: torch.Tensor, num_frames: int,
                schedule: str, generator: torch.Generator | None, progress=None) -> torch.Tensor:
        """Δw [B, T, L, D]; one forward pass, so nothing to report to `progress`."""
        from .sequences import is_sequence
        image = self.clip.encode_image(first_frames)          # [B, E]
        dtype = next(self.model.parameters()).dtype
        if any(is_sequence(p) for p in prompts):
            return torch.cat([self.sequence(p, image[i:i + 1].to(dtype), num_frames, schedule, generator)
                              for i, p in enumerate(prompts)])
        text = self.clip.encode_text(prompts)                 # [B, E]
        return self.model(text.to(dtype), image.to(dtype), num_frames, schedule=schedule, generator=generator)

    def sequence(self, prompt: str, image: torch.Tensor, num_frames: int, schedule: str,
                 generator: torch.Generator | None) -> torch.Tensor:
        """Δw [1, T, L, D] of a prompt sequence: each segment continues from the previous one's last state."""
        from .sequences import plan_sequence
        chunks, state = [], None
        for seg in plan_sequence(prompt, num_frames):
            text = self.clip.encode_text([seg.prompt]).to(image.dtype)                # [1, E]
            dw, state = self.model(text, image, seg.frames, schedule=schedule, generator=generator,
                                   initial_state=state, return_state=True)           # [1, n, L, D]
            chunks.append(dw)
        return torch.cat(chunks, dim=1)


def load_clip_text_tower(clip, path: Path) -> None:
    """Load a fine-tuned CLIP text tower (a subset of the CLIP state dict, safetensors) into a ClipEncoder."""
    from .checkpoints import read_safetensors
    state, _ = read_safetensors(path)
    own = clip.model.state_dict()
    bad = [k for k, v in state.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise LganimError(f"{path} does not fit this CLIP model ({bad[0]}): it was trained with another CLIP.")
    clip.model.load_state_dict({k: v.to(own[k]) for k, v in state.items()}, strict=False)


def broadcast_requests(prompts: str | Sequence[str], seeds: int | Sequence[int] | None,
                       ) -> tuple[list[str], list[int | None]]:
    """Pair prompts with seeds: one of either is repeated to the length of the other."""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    seeds = [seeds] if seeds is None or isinstance(seeds, int) else list(seeds)
    if not prompts:
        raise LganimError("Give at least one prompt.")
    for p in prompts:
        if not isinstance(p, str) or not p.strip():
            raise LganimError("The prompt is empty: describe the motion, e.g. \"The person is smiling.\"")
    for s in seeds:
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2 ** 32):
            raise LganimError(f"A seed must be an integer from 0 to 4294967295, got {s!r}.")
    if len(prompts) != len(seeds) and 1 not in (len(prompts), len(seeds)):
        raise LganimError(f"Give one prompt or one seed, or as many prompts as seeds "
                          f"(got {len(prompts)} prompts and {len(seeds)} seeds).")
    n = max(len(prompts), len(seeds))
    if n > MAX_BATCH:
        raise LganimError(f"At most {MAX_BATCH} clips per request, got {n}.")
    return prompts * (n // len(prompts)), seeds * (n // len(seeds))


class Animator:
    """A domain's frozen StyleGAN2 plus a motion strategy: prompts and faces in, frames out."""

    def __init__(self, domain: Domain, generator: Generator, motion, *, device: torch.device,
                 renderer: Callable[[torch.Tensor], torch.Tensor] | None = None, chunk_size: int = DEFAULT_CHUNK,
                 encoder_source: Path | None = None):
        self.domain = domain
        self.encoder_source = encoder_source  # e4e file; None: the public FFHQ encoder (fetched on first photo)
        self._encoder = None
        self.generator = generator
        self.motion = motion
        self.device = device
        self.renderer = renderer or generator.synthesis
        self.chunk_size = chunk_size

    @classmethod
    def from_pretrained(cls, domain: str = "human", *, motion: str | Path | None = None, device: str = "auto",
                        dtype: str | torch.dtype | None = None, fit_settings=None,
                        renderer: str = "fast") -> "Animator":
        """Load a domain's generator and motion strategy (downloading what is missing).

        motion: a folder written by `python -m lganim train`; a checkpoint file of the authors' training
        script (DDP `module.encoder/rnn/mapper.*`, loaded with its fine-tuned CLIP); "fit" for training-free
        prompt fitting (`fitting.FittedMotion`, cached per domain and prompt). None: the demo domain's own untrained
        checkpoint, and prompt fitting on the real domains (no trained motion weights exist for them).
        fit_settings: a `fitting.FitSettings` for the fitted strategy (default: its defaults).
        renderer: "fast" (batched, modulation on activations; `render.FastRenderer`, tested against the
        reference) or "reference" (the fp32 grouped-convolution generator). `dtype` bf16/fp16 speeds up both.
        """
        from .checkpoints import load_generator
        from .encoders import load_clip
        from .hub import CLIP_MOTION_MODEL, fetch
        from .motion import MotionGenerator

        spec = get_domain(domain)
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        fit = (motion is None and not spec.untrained) or str(motion) == "fit"
        encoder_source = None
        if spec.untrained:
            from .demo import ensure_demo
            files = ensure_demo()
            generator_path, clip_name, motion = files.generator, str(files.clip_motion), motion or files.motion
            encoder_source = files.encoder
        else:
            generator_path, clip_name = fetch(spec.weights), CLIP_MOTION_MODEL
        if renderer not in ("fast", "reference"):
            raise LganimError(f"Unknown renderer {renderer!r}: use fast or reference.")
        generator = load_generator(generator_path, spec.generator, device=dev, dtype=dt)
        render = None
        if renderer == "fast":
            from .render import FastRenderer
            render = FastRenderer(generator, dtype=dt)
        if fit:
            from .fitting import FitSettings, FittedMotion, build_fitter
            fitter = build_fitter(spec.name, generator, device=dev, dtype=dt, settings=fit_settings or FitSettings())
            return cls(spec, generator, FittedMotion(fitter), device=dev, encoder_source=encoder_source,
                       renderer=render)
        motion_dir = Path(motion)
        if motion_dir.is_file():                     # a checkpoint of the authors' training script
            from .encoders import clip_from_state_dict
            from .motion import load_official
            model, clip_state = load_official(motion_dir, generator.style_dim, device=dev, dtype=dt)
            clip = (clip_from_state_dict(clip_state, dev, dt, name=f"fine-tuned CLIP of {motion_dir.name}")
                    if clip_state else load_clip(clip_name, device=dev, dtype=dt))
            cls.check_motion_fits(model, generator, motion_dir, domain)
            return cls(spec, generator, TrainedMotion(model, clip), device=dev, encoder_source=encoder_source,
                       renderer=render)
        if not (motion_dir / "config.json").is_file():
            raise LganimError(f"{motion_dir} is not a motion checkpoint folder (no config.json in it).")
        model = MotionGenerator.load(motion_dir, device=dev, dtype=dt)
        cls.check_motion_fits(model, generator, motion_dir, domain)
        clip = load_clip(clip_name, device=dev, dtype=dt)
        if (motion_dir / MOTION_CLIP_FILE).is_file():
            load_clip_text_tower(clip, motion_dir / MOTION_CLIP_FILE)
        return cls(spec, generator, TrainedMotion(model, clip), device=dev, encoder_source=encoder_source,
                   renderer=render)

    @staticmethod
    def check_motion_fits(model, generator: Generator, source: Path, domain: str) -> None:
        """The motion model must emit W+ codes of the generator's shape."""
        if model.config.num_ws != generator.num_ws or model.config.style_dim != generator.style_dim:
            raise LganimError(f"The motion model in {source} drives {model.config.num_ws}×{model.config.style_dim} "
                              f"W+ codes but the {domain} generator has {generator.num_ws}×{generator.style_dim}.")

    # -- planning -------------------------------------------------------------------------------------------
    def start_codes(self, seeds: list[int | None], truncation: float) -> torch.Tensor:
        """One W+ start code per seed: z ~ N(0, I) from a seeded torch.Generator → mapping → truncation. [B, L, D]"""
        g = self.generator
        zs = []
        for seed in seeds:
            rng = torch.Generator().manual_seed(seed if seed is not None else int(torch.randint(2 ** 32, ())))
            zs.append(torch.randn(1, g.style_dim, generator=rng))
        p = g.input.input
        w = g.mapping(torch.cat(zs).to(p.device, p.dtype))
        return g.broadcast_ws(g.truncate(w, truncation)).contiguous()

    def encoder(self):
        """The e4e encoder and its latent_avg, loaded on the first photo."""
        if self._encoder is None:
            from .hub import E4E_FFHQ, fetch
            from .invert import load_e4e
            p = self.generator.input.input
            self._encoder = load_e4e(self.encoder_source or fetch(E4E_FFHQ), device=p.device, dtype=p.dtype)
        return self._encoder

    def read_photo(self, image, face_index: int = 0, paste_back: bool = True) -> PhotoFace:
        """Load a photo (path, bytes, PIL or array), find and align its face at the generator's resolution."""
        from .align import align_face
        from .photo import load_photo
        if not self.domain.supports_photos:
            raise LganimError(f"Photos work with the human domain only (the {self.domain.name} generator has no public "
                              f"photo encoder): use a seed to sample a {self.domain.subject}.")
        photo = load_photo(image)
        aligned = align_face(photo, size=self.generator.size, face_index=face_index)
        if not paste_back:
            return PhotoFace(aligned, None)
        scale = min(1.0, MAX_VIDEO_SIDE / max(photo.shape[:2]))
        if scale < 1.0:
            from PIL import Image
            h, w = round(photo.shape[0] * scale), round(photo.shape[1] * scale)
            photo = np.asarray(Image.fromarray(photo).resize((w, h), Image.Resampling.LANCZOS))
            aligned = dataclasses.replace(aligned, quad=aligned.quad * scale, landmarks=aligned.landmarks * scale,
                                          photo_shape=(h, w))
        return PhotoFace(aligned, photo)

    def invert_photo(self, face: PhotoFace, refine_steps: int = 0,
                     progress: Callable[[int, int, float], None] | None = None) -> torch.Tensor:
        """The aligned face's W+ code from the e4e encoder, optionally refined by optimisation: [1, L, D]."""
        from .invert import invert, refine
        encoder, latent_avg = self.encoder()
        w = invert(encoder, latent_avg, face.aligned.image[None])
        if refine_steps:
            w = refine(w, face.aligned.image[None], self.generator.synthesis, steps=refine_steps, w_reg=0.1,
                       progress=progress)
        if w.shape[1:] != (self.generator.num_ws, self.generator.style_dim):
            raise LganimError(f"The photo encoder gives {tuple(w.shape[1:])} codes but the generator needs "
                              f"({self.generator.num_ws}, {self.generator.style_dim}).")
        return w

    def prepare(self, prompts: str | Sequence[str], seed: int | Sequence[int] | None = 0, *, image=None,
                num_frames: int = 16, fps: int = 12, strength: float = 1.0, schedule: str = "linear",
                truncation: float | None = None, generator: torch.Generator | None = None,
                face_index: int = 0, paste_back: bool = True, refine_steps: int = 0,
                progress: Callable[[int, int, float], None] | None = None) -> Plan:
        """Validate a request and compute the W+ code of every frame: w[t] = w0 + strength · Δw[t].

        image: a photo (path, bytes, PIL image or uint8 array) instead of seeds; its largest face (or the
        `face_index`-th largest) is animated and, with `paste_back`, pasted back into the photo;
        `refine_steps` > 0 sharpens the inverted identity by optimisation. `progress(step, total, loss)`
        follows the slow optimisations: that refinement and the fitting of a prompt not seen before.
        """
        if not isinstance(refine_steps, int) or not 0 <= refine_steps <= 500:
            raise LganimError(f"refine_steps must be an integer from 0 to 500, got {refine_steps!r}.")
        settings = AnimationSettings(num_frames=num_frames, fps=fps, strength=float(strength),
                                     truncation=self.domain.truncation if truncation is None else float(truncation),
                                     schedule=schedule)
        prompts, seeds = broadcast_requests(prompts, None if image is not None else seed)
        face = self.read_photo(image, face_index, paste_back) if image is not None else None
        from .motion import compose_latents
        with torch.inference_mode():
            if face is not None:
                w0 = self.invert_photo(face, refine_steps, progress)                 # [1, L, D]
                w0 = w0.expand(len(prompts), -1, -1).contiguous()                     # [B, L, D]
            else:
                w0 = self.start_codes(seeds, settings.truncation)                    # [B, L, D]
            first = self.renderer(w0)                                                # [B, 3, H, W]
            dw = self.motion.offsets(prompts, w0, first, num_frames, schedule, generator,
                                     progress=progress)                                # [B, T, L, D]
            ws = compose_latents(w0, dw, settings.strength)                           # [B, T, L, D]
        return Plan(ws, prompts, seeds, settings, face)

    # -- rendering ------------------------------------------------------------------------------------------
    def render(self, plan: Plan) -> Iterator[FrameChunk]:
        """Render all B·T frames in time order, `chunk_size` frames per call: yields FrameChunks as they finish."""
        b, t = plan.ws.shape[:2]
        steps = max(1, self.chunk_size // b)                                         # time steps per chunk
        flat = plan.ws.transpose(0, 1).reshape(t * b, *plan.ws.shape[2:])           # [T·B, L, D], time-major
        for start in range(0, t, steps):
            n = min(steps, t - start)
            with torch.inference_mode():                     # per chunk: never held across a yield
                images = self.renderer(flat[start * b:(start + n) * b])              # [n·B, 3, S, S]
            frames = to_uint8(images)                                                # [n·B, S, S, 3]
            frames = frames.reshape(n, b, *frames.shape[1:]).transpose(0, 1).numpy()  # [B, n, S, S, 3]
            if plan.photo is not None and plan.photo.canvas is not None:
                from .align import paste_back
                frames = np.stack([paste_back(plan.photo.canvas, clip, plan.photo.aligned) for clip in frames])
            yield FrameChunk(start, frames)

    def stream(self, prompts, seed=0, **kwargs) -> Iterator[FrameChunk]:
        """Like calling the Animator, but yields chunks of frames while they are rendered."""
        yield from self.render(self.prepare(prompts, seed, **kwargs))

    def __call__(self, prompts, seed=0, **kwargs) -> AnimationResult:
        plan = self.prepare(prompts, seed, **kwargs)
        frames = np.concatenate([c.frames for c in self.render(plan)], axis=1)
        return AnimationResult(frames, plan.ws.float().cpu(), plan.prompts, plan.seeds, plan.settings.fps,
                               self.domain.name)
