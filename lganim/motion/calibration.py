"""Calibrating a domain's control directions on its StyleGAN2, and getting them (cached, else computed).

How a domain's directions are found (`calibrate`); each channel is marked with its method:

- "measured" (faces of people: human, art; or any domain given a `measure`): N faces (seeds SEED...) are rendered
  at ±STEP_SIGMAS·σ along the top K components of each group and the channels measured on the renders with the
  tracker's own landmark code (dlib 68 points → `face_channels` + `head_pose`, renders shrunk to MEASURE_SIDE px).
  Central differences averaged over the faces give the Jacobian J (channel change per W unit of each component).
  Each channel's direction is the combination β of its group's components that solves, by ridge least squares,
  J β = e_c: its own channel moves by one unit and every other measured channel holds. Residuals are weighted by
  1 / `TYPICAL` (so degrees and inter-ocular distances compare) and the ridge is RIDGE × the mean eigenvalue of
  the normal matrix. R² is then measured on held-out faces rendered along the solved direction at ±TYPICAL and
  ±TYPICAL/2: 1 − Σ(measured − asked)² / Σ(measured − mean)². A channel measured on fewer than MIN_VALID of the
  faces falls back to "sefa-fallback".
- "prompt" (anime, dog: no human landmarks): the paper's prompt for the channel's expression is fitted
  (`fitting.PromptFitter`): "opening mouth" → mouth_open, "smiling" → smile and mouth_wide, "closing eyes" →
  eye_l and eye_r, "surprised" → brow. The fitted W+ offset of the full expression is masked to the channel's
  layer group and scaled so that the full expression equals the channel's typical value (`TYPICAL`, negative for
  the eyes: closing lowers their openness); channels that share one expression split it, so a track at every
  sharing channel's typical value gives the full expression once. Pose (yaw, pitch) uses the fallback rule.
- "sefa-fallback" (the untrained demo, whose renders are colour blobs, and unmeasurable channels): the SeFa
  component `FALLBACK_COMPONENT[c]` of the channel's group (yaw pose #0, pitch pose #1, mouth_open mouth #0,
  mouth_wide mouth #1, smile mouth #2, eye_l eyes #0, eye_r eyes #1, brow eyes #2), scaled so that the channel's
  typical value moves W by FALLBACK_SIGMAS·σ (e.g. a fully open mouth, 0.4, by 2σ; a degree of yaw by 0.1σ).

Shapes: L = num_ws W+ layers, D = style_dim, K components, N faces.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import checks
from ..config import DRIVEN_CHANNELS, StepProgress
from ..errors import LganimError
from ..face.channels import landmark_measure
from ..models.renderer import FastRenderer, Renderer
from ..models.stylegan2 import Generator, to_uint8
from ..startcodes import seed_codes
from ..weights.domain_files import DomainFiles
from ..weights.registry import Domain
from .directions import (
    CHANNEL_GROUP,
    FALLBACK_COMPONENT,
    FALLBACK_SIGMAS,
    LANDMARK_SUBJECTS,
    LAYER_GROUPS,
    MIN_WS,
    PROMPT_EXPRESSIONS,
    TYPICAL,
    ControlDirections,
    cached_directions,
    store_directions,
)
from .fitted import PromptFitter, build_fitter
from .sefa import place, sefa, spread

SAMPLES = 8                         # faces the Jacobian is averaged over (held-out faces: half as many, at least 2)


COMPONENTS = 5                      # SeFa components per group (at least 3: the fallback uses #0-#2)


STEP_SIGMAS = 1.5                   # finite-difference step along a component, in σ


SEED = 1000                         # first seed of the calibration faces (apart from the fitting faces 0..)


RIDGE = 1e-3                        # ridge, relative to the mean eigenvalue of the normal matrix


MIN_VALID = 0.5                     # share of faces a channel must be measured on


HELD_OUT_AMOUNTS = (-1.0, -0.5, 0.5, 1.0)   # held-out renders, in TYPICAL units of the channel


MEASURE_SIDE = 256                  # renders are shrunk to this side (area filter, on the device) before measuring


CHUNK = 32                          # codes rendered and measured at once


MAX_SAMPLES = 64


# First guesses of the measured method's costs (a calibration runs once per domain and is cached: never timed twice):
# one render, in seconds per 1024 px of the StyleGAN2's side (CPU fp32 fast path on 2 cores; a GPU), and one
# measurement (dlib's detector and 68 landmarks on a MEASURE_SIDE² render, about 20 ms, plus the shrink).
RENDER_SECONDS = {"cpu": 2.0, "cuda": 0.01}
MEASURE_SECONDS = 0.05


MAX_COMPONENTS = 32


# images uint8 [N, h, w, 3] and their W+ codes [N, L, D] -> channel -> float [N] (NaN where not measurable)
Measure = Callable[[np.ndarray, torch.Tensor], dict[str, np.ndarray]]


class _Renders:
    """Renders W+ codes in chunks, shrinks them to MEASURE_SIDE, measures them, and counts them (and the seconds
    each part took) for `progress` and the calibration's record."""

    def __init__(self, renderer: Renderer, measure: Measure, total: int, progress: StepProgress | None):
        self.renderer, self.measure, self.total, self.progress, self.done = renderer, measure, total, progress, 0
        self.render_seconds = self.measure_seconds = 0.0

    def __call__(self, codes: torch.Tensor) -> dict[str, np.ndarray]:
        """codes [M, L, D] -> channel -> float64 [M]."""
        parts = []
        for start in range(0, len(codes), CHUNK):
            part = codes[start:start + CHUNK]
            begin = time.perf_counter()
            images = self.renderer(part)                                     # [n, 3, H, W] on the device
            if images.shape[-1] > MEASURE_SIDE:
                images = F.interpolate(images, size=(MEASURE_SIDE, MEASURE_SIDE), mode="area")
            pixels = to_uint8(images).numpy()                                # waits for the device
            rendered = time.perf_counter()
            parts.append(self._checked(self.measure(pixels, part), len(part)))
            self.render_seconds += rendered - begin
            self.measure_seconds += time.perf_counter() - rendered
            self.done += len(part)
            if self.progress is not None:
                self.progress(self.done, self.total)
        return {c: np.concatenate([p[c] for p in parts]) for c in DRIVEN_CHANNELS}

    @staticmethod
    def _checked(values, n: int) -> dict[str, np.ndarray]:
        """The measurer's answer as channel -> float64 [n]; a channel it leaves out is not measurable (NaN)."""
        if not isinstance(values, dict):
            raise LganimError(f"A calibration measurer must return a dict of channel -> values, got "
                              f"{type(values).__name__}.")
        out = {}
        for c in DRIVEN_CHANNELS:
            v = np.asarray(values.get(c, np.full(n, np.nan)), dtype=np.float64)
            if v.shape != (n,):
                raise LganimError(f"The measurer returned {list(v.shape)} values of {c} for {n} images; "
                                  f"it must return one per image.")
            out[c] = v
        return out


