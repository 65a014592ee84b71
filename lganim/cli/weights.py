"""`download` and `domains`: the weight files of each domain."""
from __future__ import annotations

from ..weights.demo import demo_dir
from ..weights.domain_files import domain_files, resolve
from ..weights.encoders import clip_file
from ..weights.hub import cached_file
from ..weights.registry import CLIP_LOSS_MODEL, CLIP_MOTION_MODEL, DOMAINS, domain_downloads, download_line, get_domain


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
            cached = all(cached_file(f) is not None for f in domain_downloads(spec))
            size = download_line(spec)
        print(f"{spec.name:7s} {spec.title:42s} {'cached' if cached else 'not cached':11s} {spec.licence}\n"
              f"        downloads {size}")
    return 0
