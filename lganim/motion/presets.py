"""Presets: prompts fitted once and a domain's control directions, in one folder that can be shared on the Hub and
loaded instead of fitting and calibrating (`python -m lganim prefit` makes one: lganim/tools/prefit.py).

A bundle is a folder, or a Hub model repo `USER/NAME[@REVISION]` holding the same files:

    index.json              what it is, read first: {"format": FORMAT, "bundle_version", "fit_version", "lganim",
                            "domain", "generator": {"file", "sha256"}, "settings": the fit settings (FitSettings
                            fields but the time budget), "prompts": {prompt: {"tensor", "loss_first", "loss_last",
                            "steps", "seconds"}}, "directions": {"method", "r2", "seconds", "meta"} or null}
    prompts.safetensors     each prompt's direction A [L, D] (float32), under its "tensor" name
    directions.safetensors  the control directions: channel -> [L, D] (only when "directions" is not null)
    README.md, strips/      the model card and a strip per prompt (for people; never read here)

Loading checks a bundle against what loads it and refuses it in one line naming the first mismatch: another domain,
another generator file (its sha256), other fit settings (how a step computes aside: bf16 and fp32, one face a step
or all of them, fit the same objective; the steps count as passes over the faces), another fit or bundle version, a
missing or damaged file, a tensor of another shape or not finite. A bundle is read whole before anything uses it, so
nothing is loaded half.

`LGANIM_PRESETS` names the bundles `Animator.from_pretrained` loads when it is given none: one or more, separated by
commas, each serving its own domain (its index says which); a Hub repo's files come through `hf_hub_download`.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__, checks
from ..config import DRIVEN_CHANNELS, FitSettings
from ..errors import LganimError
from ..files import write_json
from ..models.stylegan2 import Generator
from ..weights.domain_files import DomainFiles, generator_identity
from ..weights.formats import read_safetensors, save_safetensors
from ..weights.hub import repo_file
from ..weights.registry import Domain
from .directions import METHODS, ControlDirections
from .fitted import FIT_VERSION, FitResult, applied_settings

FORMAT = "lganim-presets"
BUNDLE_VERSION = 1
INDEX = "index.json"
PROMPTS = "prompts"                 # prompts.safetensors
DIRECTIONS = "directions"           # directions.safetensors
ENV = "LGANIM_PRESETS"
REPO = re.compile(rf"^(?P<repo>{checks.HUB_REPO})(?:@(?P<revision>[\w./-]+))?$")   # USER/NAME[@REVISION]


@dataclass(frozen=True)
class Bundle:
    """A bundle found and its index read (its tensors not yet): in a folder, or in a Hub repo at a revision."""

    source: str                     # as given: a folder, or USER/NAME[@REVISION]
    index: dict
    folder: Path | None = None      # None: a Hub repo
    repo: str | None = None
    revision: str | None = None

    @property
    def domain(self) -> str:
        return self.index["domain"]

    def file(self, name: str) -> Path:
        """One of its files on disk (a Hub repo's downloaded or from huggingface_hub's cache)."""
        if self.folder is not None:
            path = self.folder / name
            if not path.is_file():
                raise LganimError(f"The presets in {self.source} are damaged: {name} is missing.")
            return path
        return repo_file(self.repo, name, self.revision)


@dataclass(frozen=True)
class Presets:
    """A bundle loaded for one Animator: its fitted prompts and its control directions (None: it has none)."""

    source: str
    prompts: dict[str, FitResult]
    directions: ControlDirections | None


# -- finding a bundle -------------------------------------------------------------------------------------------
def open_bundle(source: str | Path) -> Bundle:
    """The bundle at `source` (a folder, or a Hub repo USER/NAME[@REVISION]) with its index read and checked for
    form."""
    text = str(source)
    folder = Path(source)
    if folder.exists() or not REPO.match(text):
        if not folder.is_dir():
            raise LganimError(f"{text} is neither a presets folder nor a Hub repo (USER/NAME[@REVISION]).")
        index_path = folder / INDEX
        if not index_path.is_file():
            raise LganimError(f"{text} is not a presets bundle: it has no {INDEX} (make one with `python -m lganim "
                              f"prefit`).")
        return Bundle(text, _read_index(index_path, text), folder=folder)
    match = REPO.match(text)
    repo, revision = match["repo"], match["revision"]
    try:
        index_path = repo_file(repo, INDEX, revision)
    except LganimError as e:
        raise LganimError(f"{text} is not a folder here, and as a Hub repo: {e}") from None
    return Bundle(text, _read_index(index_path, text), repo=repo, revision=revision)


def _read_index(path: Path, source: str) -> dict:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise LganimError(f"The {INDEX} of the presets in {source} cannot be read ({type(e).__name__}).") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise LganimError(f"The {INDEX} in {source} is not a presets index (no \"format\": \"{FORMAT}\").")
    kinds = {"bundle_version": int, "fit_version": int, "domain": str, "generator": dict, "settings": dict,
             "prompts": dict, "directions": (dict, type(None))}
    for key, kind in kinds.items():
        if not isinstance(index.get(key), kind):
            raise LganimError(f"The {INDEX} of the presets in {source} is damaged: {key!r} is missing or wrong.")
    if index["bundle_version"] != BUNDLE_VERSION:
        raise LganimError(f"The presets in {source} are bundle version {index['bundle_version']}; this lganim reads "
                          f"version {BUNDLE_VERSION}: make them again with `python -m lganim prefit`.")
    return index


def configured_bundles() -> list[Bundle]:
    """The bundles `LGANIM_PRESETS` names (comma-separated), each index read; two for one domain are refused."""
    bundles = [open_bundle(part.strip()) for part in os.environ.get(ENV, "").split(",") if part.strip()]
    seen: dict[str, str] = {}
    for b in bundles:
        if b.domain in seen:
            raise LganimError(f"{ENV} names two bundles of the {b.domain} domain ({seen[b.domain]} and {b.source}): "
                              f"keep one.")
        seen[b.domain] = b.source
    return bundles


def bundle_for(domain: Domain, presets: str | Path | None) -> Bundle | None:
    """The bundle an Animator of `domain` loads: `presets`, else the one `LGANIM_PRESETS` names for the domain."""
    if presets is not None:
        return open_bundle(presets)
    return next((b for b in configured_bundles() if b.domain == domain.name), None)


# -- loading one ------------------------------------------------------------------------------------------------
def what_is_fitted(settings: dict) -> dict:
    """A fit's settings (`FitSettings.key_dict()`, applied) as they decide what is fitted, not how a step computes it
    on a device: without the compute dtype (bf16 and fp32 fit one objective) and the faces a step renders, and with
    the steps counted in passes over the faces (800 steps of one face of 4 fit as long as 200 of all 4)."""
    out = {k: v for k, v in settings.items() if k not in ("dtype", "faces_per_step")}
    faces, batch, steps = settings.get("faces_per_step"), settings.get("batch"), settings.get("steps")
    if all(isinstance(v, int) and v > 0 for v in (faces, batch, steps)):
        out["steps"] = f"{steps * faces / batch:g} passes over the faces"
    return out


def load_presets(bundle: Bundle, domain: Domain, files: DomainFiles, stylegan: Generator,
                 settings: FitSettings) -> Presets:
    """Check `bundle` against the loaded domain (its generator file, the fit settings and version) and read it
    whole: one LganimError naming the first mismatch or damage, else the Presets."""
    index, src = bundle.index, bundle.source
    if bundle.domain != domain.name:
        raise LganimError(f"The presets in {src} are for the {bundle.domain} domain, not {domain.name}.")
    again = f"make them again with `python -m lganim prefit --domain {domain.name}`"
    if index["fit_version"] != FIT_VERSION:
        raise LganimError(f"The presets in {src} were fitted by fit version {index['fit_version']}; this lganim fits "
                          f"with version {FIT_VERSION}: {again}.")
    mine, theirs = generator_identity(files)["sha256"], index["generator"].get("sha256")
    if theirs != mine:
        raise LganimError(f"The presets in {src} were fitted on another {domain.name} generator file (sha256 "
                          f"{str(theirs)[:12]}…; the one loaded is {mine[:12]}…): {again}.")
    # the settings as this Animator's fitter applies them, but how a step computes (the objective is one)
    want, have = what_is_fitted(applied_settings(settings, stylegan).key_dict()), what_is_fitted(index["settings"])
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            raise LganimError(f"The presets in {src} were fitted with {key}={have.get(key)!r}, this Animator fits "
                              f"with {key}={want.get(key)!r}: load them with the same fit settings, or {again}.")
    shape = (stylegan.num_ws, stylegan.style_dim)
    prompts = {}
    if index["prompts"]:
        tensors = _tensors(bundle, PROMPTS, shape)
        for prompt, entry in index["prompts"].items():
            try:
                a = tensors[entry["tensor"]]
                prompts[prompt] = FitResult(prompt, a, float(entry["loss_first"]), float(entry["loss_last"]),
                                            int(entry["steps"]), float(entry["seconds"]), {}, cached=True)
            except (KeyError, TypeError, ValueError):
                raise LganimError(f"The presets in {src} are damaged: the entry of {prompt!r} names no direction "
                                  f"of {PROMPTS}.safetensors.") from None
    directions = None if index["directions"] is None else _directions(bundle, domain, shape)
    return Presets(src, prompts, directions)


def _tensors(bundle: Bundle, name: str, shape: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The tensors of `name`.safetensors, each float32 [L, D] and finite."""
    path = bundle.file(f"{name}.safetensors")
    try:
        state, _ = read_safetensors(path)
    except LganimError:
        raise LganimError(f"The presets in {bundle.source} are damaged: {name}.safetensors cannot be read.") from None
    for key, t in state.items():
        if tuple(t.shape) != shape or not bool(torch.isfinite(t).all()):
            raise LganimError(f"The presets in {bundle.source} do not fit this generator: {name}.safetensors holds "
                              f"{key} of shape {list(t.shape)}, the generator's W+ is {list(shape)}"
                              + ("" if tuple(t.shape) != shape else " (or it is not finite)") + ".")
    return {k: t.float() for k, t in state.items()}


