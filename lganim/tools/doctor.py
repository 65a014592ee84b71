"""The self-check a user runs first on a new machine or Space: every file each domain needs (where it comes from,
whether it is here and verified), then each file loaded strictly and used once — a frame rendered, both CLIP
models run on it, the photo encoder run on it, "The person is smiling." fitted for a few steps — with the time of
each step, and the machine: device, dtype, torch and CUDA versions, GPU memory.

`diagnose(...)` returns the report as a dict (what `--json` writes); `ok` is true when every file is present and
verified (or has no known sha256) and every step ran. `hub` says whether files could be downloaded: HF_HUB_OFFLINE
set, the Hub unreachable (one short probe), or reachable. Whether the fit raised the CLIP similarity is reported apart
(`fit_improved`): on the untrained demo domain it says nothing about the code.
"""
from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import __version__
from ..config import DEFAULT_PROMPT, FitSettings
from ..device import device_line, resolve_device, resolve_dtype
from ..errors import LganimError
from ..models.e4e import invert
from ..models.renderer import FastRenderer
from ..models.stylegan2 import to_uint8
from ..motion.directions import directions_cached
from ..motion.fitted import PromptFitter, motion_profile
from ..startcodes import seed_codes
from ..weights.domain_files import domain_files
from ..weights.encoders import load_clip, load_e4e
from ..weights.hub import fetch, file_status, hub_access, local_weights_dir
from ..weights.registry import CLIP_FILES, Domain, WeightFile, get_domain
from ..weights.stylegan_files import load_generator

FIT_PROMPT = DEFAULT_PROMPT
FILE_ROLES = ("stylegan", "encoder", "clip_motion", "clip_loss", "motion")


@dataclass
class FileCheck:
    """One file a domain needs, and what was found."""

    domains: list[str]
    role: str                                   # stylegan, encoder (e4e), clip_motion (RN50), clip_loss (ViT-B/32),
                                                # motion (a trained motion model that comes with the domain)
    repo_id: str | None                         # None: built locally (demo)
    filename: str
    revision: str | None
    sha256: str | None
    size: int | None
    status: str = "missing"                     # verified | unverified | built | missing | corrupt
    path: str | None = None
    fix: str | None = None                      # how to get it, when it is not here

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class DomainCheck:
    name: str
    steps: list[Step] = field(default_factory=list)
    skipped: str | None = None                  # why the steps did not run
    fit: dict | None = None
    controls: str = "not cached"                # the control directions that drive faces (retarget, talk)


def environment(device: torch.device, dtype: torch.dtype) -> dict:
    """The machine and the libraries, as a report shows them."""
    gpu = None
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        gpu = {"name": torch.cuda.get_device_name(device), "memory_total_bytes": total, "memory_free_bytes": free}
    return {"lganim": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device), "dtype": str(dtype),
            "device_line": device_line(device), "gpu": gpu}


def candidates(role: str, source) -> list[WeightFile]:
    """The public files that can serve a role (CLIP: the safetensors file, then the pickle)."""
    if isinstance(source, str):
        return list(CLIP_FILES[source])
    return [source]


def check_file(role: str, source, download: bool) -> FileCheck:
    """Where one file of a domain is: built locally (a Path), or a registry file on disk, downloaded if allowed."""
    if isinstance(source, Path):
        return FileCheck([], role, None, source.name, None, None, source.stat().st_size if source.is_file() else None,
                         "built" if source.exists() else "missing", str(source))
    files = candidates(role, source)
    first = files[0]
    check = FileCheck([], role, first.repo_id, first.filename, first.revision, first.sha256, first.size)
    for weight in files:
        status, path = file_status(weight)
        if status == "missing" and download:
            try:
                fetch(weight)
            except LganimError as err:
                check.fix = check.fix or err.full_message()
                continue
            status, path = file_status(weight)
        if status != "missing":
            check.repo_id, check.filename, check.revision = weight.repo_id, weight.filename, weight.revision
            check.sha256, check.size, check.status, check.path = weight.sha256, weight.size, status, str(path)
            check.fix = None if status != "corrupt" else f"delete {path} and download it again"
            return check
    check.fix = check.fix if download else (f"download {first.url} and place it as "
                                            f"{local_weights_dir() / first.basename} (or run `python -m lganim "
                                            f"download`)")
    return check


class Timer:
    """Runs the steps of one domain, each timed; a failed step ends the domain's checks."""

    def __init__(self, report: DomainCheck):
        self.report, self.failed = report, False

    def run(self, name: str, work: Callable[[], str]):
        if self.failed:
            return None
        start = time.perf_counter()
        try:
            detail = work()
            ok = True
        except LganimError as err:
            detail, ok = str(err), False
        seconds = time.perf_counter() - start
        self.report.steps.append(Step(name, ok, round(seconds, 3), detail))
        self.failed = not ok
        return ok


def clip_similarity(clip, images: torch.Tensor, prompt: str) -> float:
    """Cosine similarity of CLIP's embeddings of images [1, 3, H, W] and a prompt."""
    with torch.inference_mode():
        return float((clip.encode_image(images) * clip.encode_text([prompt])).sum())


