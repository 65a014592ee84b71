"""Training-free motion: fit a free-form prompt at request time with the paper's losses.

No trained motion weights exist for the real domains, so a prompt's motion is fitted on demand:

    Δw[t] = p(t) · A,    A ∈ R^{L×D} (one W+ direction per prompt), p(0) = 0, p(T−1) = 1

where p is the normalised running sum of the motion generator's decay schedule (`linear`: fast at first,
settling at the end, like the paper's recurrent steps). A is fitted with Adam on a fixed batch of the
domain's own samples (start codes from seeds through the mapping network with truncation), with the
same objective the paper trains with (`objective.py`): the contrastive CLIP loss of the last frame
(the prompt against the paper's 28 expression prompts as negatives), latent regularisation, the loop tie,
second-order smoothness and, when its weights are present, ArcFace identity. Because A does not depend on
the face, one fit serves every face of the domain; it is cached on disk per (domain, prompt, settings), and a file lock
beside the entry makes a second process that asks for the same fit wait for the first and read its result. A fit that
its time budget stopped before its steps is used, and kept for the process, but never cached on disk as if it were
complete: the settings alone would not say what it is.
Prompt sequences ("...; then ...") fit one direction per segment and chain them (`sequences.py`).

Two paths compute a step (`FitSettings.path`; benchmarks/README.md, "Prompt fit", has what each choice bought):
- "fast" (the default): the last frames through `FastRenderer.synthesis` (modulated activations, one convolution
  for the whole batch, channels-last: its backward needs no weight gradients), in bf16 where the device computes it
  natively (CUDA; CPUs with AVX512-BF16 or AMX) with the loss CLIP's image tower under autocast, the direction and
  the Adam state in fp32; the loss image only up to `FitSettings.loss_size` (256²: CLIP sees 224², ArcFace pools to
  256²), so a 512² or 1024² StyleGAN2 skips its finest blocks, whose W+ layers then get no CLIP gradient and stay
  where the regularisation holds them (at 0); on the CPU a step renders two of the faces, in turn
  (`FitSettings.faces_per_step`: there a step costs in proportion to its faces, and one on two gains about what one
  on four does, so the same loss comes in about half the time), on a GPU all of them; Adam at the paper's 0.02,
  decayed over the last quarter of the steps;
- "reference": the fit before it (`FitSettings.reference()`): the fp32 grouped-convolution `Generator.synthesis` at
  full resolution, Adam at a constant 0.02.
Measured on random weights of the real 1024² architecture: the CLIP term of the 256² image is within 0.2 % of the
full one's and its gradient has cosine 0.78 to the full gradient (a 64² or 128² image of a 256² StyleGAN2: cosine
0.3, so the default stops at 256²).

Before a new prompt fits, `PromptFitter.notify` (when set) gets a line saying about how long it will take here
(`fit_time.py`: the step time earlier fits measured on this device, else after the first step); a fit its time
budget stopped says so in `FitResult.warning` and through the same hook.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..config import FIT_LOCK_GRACE, FIT_PASSES, FitSettings, LossProgress, paper_prompts
from ..device import native_bf16
from ..errors import LganimError
from ..files import cache_dir, file_lock
from ..models.motion_generator import decay_weights
from ..models.renderer import FastRenderer
from ..models.stylegan2 import Generator
from ..request import Request
from ..startcodes import seed_codes
from ..weights.domain_files import DomainFiles, resolve
from ..weights.encoders import load_arcface, load_clip
from ..weights.formats import read_safetensors, save_safetensors
from ..weights.registry import Domain
from . import fit_time
from .objective import MotionObjective
from .sequences import plan_sequence, split_prompt
from .source import LanguageMotion, Motion

FIT_VERSION = 3         # 3: the faces a step renders (FitSettings.faces_per_step), steps in passes over them, Adam at
                        # 0.02; 2: the fast fit (FitSettings path, decay, dtype, loss_size); 1: the reference fit alone
COMPUTE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}   # FitSettings.dtype
Notify = Callable[[str], None]      # a status line for the user (the CLI prints it, the app shows it)
HOLD = 0.75                         # "hold-cosine": the share of the steps at the full learning rate
CPU_FACES = 2                       # faces a fast step renders on the CPU unless told (FitSettings.faces_per_step)


@dataclass
class FitResult:
    """A fitted direction A [L, D] (float32, CPU) and how the fit went."""

    prompt: str
    direction: torch.Tensor
    loss_first: float
    loss_last: float
    steps: int                      # Adam steps run
    seconds: float
    terms_last: dict
    cached: bool = False
    complete: bool = True           # False: the time budget stopped it before its steps
    planned: int | None = None      # the steps it was to run (None: as many as it ran)

    @property
    def warning(self) -> str | None:
        """One line when the time budget stopped the fit early ("fitted 12 of 100 steps in 120 s: the motion may be
        weak"), else None."""
        if self.complete:
            return None
        return (f"fitted {self.steps} of {self.planned or self.steps} steps in {self.seconds:.0f} s: "
                f"the motion may be weak")

    def summary(self) -> dict:
        return {"prompt": self.prompt, "loss_first": self.loss_first, "loss_last": self.loss_last,
                "steps": self.steps, "planned_steps": self.planned or self.steps, "seconds": self.seconds,
                "terms_last": self.terms_last, "cached": self.cached, "complete": self.complete,
                "warning": self.warning}


def motion_profile(num_frames: int, schedule: str = "linear", *, continued: bool = False) -> torch.Tensor:
    """p(t) for the frames of one segment, float64 [T].

    Fresh: p(0) = 0 ... p(T−1) = 1, steps proportional to the decay schedule. Continued: the frames after a
    previous segment's last one, i.e. frames 1..T of a fresh (T+1)-frame profile.
    """
    horizon = num_frames + 1 if continued else num_frames
    if horizon < 2:
        return torch.zeros(num_frames, dtype=torch.float64)
    steps = decay_weights(schedule, horizon).clone()
    steps[0] = 0.0                                                           # frame 0 is the input face
    if float(steps.sum()) <= 0:
        raise LganimError(f"The {schedule!r} schedule has no motion over {horizon} frames.")
    p = steps.cumsum(0) / steps.sum()
    return p[1:] if continued else p


def cache_key(domain: str, prompt: str, settings: FitSettings, model_id: str) -> str:
    """Hex digest naming a fit: domain, prompt, settings, the generator/CLIP files and the fit version."""
    blob = json.dumps({"v": FIT_VERSION, "domain": domain, "prompt": prompt, "settings": settings.key_dict(),
                       "model": model_id}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def fitted_dir(domain: str) -> Path:
    return cache_dir() / "fitted" / domain


@dataclass(frozen=True)
class CachedFit:
    """One complete fit in lganim's cache (`fits` lists them)."""

    domain: str
    path: Path                      # its .safetensors (beside it: .config.json, and the .lock of its fit)
    meta: dict                      # what its config says: prompt, steps, losses, settings... ({}: unreadable)


def cached_fits(domain: str | None = None) -> list[CachedFit]:
    """The fits in lganim's cache, of `domain` (else of every domain), in the order of their files."""
    root = cache_dir() / "fitted"
    folders = [root / domain] if domain else sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    fits = []
    for folder in folders:
        for path in sorted(folder.glob("*.safetensors")):
            if path.name.startswith("."):
                continue                                                     # a writer's temporary
            try:
                meta = json.loads(path.with_name(f"{path.stem}.config.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            fits.append(CachedFit(folder.name, path, meta if isinstance(meta, dict) else {}))
    return fits


def clear_fits(domain: str | None = None) -> int:
    """Delete the cached fits of `domain` (else every one) and return how many; a fit in progress in another process
    keeps its lock and stores its result when it ends."""
    fits = cached_fits(domain)
    for fit in fits:
        fit.path.unlink(missing_ok=True)
        fit.path.with_name(f"{fit.path.stem}.config.json").unlink(missing_ok=True)
    return len(fits)


def applied_settings(settings: FitSettings, stylegan: Generator) -> FitSettings:
    """`settings` as a fitter of `stylegan` applies them, so that they name its results honestly:

    - the faces a step renders (`faces_per_step`): as given, else all of them on the reference path and on a GPU,
      `CPU_FACES` on the CPU (the fast path there costs in proportion to the faces, and a step on two gains about
      what a step on four does: benchmarks/README.md, "Prompt fit");
    - the steps: as given, else `FIT_PASSES` passes over the faces (200 steps of all of them, 400 of two of four);
    - the compute dtype of the fast path: `settings.dtype`, else bf16 where the device computes it natively
      (`native_bf16`: a CUDA GPU with bf16, a CPU with AVX512-BF16 or AMX) or the StyleGAN2 is kept in it, and fp32
      otherwise; the reference path has neither a dtype nor a loss size (the StyleGAN2's own dtype, its full
      resolution)."""
    faces = settings.faces_per_step
    if faces is None:
        faces = min(CPU_FACES, settings.batch) if settings.path == "fast" and stylegan.device.type == "cpu" \
            else settings.batch
    steps = settings.steps if settings.steps is not None else FIT_PASSES * settings.batch // faces
    settings = replace(settings, faces_per_step=faces, steps=steps)
    if settings.path == "reference":
        return replace(settings, dtype=None, loss_size=None)
    if settings.dtype is not None:
        return settings
    native = native_bf16(stylegan.device) or stylegan.dtype == torch.bfloat16
    return replace(settings, dtype="bf16" if native else "fp32")


class _AutocastClip:
    """The loss CLIP with its image tower under autocast in `dtype` (the fast path's bf16); text embeddings, computed
    once per text, in the model's own dtype."""

    def __init__(self, clip, dtype: torch.dtype):
        self.clip, self.dtype = clip, dtype

    def encode_text(self, texts):
        return self.clip.encode_text(texts)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        with torch.autocast(images.device.type, dtype=self.dtype):
            return self.clip.encode_image(images)                            # [B, E] float32


class _LossImages:
    """What the fast path's objective renders: `FastRenderer.synthesis` up to `size` (None: the full resolution)."""

    def __init__(self, renderer: FastRenderer, size: int | None):
        self.renderer, self.size = renderer, size

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        return self.renderer.synthesis(ws, size=self.size)                   # [N, 3, size, size]


class FitRun:
    """One prompt's fit in progress (`PromptFitter.start`): Adam on the direction A [L, D] (float32) over the fitting
    faces, one `step()` at a time; `direction` is the current A. A fit runs them until its steps or its time budget
    are spent; the fit benchmark steps two runs (reference and fast) in alternation.
    """

    def __init__(self, prompt: str, objective: MotionObjective, w0: torch.Tensor, settings: FitSettings,
                 negatives: list[str]):
        self.prompt, self.settings = prompt, settings
        self.objective, self.w0, self.negatives = objective, w0, negatives    # w0 [N, L, D]
        self.profile = motion_profile(settings.frames).to(w0)                # [T]
        self.direction = torch.zeros(w0.shape[1:], device=w0.device, dtype=torch.float32, requires_grad=True)
        self.optim = torch.optim.Adam([self.direction], lr=settings.lr, betas=(0.0, 0.999))
        self.steps = 0
        self.loss_first: float | None = None
        self.step_seconds: list[float] = []

    def learning_rate(self, step: int) -> float:
        """The rate of step `step` (from 0): constant, or held at `lr` for the first HOLD of the steps and then half a
        cosine down to 0 after the last one (a fit its budget stops early keeps the full rate)."""
        s = self.settings
        hold = HOLD * s.steps
        if s.decay == "constant" or step < hold:
            return s.lr
        return s.lr * 0.5 * (1.0 + math.cos(math.pi * (step - hold) / (s.steps - hold)))

    def faces(self, step: int) -> list[int] | None:
        """The fitting faces step `step` renders: n = `faces_per_step` in turn from face step·n (mod the batch), so
        that every face counts alike; None: all of them."""
        n, batch = self.settings.faces_per_step, self.w0.shape[0]
        if n is None or n >= batch:
            return None
        return [(step * n + j) % batch for j in range(n)]

    def loss(self, faces: list[int] | None = None) -> tuple[torch.Tensor, dict]:
        """The objective at the current direction on `faces` (None: all of them): (total, weighted terms)."""
        w0 = self.w0 if faces is None else self.w0[faces]                                  # [n, L, D]
        dw = self.profile[None, :, None, None] * self.direction.to(w0)[None, None]        # [n, T, L, D]
        return self.objective(w0, dw, [self.prompt] * w0.shape[0], negatives=self.negatives)

    def step(self) -> float:
        """One Adam step on this step's faces (`faces`); returns their loss before it. Runs with autograd even when
        the caller is under torch.inference_mode (the pipeline's prepare)."""
        start = time.perf_counter()
        with torch.inference_mode(False), torch.enable_grad():
            for group in self.optim.param_groups:
                group["lr"] = self.learning_rate(self.steps)
            loss, _ = self.loss(self.faces(self.steps))
            self.optim.zero_grad(set_to_none=True)
            loss.backward()
            self.optim.step()
        value = loss.item()
        self.loss_first = value if self.loss_first is None else self.loss_first
        self.steps += 1
        self.step_seconds.append(time.perf_counter() - start)
        return value

    def evaluate(self) -> tuple[float, dict]:
        """The objective at the current direction on all the faces, without a gradient: (total, weighted terms)."""
        with torch.no_grad():
            loss, terms = self.loss()
        return float(loss), terms


class PromptFitter:
    """Fits directions for one domain: its frozen StyleGAN2 plus a loss CLIP (loaded on first need).

    `settings` are the ones it applies (`applied_settings`: the compute dtype resolved), so they say how this fitter
    fits and name its cache entries honestly. `notify`: where status lines go (the estimate before a new fit, a
    budget's warning).
    """

    def __init__(self, domain, stylegan, *, clip_loader: Callable[[], object], model_id: str,
                 settings: FitSettings = FitSettings(), identity=None, cache: bool = True,
                 notify: Notify | None = None):
        self.domain, self.stylegan = domain, stylegan
        self.clip_loader, self.model_id = clip_loader, model_id
        self.settings = applied_settings(settings, stylegan)
        self.identity, self.cache, self.notify = identity, cache, notify
        self._clip = None
        self._objective: MotionObjective | None = None
        self._memory: dict[str, FitResult] = {}

    # -- cache ----------------------------------------------------------------------------------------------
    def _path(self, prompt: str) -> Path:
        return fitted_dir(self.domain.name) / f"{cache_key(self.domain.name, prompt, self.settings, self.model_id)}"

    def _load_cached(self, prompt: str) -> FitResult | None:
        path = self._path(prompt).with_suffix(".safetensors")
        if not path.is_file():
            return None
        try:
            state, meta = read_safetensors(path)
            a = state["direction"]
        except (LganimError, KeyError):
            return None                                                      # a damaged entry is refitted
        if meta.get("prompt") != prompt or tuple(a.shape) != (self.stylegan.num_ws, self.stylegan.style_dim):
            return None
        return FitResult(prompt, a.float(), meta["loss_first"], meta["loss_last"], meta["steps"], meta["seconds"],
                         meta.get("terms_last", {}), cached=True)

    def _store(self, result: FitResult) -> None:
        path = self._path(result.prompt)
        meta = {**result.summary(), "domain": self.domain.name, "settings": self.settings.key_dict(),
                "model": self.model_id, "version": FIT_VERSION}
        for key in ("cached", "complete", "planned_steps", "warning"):
            meta.pop(key)
        save_safetensors(path.parent, {"direction": result.direction}, meta, name=path.name)

    # -- how long -------------------------------------------------------------------------------------------
    def _record_key(self) -> str:
        return fit_time.record_key(self.stylegan.device, self.domain.name, self.settings)

    def step_seconds(self) -> float | None:
        """Seconds of one step as earlier fits measured them on this device (None: none measured yet)."""
        return fit_time.measured_step_seconds(self._record_key()) if self.cache else None

    def fit_seconds(self, prompt: str) -> float:
        """About how long fitting `prompt` takes here: 0 when it is fitted already; else its steps at the measured
        step time (a first guess where none was measured), capped by the time budget."""
        if self.is_fitted(prompt):
            return 0.0
        step = self.step_seconds() or fit_time.prior_step_seconds(self.stylegan.device, self.stylegan.size,
                                                                  self.settings.faces_per_step)
        return fit_time.fit_seconds(self.settings, step)

    def _say(self, line: str) -> None:
        if self.notify is not None:
            self.notify(line)

    # -- fitting --------------------------------------------------------------------------------------------
    def clip(self):
        if self._clip is None:
            self._clip = self.clip_loader()
        return self._clip

    def start_codes(self) -> torch.Tensor:
        """The fitting faces: W+ codes [N, L, D] from seeds seed..seed+N−1 (mapping + truncation)."""
        s = self.settings
        psi = self.domain.truncation if s.truncation is None else s.truncation
        return seed_codes(self.stylegan, range(s.seed, s.seed + s.batch), psi)

    def objective(self) -> MotionObjective:
        """The objective of this fitter's path, made once (its text embeddings are kept between prompts)."""
        if self._objective is None:
            weights, clip = self.settings.loss_weights(), self.clip()
            if self.settings.path == "reference":
                self._objective = MotionObjective(self.stylegan, clip, weights, identity=self.identity)
            else:
                dtype, size = COMPUTE_DTYPES[self.settings.dtype], self.settings.loss_size
                loss_clip = clip if dtype == torch.float32 else _AutocastClip(clip, dtype)
                images = _LossImages(FastRenderer(self.stylegan, dtype=dtype),
                                     size if size is not None and size < self.stylegan.size else None)
                self._objective = MotionObjective(images, loss_clip, weights, identity=self.identity)
        return self._objective

    def negatives(self, prompt: str) -> list[str]:
        """The prompts `prompt` is contrasted with: the paper's other expressions (none without negatives)."""
        return [p for p in paper_prompts(self.domain.subject) if p != prompt] if self.settings.negatives else []

    def start(self, prompt: str) -> FitRun:
        """A new fit of `prompt` at step 0 (not cached, not timed by the budget: `fit` runs it). Its tensors are made
        outside inference mode, where the caller may be (the pipeline's prepare): autograd saves them."""
        negatives = self.negatives(prompt)
        with torch.inference_mode(False):
            w0 = self.start_codes().clone()                                  # [N, L, D]
            if self.settings.path == "fast":
                w0 = w0.float()                                              # the fast path's codes stay fp32
            return FitRun(prompt, self.objective(), w0, self.settings, negatives)

    def preset(self, results: dict[str, FitResult]) -> None:
        """Take fitted prompts from presets (`presets.py`): a request for one of them fits nothing and writes
        nothing, as for a prompt this process fitted already."""
        self._memory.update(results)

    def judge(self, prompt: str, direction: torch.Tensor) -> float:
        """The reference objective (the StyleGAN2's own `Generator.synthesis` at full resolution, in its dtype) at a
        direction A [L, D] of `prompt` on the fitting faces: one score for a fit whichever path made it."""
        judge = MotionObjective(self.stylegan, self.clip(), self.settings.loss_weights(), identity=self.identity)
        with torch.no_grad():
            w0 = self.start_codes()                                                      # [N, L, D]
            profile = motion_profile(self.settings.frames).to(w0)                        # [T]
            dw = profile[None, :, None, None] * direction.to(w0)[None, None]             # [N, T, L, D]
            loss, _ = judge(w0, dw, [prompt] * w0.shape[0], negatives=self.negatives(prompt))
        return float(loss)

    def fitted(self, prompt: str) -> FitResult | None:
        """The result this process fitted or read for `prompt`, or None (not asked for yet)."""
        return self._memory.get(prompt)

    def is_fitted(self, prompt: str) -> bool:
        """Whether `prompt` is fitted already (in memory or in the disk cache): a request for it fits nothing."""
        return prompt in self._memory or (self.cache and self._path(prompt).with_suffix(".safetensors").is_file())

    def fit(self, prompt: str, progress: LossProgress | None = None) -> FitResult:
        """The direction of `prompt`: from memory, the disk cache, or a new fit (then cached).

        A process that finds another one fitting the same prompt on the same cache (its lock file is held) waits for
        it and reads its result; past the holder's time budget and `FIT_LOCK_GRACE` it fits on its own.
        """
        if prompt in self._memory:
            return self._memory[prompt]
        if not self.cache:
            result = self._fit(prompt, progress)
        else:
            result = self._load_cached(prompt)
            if result is None:
                with file_lock(self._path(prompt).with_suffix(".lock"),
                               wait=self.settings.max_seconds + FIT_LOCK_GRACE):
                    result = self._load_cached(prompt)                       # the holder we waited for stored it
                    if result is None:
                        result = self._fit(prompt, progress)
                        if result.complete:
                            self._store(result)
        self._memory[prompt] = result
        return result

    def _fit(self, prompt: str, progress: LossProgress | None) -> FitResult:
        s, device = self.settings, self.stylegan.device
        measured = self.step_seconds()
        if measured is not None:
            self._say(fit_time.estimate_line(prompt, s, measured, device, "measured by earlier fits"))
        run = self.start(prompt)
        start = time.perf_counter()
        # a step that renders some of the faces measures their loss only: the loss before fitting is taken on all
        loss_first = None if run.faces(0) is None else run.evaluate()[0]
        while run.steps < s.steps and time.perf_counter() - start < s.max_seconds:
            loss = run.step()
            if measured is None and run.steps == 1 and s.steps > 1:
                self._say(fit_time.estimate_line(prompt, s, run.step_seconds[0], device, "the first step took it"))
            if progress is not None:
                progress(run.steps, s.steps, loss)
        loss_last, terms = run.evaluate()
        loss_first = next(v for v in (loss_first, run.loss_first, loss_last) if v is not None)
        result = FitResult(prompt, run.direction.detach().float().cpu(), loss_first, loss_last, run.steps,
                           time.perf_counter() - start, terms,
                           complete=run.steps == s.steps, planned=s.steps)
        if self.cache:
            fit_time.record_step_seconds(self._record_key(), run.step_seconds)
        if result.warning is not None:
            self._say(result.warning)
        return result


class FittedMotion(LanguageMotion):
    """Motion source from fitted prompt directions: Δw[t] = p(t) · A_prompt, the same for every face.

    A prompt sequence chains its segments: each segment adds its own direction on top of where the
    previous one ended.
    """

    needs_first_frames = False          # the motion is face-agnostic

    def __init__(self, fitter: PromptFitter):
        self.fitter = fitter

    def load(self) -> None:
        """Load the loss CLIP now rather than on the first fit (a server loads everything at startup)."""
        self.fitter.clip()

    @property
    def notify(self) -> Notify | None:
        """Where status lines of new fits go (`PromptFitter.notify`): about how long one will take before it starts,
        and the warning of one its time budget stopped ("fitted 12 of 100 steps in 120 s: the motion may be weak").
        Set it to print them (CLI) or show them (app); None: they are not said (a result still has its `warning`)."""
        return self.fitter.notify

    @notify.setter
    def notify(self, notify: Notify | None) -> None:
        self.fitter.notify = notify

    def unfitted(self, prompts) -> list[str]:
        """The segment prompts of `prompts` that a request would have to fit first."""
        segments = dict.fromkeys(seg for prompt in prompts for seg in split_prompt(prompt))
        return [seg for seg in segments if not self.fitter.is_fitted(seg)]

    def fit_seconds(self, prompts) -> float:
        """About how long a request for `prompts` fits here before it renders: the new segment prompts' steps at the
        step time earlier fits measured on this device (a first guess before any), each capped by the time budget."""
        return sum(self.fitter.fit_seconds(seg) for seg in self.unfitted(prompts))

    def warnings(self, prompts) -> list[str]:
        """The warnings of the fits that `prompts` used in this process (fits their time budget stopped early)."""
        segments = dict.fromkeys(seg for prompt in prompts for seg in split_prompt(prompt))
        results = [self.fitter.fitted(seg) for seg in segments]
        return [r.warning for r in results if r is not None and r.warning is not None]

    def motion(self, request: Request, w0: torch.Tensor, first_frames: torch.Tensor | None, *,
               generator: torch.Generator | None = None, progress: LossProgress | None = None) -> Motion:
        """Δw [B, T, L, D] for the B prompts; `progress(step, total, loss)` follows a fit of a new prompt."""
        out = []
        for prompt in self.prompts_for(request):
            offsets, base = [], torch.zeros(w0.shape[1:], dtype=torch.float64)
            for k, seg in enumerate(plan_sequence(prompt, request.num_frames)):
                a = self.fitter.fit(seg.prompt, progress).direction.double()           # [L, D]
                p = motion_profile(seg.frames, request.schedule, continued=k > 0)      # [n]
                offsets.append(base + p[:, None, None] * a)
                base = base + a
            out.append(torch.cat(offsets))
        return Motion(torch.stack(out).to(w0))                                          # [B, T, L, D]


def build_fitter(domain: Domain, files: DomainFiles, stylegan: Generator, *,
                 settings: FitSettings = FitSettings(), cache: bool = True) -> PromptFitter:
    """A PromptFitter for a domain's loaded StyleGAN2; the loss CLIP loads on the first fit that needs it.

    ArcFace joins the objective when the identity weight is > 0 and ir_se50.pth is on disk.
    """
    device, dtype = stylegan.device, stylegan.dtype
    identity = load_arcface(device, dtype) if settings.loss_weights().identity > 0 else None

    def load_loss_clip():
        return load_clip(resolve(files.clip_loss), device=device, dtype=dtype)

    return PromptFitter(domain, stylegan, clip_loader=load_loss_clip, model_id=files.model_id, settings=settings,
                        identity=identity, cache=cache)


__all__ = ["FitSettings", "FIT_VERSION", "FitResult", "motion_profile", "cache_key", "fitted_dir", "CachedFit",
           "cached_fits", "clear_fits",
           "applied_settings", "FitRun", "PromptFitter", "FittedMotion", "build_fitter"]
