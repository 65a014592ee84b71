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
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import FIT_LOCK_GRACE, FitSettings, LossProgress, paper_prompts
from ..errors import LganimError
from ..files import cache_dir, file_lock
from ..models.motion_generator import decay_weights
from ..models.stylegan2 import Generator
from ..request import Request
from ..startcodes import seed_codes
from ..weights.domain_files import DomainFiles, resolve
from ..weights.encoders import load_arcface, load_clip
from ..weights.formats import read_safetensors, save_safetensors
from ..weights.registry import Domain
from .objective import MotionObjective
from .sequences import plan_sequence, split_prompt
from .source import LanguageMotion, Motion

FIT_VERSION = 1


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

    def summary(self) -> dict:
        return {"prompt": self.prompt, "loss_first": self.loss_first, "loss_last": self.loss_last,
                "steps": self.steps, "seconds": self.seconds, "terms_last": self.terms_last, "cached": self.cached,
                "complete": self.complete}


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


class PromptFitter:
    """Fits directions for one domain: its frozen StyleGAN2 plus a loss CLIP (loaded on first need)."""

    def __init__(self, domain, stylegan, *, clip_loader: Callable[[], object], model_id: str,
                 settings: FitSettings = FitSettings(), identity=None, cache: bool = True):
        self.domain, self.stylegan = domain, stylegan
        self.clip_loader, self.model_id = clip_loader, model_id
        self.settings, self.identity, self.cache = settings, identity, cache
        self._clip = None
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
        meta.pop("cached")
        meta.pop("complete")
        save_safetensors(path.parent, {"direction": result.direction}, meta, name=path.name)

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
        s = self.settings
        weights = s.loss_weights()
        negatives = [p for p in paper_prompts(self.domain.subject) if p != prompt] if s.negatives else []
        # Runs with autograd even when the caller is under torch.inference_mode (the pipeline's prepare).
        with torch.inference_mode(False), torch.enable_grad():
            objective = MotionObjective(self.stylegan, self.clip(), weights, identity=self.identity)
            w0 = self.start_codes().clone()                                  # [N, L, D]
            profile = motion_profile(s.frames).to(w0)                        # [T]
            direction = torch.zeros(w0.shape[1:], device=w0.device, dtype=torch.float32, requires_grad=True)
            optim = torch.optim.Adam([direction], lr=s.lr, betas=(0.0, 0.999))
            prompts = [prompt] * w0.shape[0]

            def evaluate() -> tuple[torch.Tensor, dict]:
                dw = profile[None, :, None, None] * direction.to(w0)[None, None]  # [N, T, L, D]
                return objective(w0, dw, prompts, negatives=negatives)

            start = time.perf_counter()
            done = 0
            loss_first = None
            while done < s.steps and time.perf_counter() - start < s.max_seconds:
                loss, _ = evaluate()
                loss_first = loss.item() if loss_first is None else loss_first
                optim.zero_grad(set_to_none=True)
                loss.backward()
                optim.step()
                done += 1
                if progress is not None:
                    progress(done, s.steps, loss.item())
            with torch.no_grad():
                loss, terms = evaluate()
            if loss_first is None:
                loss_first = float(loss)
        return FitResult(prompt, direction.detach().float().cpu(), loss_first, float(loss), done,
                         time.perf_counter() - start, terms, complete=done == s.steps)


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

    def unfitted(self, prompts) -> list[str]:
        """The segment prompts of `prompts` that a request would have to fit first."""
        segments = dict.fromkeys(seg for prompt in prompts for seg in split_prompt(prompt))
        return [seg for seg in segments if not self.fitter.is_fitted(seg)]

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


__all__ = ["FitSettings", "FitResult", "motion_profile", "cache_key", "fitted_dir", "PromptFitter",
           "FittedMotion", "build_fitter"]