def _check_generator(stylegan) -> None:
    if not isinstance(stylegan, Generator):
        raise LganimError(f"Control directions need a lganim.models.stylegan2.Generator, got "
                          f"{type(stylegan).__name__}.")
    if stylegan.num_ws < MIN_WS:
        raise LganimError(f"Control directions need a StyleGAN2 with at least {MIN_WS} W+ layers (64 px or more), "
                          f"this one has {stylegan.num_ws}.")


def _fallback(stylegan: Generator, channels: Sequence[str], comps: dict[str, torch.Tensor],
              sigma: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The fallback rule's directions [L, D]: component FALLBACK_COMPONENT[c], FALLBACK_SIGMAS·σ per typical value."""
    out = {}
    for c in channels:
        g, k = FALLBACK_COMPONENT[c]
        scale = FALLBACK_SIGMAS * float(sigma[g][k]) / TYPICAL[c]
        out[c] = place(comps[g][k:k + 1], LAYER_GROUPS[g], stylegan.num_ws)[0] * scale
    return out


def _solve(jac: dict[str, np.ndarray], channel: str, group_index: int, k: int) -> np.ndarray | None:
    """β [k]: the combination of the channel's group components that moves it by one unit and holds the other
    measured channels (weighted ridge least squares), or None when the channel itself is not measured."""
    cols = slice(group_index * k, (group_index + 1) * k)
    rows = [c for c in DRIVEN_CHANNELS if np.isfinite(jac[c][cols]).all()]
    if channel not in rows:
        return None
    weights = np.array([1.0 / TYPICAL[c] for c in rows])
    jn = np.stack([jac[c][cols] for c in rows]) * weights[:, None]                       # [R, k]
    target = np.array([w if c == channel else 0.0 for c, w in zip(rows, weights)])        # [R]
    normal = jn.T @ jn
    ridge = RIDGE * max(np.trace(normal) / k, 1e-30)
    return np.linalg.solve(normal + ridge * np.eye(k), jn.T @ target)


def measured_renders(samples: int = SAMPLES, components: int = COMPONENTS) -> int:
    """Renders the "measured" method makes (and measures) at most: the Jacobian's and the held-out faces'."""
    held = max(2, samples // 2)
    return 2 * len(LAYER_GROUPS) * components * samples + held * (1 + 4 * len(DRIVEN_CHANNELS))


def _measured(domain: Domain, stylegan: Generator, renderer: Renderer, measure: Measure,
              comps: dict[str, torch.Tensor], sigma: dict[str, torch.Tensor], samples: int, step: float, seed: int,
              progress: StepProgress | None) -> tuple[dict, dict, dict, dict]:
    """The "measured" method (module doc): directions, methods, R² and per-channel details."""
    num_ws, k = stylegan.num_ws, len(next(iter(comps.values())))
    held = max(2, samples // 2)
    groups = list(LAYER_GROUPS)
    renders = _Renders(renderer, measure, measured_renders(samples, k), progress)
    # Jacobian: central differences at ±step·σ along every component of every group, on N faces.
    units = torch.cat([place(comps[g], LAYER_GROUPS[g], num_ws) for g in groups])       # [G·K, L, D] unit per layer
    dist = torch.cat([step * sigma[g] for g in groups])                                  # [G·K] W distance
    w0 = seed_codes(stylegan, range(seed, seed + samples), domain.truncation).float().cpu()   # [N, L, D]
    moves = (units * dist[:, None, None].float())[:, None]                               # [G·K, 1, L, D]
    m = renders(torch.cat([(w0 + moves), (w0 - moves)]).reshape(-1, num_ws, stylegan.style_dim))
    jac = {}
    for c in DRIVEN_CHANNELS:
        plus, minus = m[c].reshape(2, len(dist), samples)
        diff = (plus - minus) / (2 * dist.numpy()[:, None])                              # [G·K, N] per W unit
        ok = np.isfinite(diff)
        mean = np.where(ok, diff, 0.0).sum(1) / np.maximum(ok.sum(1), 1)                  # over the measured faces
        jac[c] = np.where(ok.sum(1) >= MIN_VALID * samples, mean, np.nan)                # [G·K]
    directions, method = {}, {}
    for c in DRIVEN_CHANNELS:
        g = CHANNEL_GROUP[c]
        beta = _solve(jac, c, groups.index(g), k)
        if beta is not None:
            directions[c] = (torch.from_numpy(beta).float()[:, None, None] *
                             place(comps[g], LAYER_GROUPS[g], num_ws)).sum(0)            # [L, D]
            method[c] = "measured"
    missing = [c for c in DRIVEN_CHANNELS if c not in directions]
    directions.update(_fallback(stylegan, missing, comps, sigma))
    method.update(dict.fromkeys(missing, "sefa-fallback"))
    r2, details = _held_out(domain, stylegan, renders, directions, [c for c in DRIVEN_CHANNELS if c not in missing],
                            seed + samples, held)
    if progress is not None:
        progress(renders.total, renders.total)
    details = {"channels": details, "renders": renders.done, "held_out": held,
               "render_seconds": renders.render_seconds, "measure_seconds": renders.measure_seconds,
               "jacobian": {c: [None if not math.isfinite(x) else float(x) for x in jac[c]] for c in DRIVEN_CHANNELS}}
    return directions, method, {c: r2.get(c) for c in DRIVEN_CHANNELS}, details


def _held_out(domain: Domain, stylegan: Generator, renders: _Renders, directions: dict[str, torch.Tensor],
              channels: list[str], seed: int, held: int) -> tuple[dict, dict]:
    """R², slope (measured change per asked unit), leak (RMS change of the other channels, in TYPICAL units, per
    TYPICAL unit asked), observed range (the least and greatest change measured), rmse (RMS of measured − asked)
    and others (the RMS change of each other channel, in its unit) of each channel, on `held` new faces rendered
    along its direction at HELD_OUT_AMOUNTS."""
    if not channels:
        return {}, {}
    wh = seed_codes(stylegan, range(seed, seed + held), domain.truncation).float().cpu()   # [H, L, D]
    amounts = {c: torch.tensor(HELD_OUT_AMOUNTS) * TYPICAL[c] for c in channels}          # [A] each
    codes = [wh] + [(wh[None] + amounts[c][:, None, None, None] * directions[c]).reshape(-1, *wh.shape[1:])
                    for c in channels]
    m = renders(torch.cat(codes))
    n_a = len(HELD_OUT_AMOUNTS)
    r2, details = {}, {}
    for i, c in enumerate(channels):
        block = slice(held * (1 + i * n_a), held * (1 + (i + 1) * n_a))
        change = {o: m[o][block].reshape(n_a, held) - m[o][:held][None] for o in DRIVEN_CHANNELS}   # [A, H]
        asked = amounts[c].double().numpy()[:, None].repeat(held, 1)                  # [A, H]
        y, ok = change[c], np.isfinite(change[c])
        if ok.sum() < MIN_VALID * y.size:
            details[c] = {"r2": None, "slope": None, "leak": None}
            continue
        y, a = y[ok], asked[ok]
        total = float(((y - y.mean()) ** 2).sum())
        r2[c] = 1.0 - float(((y - a) ** 2).sum()) / total if total > 0 else None
        others = [change[o][np.isfinite(change[o])] / TYPICAL[o] for o in DRIVEN_CHANNELS if o != c]
        others = np.concatenate(others) if others else np.zeros(0)
        leak = float(np.sqrt((others ** 2).mean()) / np.sqrt(((a / TYPICAL[c]) ** 2).mean())) if len(others) else None
        held_errors = {o: float(np.sqrt((change[o][np.isfinite(change[o])] ** 2).mean()))
                       for o in DRIVEN_CHANNELS if o != c and np.isfinite(change[o]).any()}
        details[c] = {"r2": r2[c], "slope": float((y * a).sum() / (a * a).sum()), "leak": leak,
                      "observed": [float(y.min()), float(y.max())], "rmse": float(np.sqrt(((y - a) ** 2).mean())),
                      "others": held_errors}
    return r2, details


def _prompted(domain: Domain, stylegan: Generator, fitter: PromptFitter, progress: StepProgress | None) -> dict:
    """The "prompt" method's directions (module doc) for the expression channels."""
    expressions = list(dict.fromkeys(e for e, _ in PROMPT_EXPRESSIONS.values()))
    steps = fitter.settings.steps
    fitted = {}
    for i, expression in enumerate(expressions):
        def step(done, total, loss, base=i * steps):
            if progress is not None:
                progress(base + done, len(expressions) * steps)
        fitted[expression] = fitter.fit(f"The {domain.subject} is {expression}.", step).direction.float().cpu()
    out = {}
    for c, (expression, sign) in PROMPT_EXPRESSIONS.items():
        share = sum(e == expression for e, _ in PROMPT_EXPRESSIONS.values())
        mask = torch.zeros(stylegan.num_ws, 1)
        mask[list(LAYER_GROUPS[CHANNEL_GROUP[c]])] = 1.0
        out[c] = fitted[expression] * mask / (sign * TYPICAL[c] * share)                   # [L, D] per channel unit
    return out


def uses_prompts(domain: Domain) -> bool:
    """Whether the domain's expression directions come from prompt fitting (no human landmarks to measure)."""
    return not domain.untrained and domain.subject not in LANDMARK_SUBJECTS


def calibrate(domain: Domain, stylegan: Generator, *, measure: Measure | None = None, samples: int = SAMPLES,
              components: int = COMPONENTS, step: float = STEP_SIGMAS, seed: int = SEED,
              progress: StepProgress | None = None, fitter: PromptFitter | None = None,
              renderer: Renderer | None = None) -> ControlDirections:
    """Compute a domain's control directions on its loaded StyleGAN2 (on the StyleGAN2's device and dtype).

    The method (module doc): with a `measure` (images uint8 [N, h, w, 3], codes [N, L, D] -> channel -> [N], NaN
    where not measurable), "measured"; without one, the untrained demo takes the fallback, faces of people are
    measured with `landmark_measure`, and other domains (anime, dog) fit prompts with `fitter` (required there).
    samples: faces of the Jacobian; components: SeFa components per group; step: the finite-difference step in σ;
    seed: the first face's seed; progress(done, total): renders measured, or fitting steps; renderer: what renders
    the measured faces (default: a `FastRenderer` in the StyleGAN2's dtype).
    """
    start = time.perf_counter()
    _check_generator(stylegan)
    samples = checks.whole("Calibration samples", samples, 2, MAX_SAMPLES)
    components = checks.whole("SeFa components", components, 3, min(MAX_COMPONENTS, stylegan.style_dim))
    step = checks.number("The calibration step (in standard deviations of W)", step, 1e-3, 10.0)
    seed = checks.whole("The calibration seed", seed, 0, 2 ** 32 - 1 - 2 * samples)
    comps = {g: sefa(stylegan, layers, components) for g, layers in LAYER_GROUPS.items()}      # [K, D] each
    sigma = {g: spread(stylegan, comps[g]) for g in comps}                                       # [K] each
    r2: dict[str, float | None] = dict.fromkeys(DRIVEN_CHANNELS)
    meta = {"components": components, "sigma": {g: s.tolist() for g, s in sigma.items()}}
    if measure is not None or not (domain.untrained or uses_prompts(domain)):
        renderer = renderer or FastRenderer(stylegan, dtype=stylegan.dtype)
        directions, method, r2, details = _measured(domain, stylegan, renderer, measure or landmark_measure, comps,
                                                    sigma, samples, step, seed, progress)
        meta.update(details, samples=samples, step_sigmas=step, seed=seed,
                    measurer="dlib-68" if measure is None else getattr(measure, "__name__", "custom"))
    elif domain.untrained:
        directions = _fallback(stylegan, DRIVEN_CHANNELS, comps, sigma)
        method = dict.fromkeys(DRIVEN_CHANNELS, "sefa-fallback")
    else:
        if fitter is None:
            raise LganimError(f"Control directions of the {domain.name} domain are fitted from prompts: "
                              f"pass a prompt fitter (lganim.motion.fitted.build_fitter).")
        prompted = _prompted(domain, stylegan, fitter, progress)
        pose = [c for c in DRIVEN_CHANNELS if c not in prompted]
        directions = {**_fallback(stylegan, pose, comps, sigma), **prompted}
        method = {c: "prompt" if c in prompted else "sefa-fallback" for c in DRIVEN_CHANNELS}
        meta.update(fit_settings=fitter.settings.key_dict())
    directions = {c: directions[c].float().cpu().contiguous() for c in DRIVEN_CHANNELS}
    return ControlDirections(domain.name, directions, method, r2, time.perf_counter() - start, meta)


def calibrate_domain(domain: Domain, files: DomainFiles, stylegan: Generator, *, samples: int = SAMPLES,
                     components: int = COMPONENTS, progress: StepProgress | None = None,
                     fitter: PromptFitter | None = None) -> ControlDirections:
    """Compute the domain's control directions (`calibrate`, with a prompt fitter where it needs one: `fitter`, by
    default one of the default fit settings) and cache them, replacing any cached entry."""
    if uses_prompts(domain):
        fitter = fitter or build_fitter(domain, files, stylegan)
    else:
        fitter = None
    directions = calibrate(domain, stylegan, samples=samples, components=components, progress=progress, fitter=fitter)
    store_directions(directions, domain, files)
    return directions


def calibration_seconds(domain: Domain, files: DomainFiles, stylegan: Generator) -> float:
    """About how long `load_directions(..., calibrate_if_missing=True)` calibrates here: 0 when the directions are
    cached or take milliseconds (the untrained demo); the measured method's renders and measurements
    (`RENDER_SECONDS`, `MEASURE_SECONDS`); or the fits of the prompt method's expressions (`PromptFitter.fit_seconds`:
    the step time earlier fits measured on this device, or a first guess)."""
    if domain.untrained or cached_directions(domain, files, stylegan) is not None:
        return 0.0
    if uses_prompts(domain):
        fitter = build_fitter(domain, files, stylegan)
        expressions = dict.fromkeys(e for e, _ in PROMPT_EXPRESSIONS.values())
        return sum(fitter.fit_seconds(f"The {domain.subject} is {e}.") for e in expressions)
    render = RENDER_SECONDS["cuda" if stylegan.device.type == "cuda" else "cpu"] * stylegan.size / 1024
    return measured_renders() * (render + MEASURE_SECONDS)


def load_directions(domain: Domain, files: DomainFiles, stylegan: Generator, *, calibrate_if_missing: bool,
                    progress: StepProgress | None = None) -> ControlDirections:
    """The domain's control directions: cached, else computed and cached. The demo's fallback is always computed
    (in milliseconds); a real domain is calibrated only with `calibrate_if_missing` (minutes on a GPU), else an
    LganimError names the command that does it."""
    _check_generator(stylegan)
    directions = cached_directions(domain, files, stylegan)
    if directions is not None:
        return directions
    if not domain.untrained and not calibrate_if_missing:
        raise LganimError(f"The {domain.name} domain has no control directions yet: run `python -m lganim calibrate "
                          f"--domain {domain.name}` once (a few minutes on a GPU).")
    return calibrate_domain(domain, files, stylegan, progress=progress)


def typical_range(channel: str) -> tuple[float, float]:
    """±the channel's typical full movement: the amounts a held-out check asks (±TYPICAL × the largest of
    HELD_OUT_AMOUNTS), the range of a driven channel that nothing measured."""
    reach = max(abs(a) for a in HELD_OUT_AMOUNTS) * abs(TYPICAL[channel])
    return -reach, reach


def observed_ranges(directions: ControlDirections) -> dict[str, tuple[float, float]]:
    """The range (lo ≤ 0 ≤ hi, track units) of each driven channel that its calibration saw its direction make.

    A measured channel: the least and greatest change the held-out faces showed along its direction (an entry
    cached before these were kept: its slope times `typical_range`). Any other method ("prompt", "sefa-fallback":
    nothing was measured): `typical_range`.
    """
    details = directions.meta.get("channels", {})
    out = {}
    for c in DRIVEN_CHANNELS:
        seen = (details.get(c) or {}) if directions.method[c] == "measured" else {}
        lo, hi = typical_range(c)
        if seen.get("observed") is not None:
            lo, hi = seen["observed"]
        elif seen.get("slope") is not None:
            lo, hi = abs(seen["slope"]) * lo, abs(seen["slope"]) * hi
        out[c] = (min(float(lo), 0.0), max(float(hi), 0.0))
    return out


__all__ = ["SAMPLES", "COMPONENTS", "STEP_SIGMAS", "RENDER_SECONDS", "MEASURE_SECONDS", "Measure", "measured_renders",
           "calibrate", "uses_prompts", "calibrate_domain", "calibration_seconds", "load_directions", "typical_range",
           "observed_ranges"]
