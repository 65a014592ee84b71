"""Training-free motion: fit a free-form prompt at request time with the paper's losses.

No trained motion weights exist for the real domains, so a prompt's motion is fitted on demand:

    Δw[t] = p(t) · A,    A ∈ R^{L×D} (one W+ direction per prompt), p(0) = 0, p(T−1) = 1

where p is the normalised running sum of the motion generator's decay schedule (`linear`: fast at first,
settling at the end, like the paper's recurrent steps). A is fitted with Adam on a fixed batch of the
domain's own samples (start codes from seeds through the mapping network with truncation), with the
same objective the paper trains with (`training/losses.py`): the contrastive CLIP loss of the last frame
(the prompt against the paper's 28 expression prompts as negatives), latent regularisation, the loop tie,
second-order smoothness and, when its weights are present, ArcFace identity. Because A does not depend on
the face, one fit serves every face of the domain; it is cached on disk per (domain, prompt, settings).
Prompt sequences ("...; then ...") fit one direction per segment and chain them (`sequences.py`).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .errors import LganimError
from .sequences import plan_sequence

FIT_VERSION = 1
# The paper's 28 training expressions (official vocabulary); "The {subject} is {expression}."
EXPRESSIONS = ("smiling", "angry", "closing eyes", "winking", "shocked", "pouting", "crying", "disgusted",
               "appalled", "opening mouth", "hatred", "surprised", "aha", "annoyed", "awkward", "biting tongues",
               "blank stare", "confused", "duck lips", "incredulous", "mocking", "nervous", "no comment", "oh no",
               "serious", "stunned", "whatever", "wtf")

Progress = Callable[[int, int, float], None]


def expression_prompts(subject: str = "person") -> list[str]:
    """The paper's 28 prompts for a domain's subject: "The person is smiling.", ..."""
    return [f"The {subject} is {e}." for e in EXPRESSIONS]


@dataclass(frozen=True)
class FitSettings:
    """How a prompt is fitted. Every field is part of the cache key."""

    steps: int = 100                # Adam steps (the budget in steps)
    max_seconds: float = 120.0      # wall-clock budget; the fit stops at whichever comes first
    batch: int = 4                  # domain samples the direction is fitted on
    frames: int = 4                 # frames of the fitting clip (the paper trains on 4)
    lr: float = 0.02                # Adam learning rate on A (betas (0, 0.999) as in the paper)
    seed: int = 0                   # seeds of the fitting faces: seed, seed + 1, ...
    truncation: float | None = None  # None: the domain's
    negatives: bool = True          # contrast against the 28 expression prompts (else plain 1 − cos)
    weights: dict = field(default_factory=dict)  # LossWeights overrides, e.g. {"clip": 1.0}

    def __post_init__(self):
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or not 1 <= self.steps <= 100_000:
            raise LganimError(f"Fitting steps must be an integer from 1 to 100000, got {self.steps!r}.")
        if not math.isfinite(self.max_seconds) or self.max_seconds <= 0:
            raise LganimError(f"The fitting time budget must be > 0 seconds, got {self.max_seconds!r}.")
        if not isinstance(self.batch, int) or not 1 <= self.batch <= 64:
            raise LganimError(f"The fitting batch must be an integer from 1 to 64, got {self.batch!r}.")
        if not isinstance(self.frames, int) or not 2 <= self.frames <= 64:
            raise LganimError(f"Fitting frames must be an integer from 2 to 64, got {self.frames!r}.")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise LganimError(f"The fitting learning rate must be > 0, got {self.lr!r}.")
        if self.truncation is not None and not 0.0 <= self.truncation <= 1.0:
            raise LganimError(f"Truncation must be in [0, 1], got {self.truncation!r}.")

    def key_dict(self) -> dict:
        return asdict(self)

    def loss_weights(self):
        """The LossWeights of the objective (defaults: the paper's) with `weights` applied."""
        from .training.losses import LossWeights
        try:
            return LossWeights(**self.weights)
        except TypeError:
            raise LganimError(f"Unknown loss weight among {sorted(self.weights)}: use clip, latent, loop, smooth, "
                              f"identity or lpips.") from None


@dataclass
class FitResult:
    """A fitted direction A [L, D] (float32, CPU) and how the fit went."""

    prompt: str
    direction: torch.Tensor
    loss_first: float
    loss_last: float
    steps: int
    seconds: float
    terms_last: dict
    cached: bool = False

    def summary(self) -> dict:
        return {"prompt": self.prompt, "loss_first": self.loss_first, "loss_last": self.loss_last,
                "steps": self.steps, "seconds": self.seconds, "terms_last": self.terms_last, "cached": self.cached}


def motion_profile(num_frames: int, schedule: str = "linear", *, continued: bool = False) -> torch.Tensor:
    """p(t) for the frames of one segment, float64 [T].

    Fresh: p(0) = 0 ... p(T−1) = 1, steps proportional to the decay schedule. Continued: the frames after a
    previous segment's last one, i.e. frames 1..T of a fresh (T+1)-frame profile.
    """
    from .motion import decay_weights
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
    from .hub import cache_dir
    return cache_dir() / "fitted" / domain


class PromptFitter:
    """Fits directions for one domain: its frozen generator plus a loss CLIP (loaded on first need)."""

    def __init__(self, domain, generator, *, clip_loader: Callable[[], object], model_id: str,
                 settings: FitSettings = FitSettings(), identity=None, cache: bool = True):
        self.domain, self.generator = domain, generator
        self.clip_loader, self.model_id = clip_loader, model_id
        self.settings, self.identity, self.cache = settings, identity, cache
        self._clip = None
        self._memory: dict[str, FitResult] = {}

    # -- cache ----------------------------------------------------------------------------------------------
    def _path(self, prompt: str) -> Path:
        return fitted_dir(self.domain.name) / f"{cache_key(self.domain.name, prompt, self.settings, self.model_id)}"

    def _load_cached(self, prompt: str) -> FitResult | None:
        from .checkpoints import read_safetensors
        path = self._path(prompt).with_suffix(".safetensors")
        if not path.is_file():
            return None
        try:
            state, meta = read_safetensors(path)
            a = state["direction"]
        except (LganimError, KeyError):
            return None                                                      # a damaged entry is refitted
        if meta.get("prompt") != prompt or tuple(a.shape) != (self.generator.num_ws, self.generator.style_dim):
            return None
        return FitResult(prompt, a.float(), meta["loss_first"], meta["loss_last"], meta["steps"], meta["seconds"],
                         meta.get("terms_last", {}), cached=True)

    def _store(self, result: FitResult) -> None:
        from .checkpoints import save_safetensors
        path = self._path(result.prompt)
        meta = {**result.summary(), "domain": self.domain.name, "settings": self.settings.key_dict(),
                "model": self.model_id, "version": FIT_VERSION}
        meta.pop("cached")
        save_safetensors(path.parent, {"direction": result.direction}, meta, name=path.name)

    # -- fitting --------------------------------------------------------------------------------------------
    def clip(self):
        if self._clip is None:
            self._clip = self.clip_loader()
        return self._clip

    def start_codes(self) -> torch.Tensor:
        """The fitting faces: W+ codes [N, L, D] from seeds seed..seed+N−1 (mapping + truncation)."""
        g, s = self.generator, self.settings
        psi = self.domain.truncation if s.truncation is None else s.truncation
        p = next(g.parameters())
        zs = torch.cat([torch.randn(1, g.style_dim, generator=torch.Generator().manual_seed(s.seed + i))
                        for i in range(s.batch)])
        with torch.no_grad():
            return g.broadcast_ws(g.truncate(g.mapping(zs.to(p.device, p.dtype)), psi)).contiguous()

    def fit(self, prompt: str, progress: Progress | None = None) -> FitResult:
        """The direction of `prompt`: from memory, the disk cache, or a new fit (then cached)."""
        if prompt in self._memory:
            return self._memory[prompt]
        result = self._load_cached(prompt) if self.cache else None
        if result is None:
            result = self._fit(prompt, progress)
            if self.cache:
                self._store(result)
        self._memory[prompt] = result
        return result

    def _fit(self, prompt: str, progress: Progress | None) -> FitResult:
        from .training.losses import MotionObjective
        s = self.settings
        weights = s.loss_weights()
        negatives = [p for p in expression_prompts(self.domain.subject) if p != prompt] if s.negatives else []
        # Runs with autograd even when the caller is under torch.inference_mode (the pipeline's prepare).
        with torch.inference_mode(False), torch.enable_grad():
            objective = MotionObjective(self.generator, self.clip(), weights, identity=self.identity)
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
                         time.perf_counter() - start, terms)