def check_domain(spec: Domain, files: dict[str, FileCheck], device: torch.device, dtype: torch.dtype,
                 fit_steps: int) -> DomainCheck:
    """Load every file of a domain strictly and use each once (see the module docstring)."""
    report = DomainCheck(spec.name)
    absent = [f"{f.filename} ({f.status})" for f in files.values() if f.status in ("missing", "corrupt")]
    if absent:
        report.skipped = f"files not usable: {', '.join(absent)}"
        return report
    timer = Timer(report)
    parts: dict = {}

    def load_gen() -> str:
        parts["g"] = load_generator(files["stylegan"].path, spec.stylegan, device=device, dtype=dtype)
        g = parts["g"]
        return f"{g.size}px, {g.num_ws}x{g.style_dim} W+, {sum(p.numel() for p in g.parameters()):,} parameters"

    def render() -> str:
        g = parts["g"]
        parts["w0"] = seed_codes(g, [0], spec.truncation)
        parts["frame"] = FastRenderer(g, dtype=dtype)(parts["w0"])                        # [1, 3, H, W]
        if not torch.isfinite(parts["frame"]).all():
            raise LganimError("the rendered frame holds NaN or inf")
        return f"one {g.size}x{g.size} frame"

    def encoder() -> str:
        model, latent_avg = load_e4e(files["encoder"].path, device=device, dtype=dtype)
        w = invert(model, latent_avg, to_uint8(parts["frame"]).numpy())
        if tuple(w.shape[1:]) != (parts["g"].num_ws, parts["g"].style_dim):
            raise LganimError(f"the photo encoder gives {tuple(w.shape[1:])} codes")
        return f"inverted the frame to W+ {tuple(w.shape[1:])}"

    def clip(role: str) -> Callable[[], str]:
        def load() -> str:
            parts[role] = load_clip(files[role].path, device=device, dtype=dtype)
            similarity = clip_similarity(parts[role], parts["frame"], FIT_PROMPT)
            return f"embed {parts[role].embed_dim}; similarity of the frame to {FIT_PROMPT!r}: {similarity:.4f}"
        return load

    def fit() -> str:
        g, vit = parts["g"], parts["clip_loss"]
        settings = FitSettings(steps=fit_steps, batch=1, frames=2, max_seconds=300.0)
        fitter = PromptFitter(spec, g, clip_loader=lambda: vit, model_id="doctor", settings=settings, cache=False)
        result = fitter.fit(FIT_PROMPT)
        end = float(motion_profile(settings.frames)[-1])                                # p(T-1) = 1
        moved = parts["w0"] + end * result.direction.to(parts["w0"])[None]
        before = clip_similarity(vit, parts["frame"], FIT_PROMPT)
        after = clip_similarity(vit, FastRenderer(g, dtype=dtype)(moved), FIT_PROMPT)
        report.fit = {"prompt": FIT_PROMPT, "steps": result.steps, "loss_first": result.loss_first,
                      "loss_last": result.loss_last, "similarity_before": before, "similarity_after": after,
                      "improved": after > before}
        return (f"{result.steps} steps: loss {result.loss_first:.4f} -> {result.loss_last:.4f}; CLIP similarity "
                f"{before:.4f} -> {after:.4f} ({'rose' if after > before else 'did not rise'})")

    timer.run("load the StyleGAN2 strictly", load_gen)
    timer.run("render a frame", render)
    if "encoder" in files:
        timer.run("load the photo encoder and invert the frame", encoder)
    timer.run("load CLIP RN50 (motion) and embed the frame", clip("clip_motion"))
    timer.run("load CLIP ViT-B/32 (losses) and embed the frame", clip("clip_loss"))
    timer.run(f"fit {FIT_PROMPT!r}", fit)
    return report


def hub_state(specs: list[Domain], download: bool) -> dict:
    """Whether the Hub can be asked for these domains' files: {"state": reachable | offline (HF_HUB_OFFLINE is set)
    | unreachable | not asked (--no-download) | not needed (every file is built here), "reason": in words}."""
    public = [spec.weights for spec in specs if spec.weights is not None]
    if not public:
        return {"state": "not needed", "reason": "every file of these domains is built on this machine"}
    if not download:
        return {"state": "not asked", "reason": "downloads are off (--no-download)"}
    access = hub_access(public[0])
    return {"state": access.state, "reason": access.reason}


def diagnose(domains: list[str], *, device: str = "auto", dtype: str | None = None, download: bool = True,
             fit_steps: int = 10) -> dict:
    """The report of every domain asked for (see the module docstring)."""
    specs = [get_domain(name) for name in dict.fromkeys(domains)]
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    hub = hub_state(specs, download)                    # one probe at most: the fetches below reuse its answer
    checks: dict[tuple, FileCheck] = {}
    per_domain: dict[str, dict[str, FileCheck]] = {}
    for spec in specs:
        files = domain_files(spec)                      # the demo's are built here
        per_domain[spec.name] = {}
        for role in FILE_ROLES:
            source = getattr(files, role)
            if source is None:
                continue
            key = (role, str(source))
            if key not in checks:
                checks[key] = check_file(role, source, download)
            checks[key].domains.append(spec.name)
            per_domain[spec.name][role] = checks[key]
    reports = [check_domain(spec, per_domain[spec.name], dev, dt, fit_steps) for spec in specs]
    for spec, report in zip(specs, reports):
        report.controls = ("built on first use (no calibration needed)" if spec.untrained else
                           "cached" if directions_cached(spec, domain_files(spec)) else
                           f"not cached: calibrated on first use on a GPU, or run `python -m lganim calibrate "
                           f"--domain {spec.name}`")
    files_ok = all(c.status in ("verified", "unverified", "built") for c in checks.values())
    steps_ok = all(r.skipped is None and r.steps and all(s.ok for s in r.steps) for r in reports)
    return {"ok": files_ok and steps_ok, "environment": environment(dev, dt), "hub": hub,
            "files": [c.to_dict() for c in checks.values()],
            "domains": {r.name: {"skipped": r.skipped, "steps": [s.__dict__ for s in r.steps], "fit": r.fit,
                                 "control_directions": r.controls} for r in reports},
            "fit_improved": {r.name: (r.fit or {}).get("improved") for r in reports}}


__all__ = ["FIT_PROMPT", "diagnose", "environment", "check_file", "check_domain", "FileCheck"]
