"""Control directions: one W+ offset per motion-track channel, found from the StyleGAN2 itself (docs/facts.md,
"Tracks and control directions"): the channel tables, the `ControlDirections` a domain has, and their cache.

A motion track (lganim.tracks) drives a face through W+ as Δw[t] = Σ_c value_c[t] · direction_c, where each
direction [L, D] is the offset of one channel unit (a degree of yaw, an inter-ocular distance of mouth opening...).
Eight channels are driven this way (`DRIVEN_CHANNELS`); roll, tx, ty and scale move the pasted-back crop instead.

Layer groups. A channel's direction lives on the W+ layers of its group (`LAYER_GROUPS`, the index is the
resolution, so the same indices hold for every StyleGAN2 with at least `MIN_WS` layers): pose 0-3, mouth 3-6,
eyes 5-8, never 9 and above (those carry colour and identity). How the directions are found is `calibration.py`
(SeFa components, `sefa.py`, then measured, prompt-fitted or fallback).

Cache: `cache_dir()/directions/<domain>-<hash>.safetensors` (+ `.config.json`: methods, R², seconds, settings), one
entry per domain, StyleGAN2 files (`DomainFiles.model_id`) and DIRECTIONS_VERSION, written atomically; a damaged
entry is computed again. Shapes: L = num_ws W+ layers, D = style_dim, T frames.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import checks
from ..config import DRIVEN_CHANNELS
from ..errors import LganimError
from ..files import cache_dir
from ..models.stylegan2 import Generator
from ..tracks.idle import CLOSED
from ..weights.domain_files import DomainFiles
from ..weights.formats import read_safetensors, save_safetensors
from ..weights.registry import Domain

DIRECTIONS_VERSION = 1
LAYER_GROUPS: dict[str, tuple[int, ...]] = {"pose": (0, 1, 2, 3), "mouth": (3, 4, 5, 6), "eyes": (5, 6, 7, 8)}
MIN_WS = 9                          # W+ layers a StyleGAN2 needs (the groups end at layer 8)
CHANNEL_GROUP: dict[str, str] = {"yaw": "pose", "pitch": "pose", "mouth_open": "mouth", "mouth_wide": "mouth",
                                 "smile": "mouth", "eye_l": "eyes", "eye_r": "eyes", "brow": "eyes"}
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


@dataclass
class ControlDirections:
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


def cache_path(domain: Domain, files: DomainFiles) -> Path:
    """Where a domain's control directions are cached (per StyleGAN2 files and DIRECTIONS_VERSION)."""
    blob = json.dumps({"v": DIRECTIONS_VERSION, "domain": domain.name, "model": files.model_id}, sort_keys=True)
    return cache_dir() / "directions" / f"{domain.name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}.safetensors"


def _read(path: Path, domain: Domain, files: DomainFiles, shape: tuple[int, int]) -> ControlDirections | None:
    """The cached entry at `path`, or None when it is missing, damaged or made for something else."""
    if not path.is_file():
        return None
    try:
        state, meta = read_safetensors(path)
        ok = (meta["version"] == DIRECTIONS_VERSION and meta["domain"] == domain.name
              and meta["model"] == files.model_id and set(state) == set(DRIVEN_CHANNELS)
              and set(meta["method"]) == set(DRIVEN_CHANNELS)
              and all(meta["method"][c] in METHODS for c in DRIVEN_CHANNELS)
              and all(tuple(t.shape) == shape and bool(torch.isfinite(t).all()) for t in state.values()))
        if not ok:
            return None
        return ControlDirections(domain.name, {c: state[c].float() for c in DRIVEN_CHANNELS},
                                 {c: meta["method"][c] for c in DRIVEN_CHANNELS},
                                 {c: meta["r2"].get(c) for c in DRIVEN_CHANNELS}, float(meta["seconds"]),
                                 {**meta["meta"], "cached": True})
    except (LganimError, KeyError, TypeError, AttributeError, ValueError):
        return None                                                          # a damaged entry is computed again


def cached_directions(domain: Domain, files: DomainFiles, stylegan: Generator) -> ControlDirections | None:
    """The domain's cached control directions for this StyleGAN2, or None."""
    return _read(cache_path(domain, files), domain, files, (stylegan.num_ws, stylegan.style_dim))


def cached_for(domain: Domain, files: DomainFiles) -> ControlDirections | None:
    """The domain's cached control directions, read without loading its StyleGAN2 (the shape from its config)."""
    config = domain.stylegan
    return _read(cache_path(domain, files), domain, files, (config.num_ws, config.style_dim))


def directions_cached(domain: Domain, files: DomainFiles) -> bool:
    """Whether the domain has readable cached control directions (for `doctor`)."""
    return cached_for(domain, files) is not None


def store_directions(directions: ControlDirections, domain: Domain, files: DomainFiles) -> Path:
    """Cache `directions` (atomically) and return the file."""
    path = cache_path(domain, files)
    meta = {"version": DIRECTIONS_VERSION, "domain": domain.name, "model": files.model_id, "method": directions.method,
            "r2": directions.r2, "seconds": directions.seconds,
            "meta": {k: v for k, v in directions.meta.items() if k != "cached"}}
    return save_safetensors(path.parent, directions.directions, meta, name=path.stem)


__all__ = ["DIRECTIONS_VERSION", "LAYER_GROUPS", "MIN_WS", "CHANNEL_GROUP", "TYPICAL", "FALLBACK_COMPONENT",
           "FALLBACK_SIGMAS", "PROMPT_EXPRESSIONS", "LANDMARK_SUBJECTS", "METHODS", "ControlDirections", "cache_path",
           "cached_directions", "cached_for", "directions_cached", "store_directions"]