def _directions(bundle: Bundle, domain: Domain, shape: tuple[int, int]) -> ControlDirections:
    entry, src = bundle.index["directions"], bundle.source
    state = _tensors(bundle, DIRECTIONS, shape)
    method, r2 = entry.get("method"), entry.get("r2")
    if (set(state) != set(DRIVEN_CHANNELS) or not isinstance(method, dict) or not isinstance(r2, dict)
            or any(method.get(c) not in METHODS for c in DRIVEN_CHANNELS)):
        raise LganimError(f"The presets in {src} are damaged: their control directions are not one per channel "
                          f"({', '.join(DRIVEN_CHANNELS)}).")
    return ControlDirections(domain.name, {c: state[c] for c in DRIVEN_CHANNELS},
                             {c: method[c] for c in DRIVEN_CHANNELS}, {c: r2.get(c) for c in DRIVEN_CHANNELS},
                             float(entry.get("seconds", 0.0)), {**entry.get("meta", {}), "presets": src})


# -- writing one ------------------------------------------------------------------------------------------------
def new_index(domain: Domain, files: DomainFiles, settings: FitSettings) -> dict:
    """The index of an empty bundle for `domain` fitted with `settings` (as its fitter applies them)."""
    return {"format": FORMAT, "bundle_version": BUNDLE_VERSION, "fit_version": FIT_VERSION, "lganim": __version__,
            "domain": domain.name, "generator": generator_identity(files), "settings": settings.key_dict(),
            "prompts": {}, "directions": None}


