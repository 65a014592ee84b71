"""Which files a domain loads: the demo's locally built files, or the registry's public files from the Hub.

This is the one place that tells the two apart; everything else asks `domain_files(domain)` and loads what it
names. A source is either a `Path` (on disk already) or a `WeightFile` (fetched from the Hub when first needed:
the 1.2 GB photo encoder, for example, only on the first photo).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .demo import DEMO_VERSION, ensure_demo
from .hub import cached_file, fetch, sha256_of
from .registry import CLIP_FILES, CLIP_LOSS_MODEL, CLIP_MOTION_MODEL, E4E_FFHQ, Domain, WeightFile

Source = Path | WeightFile


@dataclass(frozen=True)
class DomainFiles:
    """The files one domain loads, and a name for them that keys the caches built from them (fitted motions)."""

    stylegan: Source
    clip_motion: Source | str          # a CLIP file, or a CLIP model name ("RN50")
    clip_loss: Source | str            # the CLIP of the losses and scores ("ViT-B/32")
    encoder: Source | None             # the photo encoder (e4e); None: the domain has none
    motion: Path | None                # a trained motion checkpoint that comes with the domain (demo only)
    model_id: str


def domain_files(domain: Domain) -> DomainFiles:
    """The files of `domain` (building the demo's on first use; downloading nothing)."""
    if domain.untrained:
        demo = ensure_demo()
        return DomainFiles(demo.stylegan, demo.clip_motion, demo.clip_loss, demo.encoder, demo.motion,
                           f"demo-v{DEMO_VERSION}")
    g = domain.weights
    return DomainFiles(g, CLIP_MOTION_MODEL, CLIP_LOSS_MODEL, E4E_FFHQ if domain.supports_photos else None, None,
                       f"{g.repo_id}/{g.filename}@{g.sha256}|{CLIP_LOSS_MODEL}")


def resolve(source: Source | str) -> Path | str:
    """The path of a source on disk, downloading a Hub file when needed (a model name is left to its loader)."""
    return fetch(source) if isinstance(source, WeightFile) else source


def generator_identity(files: DomainFiles) -> dict:
    """The StyleGAN2 file a domain loads, as a presets bundle names it: {"file": its name, "sha256": its digest} —
    the registry's (which `fetch` checks), else the file's own, hashed (a built demo file; a file no public source
    gives a digest of)."""
    source = files.stylegan
    if isinstance(source, WeightFile):
        return {"file": source.filename, "sha256": source.sha256 or sha256_of(fetch(source))}
    return {"file": source.name, "sha256": sha256_of(source)}


def stylegan_on_disk(domain: Domain) -> bool:
    """Whether the domain's StyleGAN2 is on disk already (built demo files count: they build offline)."""
    return domain.untrained or cached_file(domain.weights) is not None


def file_hashes(files: DomainFiles, motion: str | Path | None = None) -> dict[str, str]:
    """role -> sha256 of each of a domain's files that is on disk (nothing is downloaded): the registry's sha256 where
    it has one (the file was checked against it when loaded), else the file's own, hashed once per process; a
    folder's files one by one (`motion/model.safetensors`). motion: as `Animator.from_pretrained`'s — None the
    domain's own checkpoint, "fit" none, else a checkpoint file or folder."""
    motion_source = files.motion if motion is None else None if str(motion) == "fit" else Path(motion)
    sources = {"stylegan": files.stylegan, "clip_motion": files.clip_motion, "clip_loss": files.clip_loss,
               "encoder": files.encoder, "motion": motion_source}
    hashes: dict[str, str] = {}
    for role, source in sources.items():
        if isinstance(source, str):                              # a CLIP model name: the first of its files here
            source = next((w for w in CLIP_FILES.get(source, ()) if cached_file(w) is not None), None)
        if isinstance(source, WeightFile):
            path = cached_file(source)
            if path is not None:
                hashes[role] = source.sha256 or _file_sha256(str(path), *_stamp(path))
        elif isinstance(source, Path) and source.is_dir():
            for path in sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")):
                hashes[f"{role}/{path.name}"] = _file_sha256(str(path), *_stamp(path))
        elif isinstance(source, Path) and source.is_file():
            hashes[role] = _file_sha256(str(source), *_stamp(source))
    return hashes


def _stamp(path: Path) -> tuple[int, float]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime


@functools.lru_cache(maxsize=64)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    """sha256 of a file, remembered by (path, size, mtime): a big file is hashed once per process."""
    return sha256_of(Path(path))


__all__ = ["DomainFiles", "domain_files", "resolve", "stylegan_on_disk", "file_hashes", "generator_identity"]
