"""The domain registry: which generator each family of faces uses, and every public weight file (pure data).

Where a file comes from at run time (the Hub, the cache, a copy placed by hand) is `hub.py`; which files a
domain loads (built demo files or these) is `weights.py`. No torch here (the CLI's `--help` imports it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import GeneratorConfig
from .errors import LganimError

NVIDIA_NC = "NVIDIA Source Code License-NC (non-commercial)"


@dataclass(frozen=True)
class WeightFile:
    """One public file: where it lives on the Hub, what it is, and how to check it."""

    repo_id: str
    filename: str
    licence: str
    sha256: str | None = None
    size: int | None = None

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}/resolve/main/{self.filename}"

    @property
    def basename(self) -> str:
        return Path(self.filename).name


@dataclass(frozen=True)
class Domain:
    """A family of faces a StyleGAN2 was trained on."""

    name: str
    title: str
    subject: str                       # fills "The {subject} is smiling." style prompts
    generator: GeneratorConfig
    weights: WeightFile | None         # None: built locally (demo)
    licence: str
    truncation: float = 0.7
    supports_photos: bool = False      # only the FFHQ generator has a public e4e encoder
    untrained: bool = False            # random weights: a check of the plumbing, never a result


# TADNE (aydao): rosinality layout with style_dim 1024, n_mlp 4 and doubled channels.
TADNE_CHANNELS = ((4, 1024), (8, 1024), (16, 1024), (32, 1024), (64, 1024), (128, 512), (256, 256), (512, 128))
DEMO_GENERATOR = GeneratorConfig(128, style_dim=64, n_mlp=4,
                                 channels=((4, 64), (8, 64), (16, 64), (32, 32), (64, 32), (128, 16)))

DOMAINS: dict[str, Domain] = {d.name: d for d in [
    Domain("human", "Human faces (FFHQ 1024)", "person", GeneratorConfig(1024),
           WeightFile("akhaliq/jojogan-stylegan2-ffhq-config-f", "stylegan2-ffhq-config-f.pt", NVIDIA_NC,
                      sha256="d0d7c5e71531c816b8cf01037393ee4fb65ed09dcb6434cc0197771e3051199b", size=132_729_083),
           NVIDIA_NC, supports_photos=True),
    Domain("art", "Painted portraits (MetFaces 1024)", "person", GeneratorConfig(1024),
           WeightFile("ZeqiangLai/StyleGAN2", "ada/metfaces.pt", NVIDIA_NC), NVIDIA_NC),
    Domain("dog", "Dogs (AFHQ-Dog 512)", "dog", GeneratorConfig(512),
           WeightFile("ZeqiangLai/StyleGAN2", "ada/afhqdog.pt", NVIDIA_NC), NVIDIA_NC),
    Domain("anime", "Anime (TADNE 512)", "character",
           GeneratorConfig(512, style_dim=1024, n_mlp=4, channels=TADNE_CHANNELS),
           WeightFile("public-data/TADNE", "models/aydao-anime-danbooru2019s-512-5268480.pt", "CC0-1.0"), "CC0-1.0",
           truncation=0.6),
    Domain("demo", "Demo (untrained random weights, offline)", "person", DEMO_GENERATOR, None,
           "MIT (generated locally)", truncation=1.0, supports_photos=True, untrained=True),
]}

# Further public files (DESIGN.md §4). The e4e file is 1.2 GB: only its encoder tensors are loaded.
E4E_FFHQ = WeightFile("wmpscc/StyleGene_CKPT", "e4e_ffhq_encode.pt", "MIT (encoder4editing)",
                      sha256="2ace1d9a8c05c10a399bcd500b8dda118f759ff1aac89dbdab7435f2136a0999", size=1_201_649_680)
ARCFACE_IRSE50 = WeightFile("AIRI-Institute/HairFastGAN", "pretrained_models/ArcFace/ir_se50.pth",
                            "MIT (TreB1eN InsightFace_Pytorch)")
CLIP_MOTION_MODEL = "RN50"      # motion generator's text/image embeddings (embed 1024)
CLIP_LOSS_MODEL = "ViT-B/32"    # contrastive loss and CLIP score (embed 512)


def get_domain(name: str) -> Domain:
    if not isinstance(name, str) or name not in DOMAINS:
        raise LganimError(f"Unknown domain {name!r}: choose one of {', '.join(DOMAINS)}.")
    return DOMAINS[name]


__all__ = ["NVIDIA_NC", "WeightFile", "Domain", "DOMAINS", "DEMO_GENERATOR", "TADNE_CHANNELS", "E4E_FFHQ",
           "ARCFACE_IRSE50", "CLIP_MOTION_MODEL", "CLIP_LOSS_MODEL", "get_domain"]
