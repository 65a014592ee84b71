"""`download` and `domains`: the weight files of each domain."""
from __future__ import annotations

from ..weights.demo import demo_dir
from ..weights.domain_files import domain_files, resolve
from ..weights.encoders import clip_file
from ..weights.hub import cached_file
from ..weights.registry import CLIP_LOSS_MODEL, CLIP_MOTION_MODEL, DOMAINS, get_domain


def download(args) -> int:
    spec = get_domain(args.domain)
    files = domain_files(spec)                      # the demo's are built here
    if spec.untrained:
        print(f"demo checkpoints ready in {resolve(files.stylegan).parent}")
        return 0
    for source in (files.stylegan, files.encoder):
        if source is not None:
            print(f"{source.basename}: {resolve(source)}")
    for name in (CLIP_MOTION_MODEL, CLIP_LOSS_MODEL):        # motion embeddings; fitting losses
        print(f"CLIP {name}: {clip_file(name)}")
    return 0


def domains(args) -> int:
    for spec in DOMAINS.values():
        if spec.untrained:
            cached, size = (demo_dir() / "complete").is_file(), "tiny, built locally"
        else:
            cached = cached_file(spec.weights) is not None
            size = f"{spec.weights.size / 1e6:.0f} MB" if spec.weights.size else "size unknown"
        print(f"{spec.name:7s} {spec.title:42s} {size:20s} {'cached' if cached else 'not cached':11s} {spec.licence}")
    return 0
