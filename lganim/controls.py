"""Control directions: one W+ offset per motion-track channel, found from the generator itself (DESIGN.md §8).

A motion track (lganim.tracks) drives a face through W+ as Δw[t] = Σ_c value_c[t] · direction_c, where each
direction [L, D] is the offset of one channel unit (a degree of yaw, an inter-ocular distance of mouth opening...).
Eight channels are driven this way (`DRIVEN_CHANNELS`); roll, tx, ty and scale move the pasted-back crop instead.

Layer groups. A channel's direction lives on the W+ layers of its group (`LAYER_GROUPS`, the index is the
resolution, so the same indices hold for every generator with at least `MIN_WS` layers): pose 0-3, mouth 3-6,
eyes 5-8, never 9 and above (those carry colour and identity).

SeFa (Shen & Zhou, CVPR 2021). The style affines of the layers that read a group's W+ codes, stacked as
A [ΣC_in, D] (weight · scale), have eigenvectors of AᵀA that are the W directions the group is most sensitive
to, largest eigenvalue first. A component is placed on every layer of its group (unit norm per layer, zeros
elsewhere); its sign is fixed so that its largest entry is positive. W distances are counted in standard
deviations σ of the domain's W codes along the component (`spread`), so one rule serves every generator.

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

Cache: `cache_dir()/controls/<domain>-<hash>.safetensors` (+ `.config.json`: methods, R², seconds, settings), one
entry per domain, generator files (`DomainFiles.model_id`) and CONTROLS_VERSION, written atomically; a damaged
entry is computed again. Shapes: L = num_ws W+ layers, D = style_dim, K components, N faces, T frames.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checks
from .align import detect_faces, face_landmarks
from .checkpoints import read_safetensors, save_safetensors
from .domains import Domain
from .errors import LganimError
from .face_track import face_channels
from .files import cache_dir
from .fitting import PromptFitter, build_fitter
from .headpose import head_pose
from .idle import CLOSED
from .render import FastRenderer
from .startcodes import seed_codes
from .stylegan2 import EqualLinear, Generator, to_uint8
from .tracks import CHANNELS
from .weights import DomainFiles

CONTROLS_VERSION = 1
LAYER_GROUPS: dict[str, tuple[int, ...]] = {"pose": (0, 1, 2, 3), "mouth": (3, 4, 5, 6), "eyes": (5, 6, 7, 8)}
MIN_WS = 9                          # W+ layers a generator needs (the groups end at layer 8)
CHANNEL_GROUP: dict[str, str] = {"yaw": "pose", "pitch": "pose", "mouth_open": "mouth", "mouth_wide": "mouth",
                                 "smile": "mouth", "eye_l": "eyes", "eye_r": "eyes", "brow": "eyes"}
DRIVEN_CHANNELS: tuple[str, ...] = tuple(c for c in CHANNELS if c in CHANNEL_GROUP)
REGIONS: dict[str, tuple[str, ...]] = {
    "all": DRIVEN_CHANNELS,
    "pose": ("yaw", "pitch"),
    "expression": ("mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow"),
    "lips": ("mouth_open", "mouth_wide", "smile"),
    "eyes": ("eye_l", "eye_r", "brow"),
}
# A typical full movement of each channel, in its track unit (deg; inter-ocular distances): the residual weights of
# the solve, the held-out amounts, and the value the fallback and prompt directions are scaled to.
TYPICAL: dict[str, float] = {"yaw": 20.0, "pitch": 15.0, "mouth_open": 0.4, "mouth_wide": 0.2, "smile": 0.1,
                             "eye_l": -CLOSED, "eye_r": -CLOSED, "brow": 0.1}
FALLBACK_COMPONENT: dict[str, tuple[str, int]] = {"yaw": ("pose", 0), "pitch": ("pose", 1), "mouth_open": ("mouth", 0),
                                                  "mouth_wide": ("mouth", 1), "smile": ("mouth", 2),
                                                  "eye_l": ("eyes", 0), "eye_r": ("eyes", 1), "brow": ("eyes", 2)}
FALLBACK_SIGMAS = 2.0               # W distance of a typical channel value on the fallback, in σ along the component
# channel -> (expression of the paper's vocabulary, sign of the channel's change at the full expression)
PROMPT_EXPRESSIONS: dict[str, tuple[str, float]] = {
    "mouth_open": ("opening mouth", 1.0), "mouth_wide": ("smiling", 1.0), "smile": ("smiling", 1.0),
    "eye_l": ("closing eyes", -1.0), "eye_r": ("closing eyes", -1.0), "brow": ("surprised", 1.0)}
LANDMARK_SUBJECTS = ("person",)     # domain subjects that dlib's human landmarks can measure
METHODS = ("measured", "prompt", "sefa-fallback")

SAMPLES = 8                         # faces the Jacobian is averaged over (held-out faces: half as many, at least 2)
COMPONENTS = 5                      # SeFa components per group (at least 3: the fallback uses #0-#2)
STEP_SIGMAS = 1.5                   # finite-difference step along a component, in σ
SEED = 1000                         # first seed of the calibration faces (apart from the fitting faces 0..)
RIDGE = 1e-3                        # ridge, relative to the mean eigenvalue of the normal matrix
MIN_VALID = 0.5                     # share of faces a channel must be measured on
HELD_OUT_AMOUNTS = (-1.0, -0.5, 0.5, 1.0)   # held-out renders, in TYPICAL units of the channel
MEASURE_SIDE = 256                  # renders are shrunk to this side (area filter, on the device) before measuring
CHUNK = 32                          # codes rendered and measured at once
SPREAD_SAMPLES, SPREAD_SEED = 1000, 0   # W codes (mapping of seeded z, no truncation) that σ is measured on
MAX_SAMPLES, MAX_COMPONENTS = 64, 32

Progress = Callable[[int, int], None]     # (units done, units in all): renders measured, or fitting steps
# images uint8 [N, h, w, 3] and their W+ codes [N, L, D] -> channel -> float [N] (NaN where not measurable)
Measure = Callable[[np.ndarray, torch.Tensor], dict[str, np.ndarray]]


@dataclass
class Controls:
    """A domain's control directions.

    directions: channel -> float32 CPU [L, D], the W+ offset of one channel unit; method: channel -> one of METHODS;
    r2: channel -> held-out R² of a measured channel, else None; seconds: time to compute them; meta: how (settings,
    per-channel slope and leak, "cached": True when read from the cache).
    """

    domain: str
    directions: dict[str, torch.Tensor]
    method: dict[str, str]
    r2: dict[str, float | None]
    seconds: float
    meta: dict = field(default_factory=dict)

    def offsets(self, values: dict[str, np.ndarray], scales: dict[str, float] | None = None) -> torch.Tensor:
        """Δw float32 [T, L, D] = Σ_c scale_c · value_c[t] · direction_c for channel values [T] (track units).

        Channels without a direction (roll, tx, ty, scale) are ignored; scales default to 1.
        """
        if not isinstance(values, dict) or not values:
            raise LganimError("Control offsets need channel values: a dict of channel name -> values per frame.")
        arrays = {}
        for name, v in values.items():
            try:
                a = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                a = np.full(1, np.nan)
            if a.ndim != 1 or not np.isfinite(a).all():
                raise LganimError(f"The values of channel {name!r} must be finite numbers, one per frame.")
            arrays[name] = a
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1:
            raise LganimError(f"Every channel needs the same number of frames, got {sorted(lengths)}.")
        scales = {} if scales is None else scales
        if not isinstance(scales, dict):
            raise LganimError("Channel scales must be a dict of channel name -> number.")
        for name, s in scales.items():
            checks.number(f"The scale of channel {name!r}", s, -1e6, 1e6)
        used = [c for c in self.directions if c in arrays]
        shape = next(iter(self.directions.values())).shape
        if not used:
            return torch.zeros(lengths.pop(), *shape)
        v = torch.tensor(np.stack([arrays[c] * float(scales.get(c, 1.0)) for c in used]), dtype=torch.float32)
        return torch.einsum("ct,cld->tld", v, torch.stack([self.directions[c] for c in used]))   # [T, L, D]

    def summary(self) -> dict:
        """Methods, R² and time per channel, JSON-ready (what `calibrate --json` writes)."""
        return {"domain": self.domain, "seconds": self.seconds,
                "channels": {c: {"method": self.method[c], "r2": self.r2[c]} for c in self.directions},
                "meta": self.meta}


# ---------------------------------------------------------------------------------------------------- SeFa

def modulations(generator: Generator, index: int) -> list[EqualLinear]:
    """The style affines (w [D] -> s [C_in]) of the layers that read W+ code `index`: conv1 reads 0, convs[i] reads
    i + 1, to_rgb1 reads 1 and to_rgbs[k] reads 2k + 3."""
    layers = [generator.conv1] if index == 0 else []
    if index == 1:
        layers.append(generator.to_rgb1)
    if 1 <= index <= len(generator.convs):
        layers.append(generator.convs[index - 1])
    if index >= 3 and index % 2 == 1 and (index - 3) // 2 < len(generator.to_rgbs):
        layers.append(generator.to_rgbs[(index - 3) // 2])
    return [layer.conv.modulation for layer in layers]


def sefa(generator: Generator, layers: Sequence[int], k: int) -> torch.Tensor:
    """The top k SeFa directions of the W+ `layers`: unit eigenvectors of AᵀA, largest eigenvalue first, float32
    [k, D] on the CPU (A [ΣC_in, D]: the stacked style affines of those layers, weight · scale)."""
    if not layers or any(isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < generator.num_ws
                         for j in layers):
        raise LganimError(f"SeFa layers must be W+ indices from 0 to {generator.num_ws - 1}, got {list(layers)}.")
    k = checks.whole("The number of SeFa components", k, 1, generator.style_dim)
    a = torch.cat([m.weight.detach().to("cpu", torch.float64) * m.scale
                   for j in layers for m in modulations(generator, j)])                 # [ΣC_in, D]
    _, vectors = torch.linalg.eigh(a.T @ a)                                              # ascending eigenvalues
    top = vectors[:, -k:].flip(1).T                                                      # [k, D], largest first
    sign = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))                 # largest entry positive
    return (top * sign).float()


def place(vectors: torch.Tensor, layers: Sequence[int], num_ws: int) -> torch.Tensor:
    """Vectors [K, D] on the given W+ layers, zeros elsewhere: [K, L, D]."""
    out = torch.zeros(vectors.shape[0], num_ws, vectors.shape[1], dtype=vectors.dtype)
    out[:, list(layers)] = vectors[:, None]
    return out


def spread(generator: Generator, vectors: torch.Tensor) -> torch.Tensor:
    """σ [K] float64: the standard deviation of the domain's W codes (mapping of seeded z, no truncation) along
    each unit vector [K, D]."""
    p = generator.input.input
    z = torch.randn(SPREAD_SAMPLES, generator.style_dim, generator=torch.Generator().manual_seed(SPREAD_SEED))
    with torch.no_grad():
        w = generator.mapping(z.to(p.device, p.dtype)).to("cpu", torch.float64)       # [n, D]
    return (w @ vectors.double().T).std(0)


# ---------------------------------------------------------------------------------------------- measuring

def landmark_measure(images: np.ndarray, codes: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """The driven channels of face renders uint8 [N, h, w, 3] (~256 px), measured as the video tracker does (dlib
    68 landmarks of the largest face → `face_channels`, `head_pose` yaw and pitch): absolute values, float64 [N]
    each, NaN where no face is found. `codes` is not used."""
    out = {c: np.full(len(images), np.nan) for c in DRIVEN_CHANNELS}
    for i, img in enumerate(images):
        faces = detect_faces(np.ascontiguousarray(img))
        if not faces:
            continue
        lm = face_landmarks(img, faces[0])
        try:
            values = face_channels(lm)
            pose = head_pose(lm)
        except LganimError:                                                  # degenerate landmarks: not measurable
            continue
        values.update(yaw=pose.yaw, pitch=pose.pitch)
        for c in DRIVEN_CHANNELS:
            out[c][i] = values[c]
    return out


class _Renders:
    """Renders W+ codes in chunks, shrinks them to MEASURE_SIDE, measures them, and counts them for `progress`."""

    def __init__(self, generator: Generator, measure: Measure, total: int, progress: Progress | None):
        self.renderer = FastRenderer(generator, dtype=generator.input.input.dtype)
        self.measure, self.total, self.progress, self.done = measure, total, progress, 0

    def __call__(self, codes: torch.Tensor) -> dict[str, np.ndarray]:
        """codes [M, L, D] -> channel -> float64 [M]."""
        parts = []
        for start in range(0, len(codes), CHUNK):
            part = codes[start:start + CHUNK]
            images = self.renderer(part)                                     # [n, 3, H, W] on the device
            if images.shape[-1] > MEASURE_SIDE:
                images = F.interpolate(images, size=(MEASURE_SIDE, MEASURE_SIDE), mode="area")
            parts.append(self._checked(self.measure(to_uint8(images).numpy(), part), len(part)))
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


# --------------------------------------------------------------------------------------------- calibration

def _check_generator(generator) -> None:
    if not isinstance(generator, Generator):
        raise LganimError(f"Control directions need a lganim.stylegan2.Generator, got {type(generator).__name__}.")
    if generator.num_ws < MIN_WS:
        raise LganimError(f"Control directions need a generator with at least {MIN_WS} W+ layers (64 px or more), "
                          f"this one has {generator.num_ws}.")


def _fallback(generator: Generator, channels: Sequence[str], comps: dict[str, torch.Tensor],
              sigma: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The fallback rule's directions [L, D]: component FALLBACK_COMPONENT[c], FALLBACK_SIGMAS·σ per typical value."""
    out = {}
    for c in channels:
        g, k = FALLBACK_COMPONENT[c]
        scale = FALLBACK_SIGMAS * float(sigma[g][k]) / TYPICAL[c]
        out[c] = place(comps[g][k:k + 1], LAYER_GROUPS[g], generator.num_ws)[0] * scale
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