def matches(index: dict, fresh: dict) -> str | None:
    """Why a bundle's index cannot be resumed by a prefit that would write `fresh` (None: it can)."""
    for key in ("bundle_version", "fit_version", "domain", "generator", "settings"):
        if index.get(key) != fresh[key]:
            return f"its {key} is {index.get(key)!r}, this prefit's {fresh[key]!r}"
    return None


def write_prompt(out: Path, index: dict, result: FitResult, directions: dict[str, torch.Tensor]) -> dict:
    """Add a fitted prompt to the bundle in `out`: the prompts' tensors (`directions`: tensor name -> A [L, D], this
    prompt's added), then the index that names it, each written whole; returns the new index."""
    tensor = f"p{len(index['prompts']):03d}"
    directions = {**directions, tensor: result.direction.float()}
    save_safetensors(out, directions, {"domain": index["domain"]}, name=PROMPTS, beside=False)
    entry = {"tensor": tensor, "loss_first": result.loss_first, "loss_last": result.loss_last, "steps": result.steps,
             "seconds": result.seconds}
    index = {**index, "prompts": {**index["prompts"], result.prompt: entry}}
    write_json(out / INDEX, index)
    return index


def write_directions(out: Path, index: dict, controls: ControlDirections) -> dict:
    """Add the control directions to the bundle in `out` (their tensors, then the index); returns the new index."""
    save_safetensors(out, controls.directions, {"domain": index["domain"]}, name=DIRECTIONS, beside=False)
    meta = {k: v for k, v in controls.meta.items() if k not in ("cached", "presets")}
    index = {**index, "directions": {"method": controls.method, "r2": controls.r2, "seconds": controls.seconds,
                                     "meta": meta}}
    write_json(out / INDEX, index)
    return index


def read_prompt_tensors(out: Path, index: dict) -> dict[str, torch.Tensor]:
    """The prompts' tensors of the bundle being written in `out` (to add one more); {} before the first."""
    if not index["prompts"]:
        return {}
    state, _ = read_safetensors(out / f"{PROMPTS}.safetensors")
    return state


__all__ = ["FORMAT", "BUNDLE_VERSION", "INDEX", "ENV", "Bundle", "Presets", "open_bundle", "configured_bundles",
           "what_is_fitted", "bundle_for", "load_presets", "new_index", "matches", "write_prompt",
           "write_directions", "read_prompt_tensors"]
