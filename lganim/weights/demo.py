"""The offline `demo` domain: tiny random-weight checkpoints, built deterministically on first use.

They are written in the same formats as real files (a rosinality `.pt`, CLIP state-dict files, a motion
safetensors folder) and loaded through the same code, so the app, the CLI and the tests exercise the real
loading path with no download. The weights are untrained: the output is a check of the plumbing, never a result.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import MotionConfig
from ..files import atomic_dir, cache_dir
from ..models.clip import build_tiny_clip
from ..models.e4e import E4EConfig, E4EEncoder
from ..models.motion_generator import MotionGenerator
from ..models.stylegan2 import Generator
from .motion_files import save_motion
from .registry import DEMO_GENERATOR

DEMO_VERSION = 2
SEED = 20230808
RGB_GAIN = 0.15  # shrink the random to_rgb weights so frames are not saturated noise
CODE_GAIN = 0.2  # shrink the random encoder's offsets so inverted photos stay near the average face


@dataclass(frozen=True)
class DemoFiles:
    stylegan: Path         # rosinality {"g_ema", "latent_avg"}
    clip_motion: Path      # tiny CLIP (ResNet) state dict: motion embeddings
    clip_loss: Path        # tiny CLIP (ViT) state dict: losses and scores
    motion: Path           # folder: model.safetensors + config.json
    encoder: Path          # tiny e4e in the e4e_ffhq_encode.pt layout {"state_dict": encoder.*, "latent_avg"}

    @classmethod
    def under(cls, root: Path) -> "DemoFiles":
        return cls(root / "generator.pt", root / "clip_rn.pt", root / "clip_vit.pt", root / "motion",
                   root / "e4e.pt")


def demo_dir() -> Path:
    return cache_dir() / f"demo-v{DEMO_VERSION}"


def ensure_demo() -> DemoFiles:
    """Build the demo checkpoints once (atomically: concurrent processes are safe) and return their paths."""
    root = demo_dir()
    if not (root / "complete").is_file():
        # a folder without the marker is a broken build: replace it; a process that finishes first meanwhile wins
        with atomic_dir(root, replace=root.exists()) as tmp:
            build_demo(tmp)
            (tmp / "complete").write_text("ok\n")
    return DemoFiles.under(root)


def build_demo(root: Path) -> DemoFiles:
    """Write every demo checkpoint under `root` from fixed seeds."""
    files = DemoFiles.under(root)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        g = Generator.from_config(DEMO_GENERATOR)
        with torch.no_grad():
            for rgb in [g.to_rgb1, *g.to_rgbs]:
                rgb.conv.weight.mul_(RGB_GAIN)
            w_avg = g.mean_latent(4096, torch.Generator().manual_seed(SEED))[0]
        torch.save({"g_ema": g.state_dict(), "latent_avg": w_avg}, files.stylegan)
        clip_rn = build_tiny_clip("RN", seed=SEED)
        torch.save(clip_rn, files.clip_motion)
        torch.save(build_tiny_clip("ViT", seed=SEED + 1), files.clip_loss)
        embed_dim = clip_rn["text_projection"].shape[1]
        config = MotionConfig(num_ws=g.num_ws, style_dim=g.style_dim, embed_dim=embed_dim, hidden_dim=32)
        save_motion(MotionGenerator(config), files.motion)
        e4e_config = E4EConfig(input_size=64, stage_channels=(16, 24, 32, 64), stage_units=(1, 1, 2, 1),
                               num_ws=g.num_ws, style_dim=g.style_dim)
        encoder = E4EEncoder(e4e_config)
        with torch.no_grad():
            for block in encoder.styles:
                block.linear.weight.mul_(CODE_GAIN)
        torch.save({"state_dict": {f"encoder.{k}": v for k, v in encoder.state_dict().items()},
                    "latent_avg": w_avg.expand(g.num_ws, -1).clone(), "e4e_config": e4e_config.to_dict()},
                   files.encoder)
    return files
