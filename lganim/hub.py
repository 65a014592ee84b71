"""Where weight files come from: the domain registry, the Hugging Face Hub, and local overrides.

Resolution order for a file: the folder named by `LGANIM_WEIGHTS` (or the checkout's `weights/`), then the
Hub through huggingface_hub (its cache, `HF_TOKEN`, `HF_HUB_OFFLINE`). A download is checked against the
registry's sha256 where one is known. The `demo` domain is built locally (see `demo.py`).
"""
from __future__ import annotations

import hashlib
import json
import os
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
    try:
        return DOMAINS[name]
    except KeyError:
        raise LganimError(f"Unknown domain {name!r}: choose one of {', '.join(DOMAINS)}.") from None


def cache_dir() -> Path:
    """lganim's own cache (the demo domain, fitted motions): LGANIM_CACHE or ~/.cache/lganim."""
    return Path(os.environ.get("LGANIM_CACHE") or Path.home() / ".cache" / "lganim")


def local_weights_dir() -> Path:
    """Files placed by hand: LGANIM_WEIGHTS, else the checkout's weights/ folder."""
    env = os.environ.get("LGANIM_WEIGHTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "weights"


def local_file(weight: WeightFile) -> Path | None:
    path = local_weights_dir() / weight.basename
    return path if path.is_file() else None


def cached_file(weight: WeightFile) -> Path | None:
    """The file if it is already on disk (local folder or Hub cache); never downloads."""
    found = local_file(weight)
    if found:
        return found
    from huggingface_hub import try_to_load_from_cache
    hit = try_to_load_from_cache(weight.repo_id, weight.filename)
    return Path(hit) if isinstance(hit, str) else None


def missing_message(weight: WeightFile, reason: str) -> str:
    return (f"Could not get {weight.basename} from the Hugging Face Hub repo {weight.repo_id} ({reason}). "
            f"Download {weight.url} by hand and place it in {local_weights_dir()}/ (or set LGANIM_WEIGHTS).")


def fetch(weight: WeightFile, *, token: str | None = None) -> Path:
    """Path to the file on disk, downloading it through huggingface_hub when needed."""
    found = local_file(weight)
    if found:
        return found
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    try:
        path = Path(hf_hub_download(weight.repo_id, weight.filename, token=token or os.environ.get("HF_TOKEN")))
    except LocalEntryNotFoundError:
        raise LganimError(missing_message(weight, "offline, and not in the local cache")) from None
    except (HfHubHTTPError, OSError) as e:
        raise LganimError(missing_message(weight, type(e).__name__)) from None
    verify_sha256(path, weight)
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: Path, weight: WeightFile) -> None:
    """Check a file against the registry's sha256 once; the result is memoised by (path, size, mtime)."""
    if not weight.sha256:
        return
    memo_path = cache_dir() / "verified.json"
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}"
    memo = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
    if memo.get(key) == weight.sha256:
        return
    digest = sha256_of(path)
    if digest != weight.sha256:
        raise LganimError(f"{path.name} is corrupt or not the expected file (sha256 {digest[:12]}…, expected "
                          f"{weight.sha256[:12]}…): delete it and download it again.")
    memo[key] = digest
    memo_path.parent.mkdir(parents=True, exist_ok=True)
    memo_path.write_text(json.dumps(memo))