def _measured(domain: Domain, generator: Generator, measure: Measure, comps: dict[str, torch.Tensor],
              sigma: dict[str, torch.Tensor], samples: int, step: float, seed: int,
              progress: Progress | None) -> tuple[dict, dict, dict, dict]:
    """The "measured" method (module doc): directions, methods, R² and per-channel details."""
    num_ws, k = generator.num_ws, len(next(iter(comps.values())))
    held = max(2, samples // 2)
    groups = list(LAYER_GROUPS)
    renders = _Renders(generator, measure, 2 * len(groups) * k * samples + held * (1 + 4 * len(DRIVEN_CHANNELS)),
                       progress)
    # Jacobian: central differences at ±step·σ along every component of every group, on N faces.
    units = torch.cat([place(comps[g], LAYER_GROUPS[g], num_ws) for g in groups])       # [G·K, L, D] unit per layer
    dist = torch.cat([step * sigma[g] for g in groups])                                  # [G·K] W distance
    w0 = seed_codes(generator, range(seed, seed + samples), domain.truncation).float().cpu()   # [N, L, D]
    moves = (units * dist[:, None, None].float())[:, None]                               # [G·K, 1, L, D]
    m = renders(torch.cat([(w0 + moves), (w0 - moves)]).reshape(-1, num_ws, generator.style_dim))
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
    directions.update(_fallback(generator, missing, comps, sigma))
    method.update(dict.fromkeys(missing, "sefa-fallback"))
    r2, details = _held_out(domain, generator, renders, directions, [c for c in DRIVEN_CHANNELS if c not in missing],
                            seed + samples, held)
    if progress is not None:
        progress(renders.total, renders.total)
    details = {"channels": details, "renders": renders.done, "held_out": held,
               "jacobian": {c: [None if not math.isfinite(x) else float(x) for x in jac[c]] for c in DRIVEN_CHANNELS}}
    return directions, method, {c: r2.get(c) for c in DRIVEN_CHANNELS}, details


def _held_out(domain: Domain, generator: Generator, renders: _Renders, directions: dict[str, torch.Tensor],
              channels: list[str], seed: int, held: int) -> tuple[dict, dict]:
    """R², slope (measured change per asked unit) and leak (RMS change of the other channels, in TYPICAL units, per
    TYPICAL unit asked) of each channel, on `held` new faces rendered along its direction at HELD_OUT_AMOUNTS."""
    if not channels:
        return {}, {}
    wh = seed_codes(generator, range(seed, seed + held), domain.truncation).float().cpu()   # [H, L, D]
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
        details[c] = {"r2": r2[c], "slope": float((y * a).sum() / (a * a).sum()), "leak": leak}
    return r2, details


def _prompted(domain: Domain, generator: Generator, fitter: PromptFitter, progress: Progress | None) -> dict:
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
        mask = torch.zeros(generator.num_ws, 1)
        mask[list(LAYER_GROUPS[CHANNEL_GROUP[c]])] = 1.0
        out[c] = fitted[expression] * mask / (sign * TYPICAL[c] * share)                   # [L, D] per channel unit
    return out


def uses_prompts(domain: Domain) -> bool:
    """Whether the domain's expression directions come from prompt fitting (no human landmarks to measure)."""
    return not domain.untrained and domain.subject not in LANDMARK_SUBJECTS


def calibrate(domain: Domain, generator: Generator, *, measure: Measure | None = None, samples: int = SAMPLES,
              components: int = COMPONENTS, step: float = STEP_SIGMAS, seed: int = SEED,
              progress: Progress | None = None, fitter: PromptFitter | None = None) -> Controls:
    """Compute a domain's control directions on its loaded generator (on the generator's device and dtype).

    The method (module doc): with a `measure` (images uint8 [N, h, w, 3], codes [N, L, D] -> channel -> [N], NaN
    where not measurable), "measured"; without one, the untrained demo takes the fallback, faces of people are
    measured with `landmark_measure`, and other domains (anime, dog) fit prompts with `fitter` (required there).
    samples: faces of the Jacobian; components: SeFa components per group; step: the finite-difference step in σ;
    seed: the first face's seed; progress(done, total): renders measured, or fitting steps.
    """
    start = time.perf_counter()
    _check_generator(generator)
    samples = checks.whole("Calibration samples", samples, 2, MAX_SAMPLES)
    components = checks.whole("SeFa components", components, 3, min(MAX_COMPONENTS, generator.style_dim))
    step = checks.number("The calibration step (in standard deviations of W)", step, 1e-3, 10.0)
    seed = checks.whole("The calibration seed", seed, 0, 2 ** 32 - 1 - 2 * samples)
    comps = {g: sefa(generator, layers, components) for g, layers in LAYER_GROUPS.items()}      # [K, D] each
    sigma = {g: spread(generator, comps[g]) for g in comps}                                       # [K] each
    r2: dict[str, float | None] = dict.fromkeys(DRIVEN_CHANNELS)
    meta = {"components": components, "sigma": {g: s.tolist() for g, s in sigma.items()}}
    if measure is not None or not (domain.untrained or uses_prompts(domain)):
        directions, method, r2, details = _measured(domain, generator, measure or landmark_measure, comps, sigma,
                                                    samples, step, seed, progress)
        meta.update(details, samples=samples, step_sigmas=step, seed=seed,
                    measurer="dlib-68" if measure is None else getattr(measure, "__name__", "custom"))
    elif domain.untrained:
        directions = _fallback(generator, DRIVEN_CHANNELS, comps, sigma)
        method = dict.fromkeys(DRIVEN_CHANNELS, "sefa-fallback")
    else:
        if fitter is None:
            raise LganimError(f"Control directions of the {domain.name} domain are fitted from prompts: "
                              f"pass a prompt fitter (lganim.fitting.build_fitter).")
        prompted = _prompted(domain, generator, fitter, progress)
        pose = [c for c in DRIVEN_CHANNELS if c not in prompted]
        directions = {**_fallback(generator, pose, comps, sigma), **prompted}
        method = {c: "prompt" if c in prompted else "sefa-fallback" for c in DRIVEN_CHANNELS}
        meta.update(fit_settings=fitter.settings.key_dict())
    directions = {c: directions[c].float().cpu().contiguous() for c in DRIVEN_CHANNELS}
    return Controls(domain.name, directions, method, r2, time.perf_counter() - start, meta)


# ---------------------------------------------------------------------------------------------------- cache

def cache_path(domain: Domain, files: DomainFiles) -> Path:
    """Where a domain's control directions are cached (per generator files and CONTROLS_VERSION)."""
    blob = json.dumps({"v": CONTROLS_VERSION, "domain": domain.name, "model": files.model_id}, sort_keys=True)
    return cache_dir() / "controls" / f"{domain.name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.safetensors"


def _read(path: Path, domain: Domain, files: DomainFiles, shape: tuple[int, int]) -> Controls | None:
    """The cached entry at `path`, or None when it is missing, damaged or made for something else."""
    if not path.is_file():
        return None
    try:
        state, meta = read_safetensors(path)
        ok = (meta["version"] == CONTROLS_VERSION and meta["domain"] == domain.name and meta["model"] == files.model_id
              and set(state) == set(DRIVEN_CHANNELS) and set(meta["method"]) == set(DRIVEN_CHANNELS)
              and all(meta["method"][c] in METHODS for c in DRIVEN_CHANNELS)
              and all(tuple(t.shape) == shape and bool(torch.isfinite(t).all()) for t in state.values()))
        if not ok:
            return None
        return Controls(domain.name, {c: state[c].float() for c in DRIVEN_CHANNELS},
                        {c: meta["method"][c] for c in DRIVEN_CHANNELS},
                        {c: meta["r2"].get(c) for c in DRIVEN_CHANNELS}, float(meta["seconds"]),
                        {**meta["meta"], "cached": True})
    except (LganimError, KeyError, TypeError, AttributeError, ValueError):
        return None                                                          # a damaged entry is computed again


def cached_controls(domain: Domain, files: DomainFiles, generator: Generator) -> Controls | None:
    """The domain's cached control directions for this generator, or None."""
    return _read(cache_path(domain, files), domain, files, (generator.num_ws, generator.style_dim))


def controls_cached(domain: Domain, files: DomainFiles) -> bool:
    """Whether the domain has readable cached control directions (for `doctor`)."""
    config = domain.generator
    return _read(cache_path(domain, files), domain, files, (config.num_ws, config.style_dim)) is not None


def store_controls(controls: Controls, domain: Domain, files: DomainFiles) -> Path:
    """Cache `controls` (atomically) and return the file."""
    path = cache_path(domain, files)
    meta = {"version": CONTROLS_VERSION, "domain": domain.name, "model": files.model_id, "method": controls.method,
            "r2": controls.r2, "seconds": controls.seconds,
            "meta": {k: v for k, v in controls.meta.items() if k != "cached"}}
    return save_safetensors(path.parent, controls.directions, meta, name=path.stem)


def calibrate_domain(domain: Domain, files: DomainFiles, generator: Generator, *, samples: int = SAMPLES,
                     components: int = COMPONENTS, progress: Progress | None = None) -> Controls:
    """Compute the domain's control directions (`calibrate`, with a prompt fitter where it needs one) and cache
    them, replacing any cached entry."""
    fitter = build_fitter(domain, files, generator) if uses_prompts(domain) else None
    controls = calibrate(domain, generator, samples=samples, components=components, progress=progress, fitter=fitter)
    store_controls(controls, domain, files)
    return controls


def load_controls(domain: Domain, files: DomainFiles, generator: Generator, *, calibrate_if_missing: bool,
                  progress: Progress | None = None) -> Controls:
    """The domain's control directions: cached, else computed and cached. The demo's fallback is always computed
    (in milliseconds); a real domain is calibrated only with `calibrate_if_missing` (minutes on a GPU), else an
    LganimError names the command that does it."""
    _check_generator(generator)
    controls = cached_controls(domain, files, generator)
    if controls is not None:
        return controls
    if not domain.untrained and not calibrate_if_missing:
        raise LganimError(f"The {domain.name} domain has no control directions yet: run `python -m lganim calibrate "
                          f"--domain {domain.name}` once (a few minutes on a GPU).")
    return calibrate_domain(domain, files, generator, progress=progress)


__all__ = ["CONTROLS_VERSION", "LAYER_GROUPS", "MIN_WS", "CHANNEL_GROUP", "DRIVEN_CHANNELS", "REGIONS", "TYPICAL",
           "FALLBACK_COMPONENT", "FALLBACK_SIGMAS", "PROMPT_EXPRESSIONS", "LANDMARK_SUBJECTS", "METHODS", "SAMPLES",
           "COMPONENTS", "STEP_SIGMAS", "Controls", "Measure", "modulations", "sefa", "place", "spread",
           "landmark_measure", "calibrate", "cache_path", "cached_controls", "controls_cached", "store_controls",
           "uses_prompts", "calibrate_domain", "load_controls"]