class FittedMotion:
    """Motion strategy from fitted prompt directions: Δw[t] = p(t) · A_prompt, the same for every face.

    A prompt sequence chains its segments: each segment adds its own direction on top of where the
    previous one ended.
    """

    def __init__(self, fitter: PromptFitter):
        self.fitter = fitter

    def offsets(self, prompts: list[str], w0: torch.Tensor, first_frames: torch.Tensor, num_frames: int,
                schedule: str, generator: torch.Generator | None, progress: Progress | None = None) -> torch.Tensor:
        """Δw [B, T, L, D] for B prompts; `progress(step, total, loss)` follows a fit of a new prompt.

        w0, first_frames and generator are unused: the motion is face-agnostic.
        """
        out = []
        for prompt in prompts:
            offsets, base = [], torch.zeros(w0.shape[1:], dtype=torch.float64)
            for k, seg in enumerate(plan_sequence(prompt, num_frames)):
                a = self.fitter.fit(seg.prompt, progress).direction.double()           # [L, D]
                p = motion_profile(seg.frames, schedule, continued=k > 0)              # [n]
                offsets.append(base + p[:, None, None] * a)
                base = base + a
            out.append(torch.cat(offsets))
        return torch.stack(out).to(w0)                                                  # [B, T, L, D]


def build_fitter(domain: str, generator, *, device: torch.device, dtype: torch.dtype = torch.float32,
                 settings: FitSettings = FitSettings(), cache: bool = True) -> PromptFitter:
    """A PromptFitter for a domain's loaded generator; the loss CLIP loads on the first fit that needs it.

    Demo: the demo's tiny ViT CLIP. Real domains: ViT-B/32 (clip's own download cache). ArcFace joins the
    objective when the identity weight is > 0 and ir_se50.pth is on disk.
    """
    from .encoders import load_clip
    from .hub import CLIP_LOSS_MODEL, get_domain
    from .training.losses import load_arcface

    spec = get_domain(domain)
    if spec.untrained:
        from .demo import DEMO_VERSION, ensure_demo
        clip_name, model_id = str(ensure_demo().clip_loss), f"demo-v{DEMO_VERSION}"
    else:
        clip_name = CLIP_LOSS_MODEL
        model_id = f"{spec.weights.repo_id}/{spec.weights.filename}@{spec.weights.sha256}|{CLIP_LOSS_MODEL}"
    identity = None
    if settings.loss_weights().identity > 0:
        identity = load_arcface(device, dtype)
    return PromptFitter(spec, generator, clip_loader=lambda: load_clip(clip_name, device=device, dtype=dtype),
                        model_id=model_id, settings=settings, identity=identity, cache=cache)


__all__ = ["EXPRESSIONS", "expression_prompts", "FitSettings", "FitResult", "motion_profile", "cache_key",
           "fitted_dir", "PromptFitter", "FittedMotion", "build_fitter"]
