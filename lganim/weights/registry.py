"""The domain registry: which StyleGAN2 each family of faces uses, and every public weight file (pure data).

Where a file comes from at run time (the Hub, the cache, a copy placed by hand) is `hub.py`; which files a
domain loads (built demo files or these) is `domain_files.py`. No torch here (the CLI's `--help` imports it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import GeneratorConfig
from ..errors import LganimError

NVIDIA_NC = "NVIDIA Source Code License-NC (non-commercial)"


@dataclass(frozen=True)
class WeightFile:
    """One public file: where it lives on the Hub, what it is, and how to check it.

    revision: the commit it is pinned to (None: the repo's main branch, where no commit is known). sha256, size:
    None where no public source gives them (the file is then used unverified, and `doctor` says so).
    local_name: its name in the folder of files placed by hand (`LGANIM_WEIGHTS`): unique across the registry,
    since several repos ship files of the same name.
    """

    repo_id: str
    filename: str
    licence: str
    sha256: str | None = None
    size: int | None = None
    revision: str | None = None
    local_name: str | None = None
    approx_mb: int | None = None        # where `size` is unknown: the size public pages give, for display only

    @property
    def shown_mb(self) -> int | None:
        """Its size in MB for people (exact where known, else approximate; None: unknown)."""
        return round(self.size / 1e6) if self.size else self.approx_mb

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision or 'main'}/{self.filename}"

    @property
    def basename(self) -> str:
        """The name of a copy placed by hand."""
        return self.local_name or Path(self.filename).name


@dataclass(frozen=True)
class Domain:
    """A family of faces a StyleGAN2 was trained on."""

    name: str
    title: str
    subject: str                       # fills "The {subject} is smiling." style prompts
    stylegan: GeneratorConfig          # the architecture of its StyleGAN2
    weights: WeightFile | None         # None: built locally (demo)
    licence: str
    truncation: float = 0.7
    supports_photos: bool = False      # only the FFHQ generator has a public e4e encoder
    untrained: bool = False            # random weights: a check of the plumbing, never a result


# TADNE (aydao): rosinality layout with style_dim 1024, n_mlp 4 and doubled channels.
TADNE_CHANNELS = ((4, 1024), (8, 1024), (16, 1024), (32, 1024), (64, 1024), (128, 512), (256, 256), (512, 128))
DEMO_GENERATOR = GeneratorConfig(128, style_dim=64, n_mlp=4,
                                 channels=((4, 64), (8, 64), (16, 64), (32, 32), (64, 32), (128, 16)))

# Commits the files are pinned to (docs/facts.md, "Checkpoints"; weights/README.md says how each was verified).
STYLEGENE = "e301280ac9a63ba7ebb4be3311128bb6c9cb9ae2"      # wmpscc/StyleGene (was wmpscc/StyleGene_CKPT)
STYLEGAN2_PKL = "7d9a80d433e2a63592e73622d3606d600f1fd46e"  # ZeqiangLai/StyleGAN2-pkl (was aaronb/...): ada/ added
TADNE = "fa25938aa8b7f31622746b9fbfe81b71cfb8148a"          # public-data/TADNE: the model added
CLIP_RN50_REV = "00fd56258d8020fda2c9a8b683cf883d477ad3eb"  # timm/resnet50_clip.openai: "Add model"
CLIP_VIT_REV = "ab5b8ef490e86faa07d3523926b842c765de1de5"   # timm/vit_base_patch32_clip_224.openai: "Add model"
OPENAI_CLIP = "MIT (OpenAI CLIP)"

DOMAINS: dict[str, Domain] = {d.name: d for d in [
    Domain("human", "Human faces (FFHQ 1024)", "person", GeneratorConfig(1024),
           WeightFile("wmpscc/StyleGene", "stylegan2-ffhq-config-f.pt", NVIDIA_NC,
                      sha256="d0d7c5e71531c816b8cf01037393ee4fb65ed09dcb6434cc0197771e3051199b", size=132_729_083,
                      revision=STYLEGENE),
           NVIDIA_NC, supports_photos=True),
    Domain("art", "Painted portraits (MetFaces 1024)", "person", GeneratorConfig(1024),
           WeightFile("ZeqiangLai/StyleGAN2-pkl", "ada/metfaces.pkl", NVIDIA_NC,
                      sha256="880a460d011a3696c088f58f5844b44271b17903963f2671f96f72dfbce5f76f",
                      revision=STYLEGAN2_PKL, approx_mb=382),
           NVIDIA_NC),
    Domain("dog", "Dogs (AFHQ-Dog 512)", "dog", GeneratorConfig(512),
           WeightFile("ZeqiangLai/StyleGAN2-pkl", "ada/afhqdog.pkl", NVIDIA_NC,
                      sha256="f124ff3f23206052473a7212cbc1f4e095a73c231500411e9c3b81a11eac3662",
                      revision=STYLEGAN2_PKL),
           NVIDIA_NC),
    Domain("anime", "Anime (TADNE 512)", "character",
           GeneratorConfig(512, style_dim=1024, n_mlp=4, channels=TADNE_CHANNELS),
           WeightFile("public-data/TADNE", "models/aydao-anime-danbooru2019s-512-5268480.pt", "CC0-1.0",
                      revision=TADNE, approx_mb=470),
           "CC0-1.0", truncation=0.6),
    Domain("demo", "Demo (untrained random weights, offline)", "person", DEMO_GENERATOR, None,
           "MIT (generated locally)", truncation=1.0, supports_photos=True, untrained=True),
]}

# Further public files. The e4e file is 1.2 GB: only its encoder tensors are loaded.
E4E_FFHQ = WeightFile("wmpscc/StyleGene", "e4e_ffhq_encode.pt", "MIT (encoder4editing)",
                      sha256="2ace1d9a8c05c10a399bcd500b8dda118f759ff1aac89dbdab7435f2136a0999", size=1_201_649_680,
                      revision=STYLEGENE)
ARCFACE_IRSE50 = WeightFile("AIRI-Institute/HairFastGAN", "pretrained_models/ArcFace/ir_se50.pth",
                            "MIT (TreB1eN InsightFace_Pytorch)", revision="d413b5956e11178299bd341176fbcd6fca61f177",
                            approx_mb=175)
# OpenAI's CLIP weights as open_clip keeps them on the Hub (OpenAI's own URLs answer 404): the same tensors under
# the same names as clip-anytorch's, OpenAI's fp16 values stored as fp32. The safetensors file first, then the
# pickle (read with weights_only=True); never the ResNet repo's pytorch_model.bin (a vision-only timm model).
CLIP_MOTION_MODEL = "RN50"      # motion generator's text/image embeddings (embed 1024)
CLIP_LOSS_MODEL = "ViT-B/32"    # contrastive loss and CLIP score (embed 512)
CLIP_FILES: dict[str, tuple[WeightFile, ...]] = {
    "RN50": (WeightFile("timm/resnet50_clip.openai", "open_clip_model.safetensors", OPENAI_CLIP,
                        revision=CLIP_RN50_REV, local_name="clip-rn50-openai.safetensors", approx_mb=408),
             WeightFile("timm/resnet50_clip.openai", "open_clip_pytorch_model.bin", OPENAI_CLIP,
                        revision=CLIP_RN50_REV, local_name="clip-rn50-openai.bin")),
    "ViT-B/32": (WeightFile("timm/vit_base_patch32_clip_224.openai", "open_clip_model.safetensors", OPENAI_CLIP,
                            revision=CLIP_VIT_REV, local_name="clip-vit-b-32-openai.safetensors", approx_mb=605),
                 WeightFile("timm/vit_base_patch32_clip_224.openai", "open_clip_pytorch_model.bin", OPENAI_CLIP,
                            revision=CLIP_VIT_REV, local_name="clip-vit-b-32-openai.bin")),
}


def domain_downloads(domain: Domain) -> list[WeightFile]:
    """Every file a domain downloads on first use: its StyleGAN2, both CLIP models (motion embeddings; the loss of
    prompt fitting), and the e4e photo encoder where it takes photos. The demo domain downloads nothing."""
    if domain.untrained:
        return []
    return [domain.weights, CLIP_FILES[CLIP_MOTION_MODEL][0], CLIP_FILES[CLIP_LOSS_MODEL][0],
            *([E4E_FFHQ] if domain.supports_photos else [])]


def download_line(domain: Domain) -> str:
    """"2.3 GB (StyleGAN2 133 MB, CLIP 408 + 605 MB, e4e 1202 MB)": what a domain's first use downloads."""
    files = domain_downloads(domain)
    if not files:
        return "no download"
    known = [f.shown_mb for f in files if f.shown_mb is not None]
    names = ["StyleGAN2", "CLIP", "CLIP", "e4e"]
    parts = [f"{n} {f.shown_mb} MB" if f.shown_mb is not None else f"{n} size unknown" for n, f in zip(names, files)]
    total = sum(known) / 1000
    return f"{'≥ ' if len(known) < len(files) else '≈ '}{total:.1f} GB ({', '.join(parts)})"


def get_domain(name: str) -> Domain:
    if not isinstance(name, str) or name not in DOMAINS:
        raise LganimError(f"Unknown domain {name!r}: choose one of {', '.join(DOMAINS)}.")
    return DOMAINS[name]


__all__ = ["NVIDIA_NC", "WeightFile", "Domain", "DOMAINS", "DEMO_GENERATOR", "TADNE_CHANNELS", "E4E_FFHQ",
           "ARCFACE_IRSE50", "CLIP_MOTION_MODEL", "CLIP_LOSS_MODEL", "CLIP_FILES", "domain_downloads", "download_line",
           "get_domain"]
