"""`train`: the command line of `lganim.training.train` (one process, or each process of a torchrun job)."""
from __future__ import annotations

from ..errors import LganimError
from ..training.train import TrainConfig, train


def read_prompts(path) -> tuple[str, ...] | None:
    """--prompts: a text file, one prompt per line (None: the paper's 28)."""
    if path is None:
        return None
    if not path.is_file():
        raise LganimError(f"No prompt file at {path}.")
    prompts = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if not prompts:
        raise LganimError(f"{path} holds no prompts.")
    return prompts


def run(args) -> int:
    config = TrainConfig(out=args.out, domain=args.domain, steps=args.steps, batch=args.batch, frames=args.frames,
                         lr=args.lr, clip_lr=args.clip_lr, freeze_clip=args.freeze_clip, hidden_dim=args.hidden_dim,
                         latents=args.latents, images=args.images, truncation=args.truncation,
                         prompts=read_prompts(args.prompts), weights=dict(args.weight), seed=args.seed,
                         save_every=args.save_every, sample_every=args.sample_every, resume=args.resume,
                         push_to_hub=args.push_to_hub, private=args.private, device=args.device)
    train(config)
    return 0
