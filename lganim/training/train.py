"""Training the paper's motion generator: `train(TrainConfig(...))` from Python, `python -m lganim train` from the
command line, on one process or N with torchrun (the same call joins the torchrun job).

    python -m lganim train --domain demo --steps 4 --batch 2 --out runs/demo
    torchrun --standalone --nproc_per_node 2 -m lganim train --domain demo --steps 4 --batch 2 --out runs/demo

Recipes: data-free (start codes w0 sampled through the StyleGAN2's mapping with truncation) or photos
(`images`, aligned and inverted with e4e at start-up, or `latents`, a .pt file of W+ codes [N, L, D]).
Each step, every process samples its own prompts and start codes from a rank-seeded torch.Generator (no
DistributedSampler), renders the first frame for the motion CLIP's image embedding, rolls out T frames of Δw,
renders the last frame and scores it with the paper's losses (`lganim/motion/objective.py`); gradients are averaged
by DDP (NCCL on GPUs, gloo on CPU). The output folder is a motion checkpoint (`run_files.py`; `animate --motion
DIR` loads it).
"""
from __future__ import annotations

import datetime
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from huggingface_hub import constants as hub_constants
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import checks
from ..config import IMAGE_SUFFIXES, MAX_SEED, LossWeights, MotionConfig, paper_prompts
from ..device import resolve_device
from ..errors import LganimError
from ..models.motion_generator import MotionGenerator
from ..models.stylegan2 import to_uint8
from ..motion.objective import PHOTO_LPIPS, MotionObjective, load_lpips
from ..startcodes import PhotoEncoder, codes_from_z
from ..weights.domain_files import domain_files, resolve
from ..weights.encoders import load_arcface, load_clip
from ..weights.formats import load_torch
from ..weights.motion_files import load_clip_text_tower, load_motion
from ..weights.registry import get_domain
from ..weights.stylegan_files import load_generator
from .run_files import CLIP_FILE, STATE_FILE, push_to_hub, save_checkpoint, save_strip

TEXT_TOWER = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


# ---------------------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dist:
    """This process's place in the job (world 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def init_distributed(device: str, timeout: float | None = None) -> tuple[Dist, torch.device]:
    """Join the torchrun job when there is one (NCCL on CUDA, gloo on CPU) and pick this rank's device. timeout: the
    seconds a collective waits for the other processes (None: torch's default)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local % torch.cuda.device_count())
    if world > 1:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        wait = {} if timeout is None else {"timeout": datetime.timedelta(seconds=timeout)}
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", **wait)
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        if dev.type == "cpu":
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return Dist(rank, world, local), dev


def rank_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """A CPU torch.Generator private to (seed, rank, step): resumable and different on every process."""
    digest = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


# ---------------------------------------------------------------------------------------------------------
# What is trained
# ---------------------------------------------------------------------------------------------------------

class Trainee(nn.Module):
    """The trainable part: the motion generator and (unless frozen) the motion CLIP's text tower.

    forward(prompts, image_emb [B, E], T, generator) -> Δw [B, T, L, D] with Δw[:, 0] = 0.
    """

    def __init__(self, motion: nn.Module, clip, train_text: bool):
        super().__init__()
        self.motion, self.clip = motion, clip
        clip.requires_grad_(False)
        if train_text:
            for name, p in clip.model.named_parameters():
                if name.startswith(TEXT_TOWER):
                    p.requires_grad_(True)

    def text_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.clip.model.parameters() if p.requires_grad]

    def text_state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.clip.model.state_dict().items() if k.startswith(TEXT_TOWER)}

    def forward(self, prompts: list[str], image_emb: torch.Tensor, num_frames: int,
                generator: torch.Generator) -> torch.Tensor:
        text_emb = self.clip.encode_text(prompts)                              # [B, E]
        # Official training steps are constant (no decay); inference decays them.
        return self.motion(text_emb, image_emb, num_frames, schedule="const", generator=generator)


# ---------------------------------------------------------------------------------------------------------
# What a run is
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """One training run (the defaults are the paper's). Every value is checked when the config is made.

    domain: the StyleGAN2 the motion drives; out: the checkpoint folder. steps, batch (clips per process and step),
    frames (per clip, ≥ 2: the first is the input face); lr: Adam lr of the recurrent cell and mappers; clip_lr: of
    the motion CLIP's text tower (`freeze_clip`: not fine-tuned); hidden_dim: of the recurrent cell. Photo recipe:
    `latents` (a .pt file of W+ codes) or `images` (a folder of photos); data-free: `truncation` (None: the
    domain's ψ). prompts: what is trained on (None: the paper's 28); weights: loss weight overrides
    (`LossWeights`); save_every / sample_every: a checkpoint / a sample strip every K steps (0: no strips);
    resume: continue from the checkpoint in `out`; push_to_hub: a Hub model repo to upload the result to.
    """

    out: Path
    domain: str = "human"
    steps: int = 5000
    batch: int = 4
    frames: int = 4
    lr: float = 1e-3
    clip_lr: float = 1e-5
    freeze_clip: bool = False
    hidden_dim: int = 384
    latents: Path | None = None
    images: Path | None = None
    truncation: float | None = None
    prompts: tuple[str, ...] | None = None
    weights: dict = field(default_factory=dict)
    seed: int = 0
    save_every: int = 1000
    sample_every: int = 200
    resume: bool = False
    push_to_hub: str | None = None
    private: bool = False
    device: str = "auto"

    def __post_init__(self):
        set_ = object.__setattr__       # frozen: normalised once, here
        set_(self, "out", Path(self.out))
        get_domain(self.domain)
        for name in ("steps", "batch", "hidden_dim", "save_every"):
            checks.whole(name, getattr(self, name), 1, 10 ** 9)
        checks.whole("frames", self.frames, 2, 256)
        checks.whole("sample_every", self.sample_every, 0, 10 ** 9)
        checks.whole("seed", self.seed, 0, MAX_SEED)
        checks.number("lr", self.lr, 1e-12, 10.0)
        checks.number("clip_lr", self.clip_lr, 1e-12, 10.0)
        if self.truncation is not None:
            checks.number("truncation", self.truncation, 0.0, 1.0)
        if self.latents is not None and self.images is not None:
            raise LganimError("Give latents or images for the photo recipe, not both.")
        if self.prompts is not None:
            set_(self, "prompts", tuple(checks.text("prompt", p, "one prompt per line.", 1000) for p in self.prompts))
            if not self.prompts:
                raise LganimError("Give at least one prompt to train on (or none for the paper's 28).")
        LossWeights.with_overrides(self.weights)
        if self.out.exists() and not self.out.is_dir():
            raise LganimError(f"The output {self.out} is a file: give a folder.")
        if self.resume and not (self.out / STATE_FILE).is_file():
            raise LganimError(f"Nothing to resume: {self.out / STATE_FILE} does not exist.")
        if not self.resume and (self.out / STATE_FILE).is_file():
            raise LganimError(f"{self.out} already holds a training run: resume it or choose another folder.")
        if self.push_to_hub and hub_constants.HF_HUB_OFFLINE:
            raise LganimError("Pushing to the Hub needs the network but HF_HUB_OFFLINE is set: unset it or push later "
                              "with `huggingface-cli upload`.")


def invert_folder(folder: Path, photos: PhotoEncoder, show: bool) -> torch.Tensor:
    """W+ codes [N, L, D] of the faces in a folder of photos (dlib alignment + e4e), skipping photos without one."""
    if not folder.is_dir():
        raise LganimError(f"No folder of photos at {folder}.")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise LganimError(f"{folder} holds no .png/.jpg/.jpeg/.webp photos.")
    codes, skipped = [], []
    with torch.inference_mode():
        for path in tqdm(paths, desc="inverting photos", unit="photo", disable=None if show else True):
            try:
                codes.append(photos.invert(photos.read(path, paste_back=False)).float().cpu())
            except LganimError as e:
                skipped.append(f"{path.name}: {e}")
    if show and skipped:
        print(f"note: skipped {len(skipped)} photo(s), e.g. {skipped[0]}")
    if not codes:
        raise LganimError(f"No face could be inverted from the photos in {folder}.")
    return torch.cat(codes)


def read_latents(path: Path, num_ws: int, style_dim: int) -> torch.Tensor:
    """W+ codes [N, L, D] from a .pt file (a tensor, or a dict of [L, D] / [1, L, D] tensors)."""
    if not path.is_file():
        raise LganimError(f"No latents file at {path}.")
    data = load_torch(path, "a torch file of W+ codes")
    if isinstance(data, dict):
        data = torch.stack([torch.as_tensor(v).reshape(num_ws, style_dim) for v in data.values()]) if data else None
    if not isinstance(data, torch.Tensor) or data.ndim != 3 or tuple(data.shape[1:]) != (num_ws, style_dim):
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise LganimError(f"{path} must hold W+ codes [N, {num_ws}, {style_dim}] for this domain, got {shape}.")
    return data.float()


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------

def train(config: TrainConfig) -> Path:
    """Run a training (joining the torchrun job when torchrun started this process); returns the checkpoint folder
    (written by rank 0)."""
    dist_info, device = init_distributed(config.device)
    try:
        _train(config, dist_info, device)
    finally:
        if dist_info.active:
            dist.destroy_process_group()
    return config.out


def _train(args: TrainConfig, d: Dist, device: torch.device) -> None:
    spec = get_domain(args.domain)
    files = domain_files(spec)
    prompts = list(args.prompts) if args.prompts is not None else paper_prompts(spec.subject)
    stylegan = load_generator(resolve(files.stylegan), spec.stylegan, device=device)
    latents = None
    if args.latents:
        latents = read_latents(args.latents, stylegan.num_ws, stylegan.style_dim)
    elif args.images:
        latents = invert_folder(args.images, PhotoEncoder(spec, stylegan, files.encoder), d.main)
    photo = latents is not None
    weights = dict(args.weights)
    if photo:
        weights.setdefault("lpips", PHOTO_LPIPS)
    loss_weights = LossWeights.with_overrides(weights)
    truncation = spec.truncation if args.truncation is None else args.truncation

    clip_m = load_clip(resolve(files.clip_motion), device=device)
    clip_l = load_clip(resolve(files.clip_loss), device=device)
    identity = load_arcface(device) if loss_weights.identity > 0 else None
    lpips = load_lpips(device) if loss_weights.lpips > 0 else None
    objective = MotionObjective(stylegan, clip_l, loss_weights, identity=identity, lpips=lpips)

    config = MotionConfig(num_ws=stylegan.num_ws, style_dim=stylegan.style_dim, embed_dim=clip_m.embed_dim,
                          hidden_dim=args.hidden_dim, use_image_mapper=False)
    torch.manual_seed(args.seed)                                               # same initial weights on every rank
    motion = MotionGenerator(config).to(device)
    train_text = not args.freeze_clip
    trainee = Trainee(motion, clip_m, train_text)
    groups = [{"params": list(motion.rnn.parameters()), "lr": args.lr},
              {"params": list(motion.mapper.parameters()), "lr": args.lr}]
    if train_text:
        groups.append({"params": trainee.text_parameters(), "lr": args.clip_lr})
    optimizer = torch.optim.Adam(groups, betas=(0.0, 0.999))

    start = 0
    if args.resume:
        state = load_torch(args.out / STATE_FILE, "a training state of `lganim train`")
        if bool(state["train_text"]) != train_text:
            how = "with" if train_text else "without"
            raise LganimError(f"{args.out} was trained {how} a frozen CLIP (freeze_clip): resume {how} it.")
        saved = load_motion(args.out, device=device)
        if saved.config != config:
            raise LganimError(f"{args.out} holds a motion model of another shape ({saved.config}); resume with the "
                              f"same domain and hidden_dim.")
        motion.load_state_dict(saved.state_dict())
        if train_text:
            load_clip_text_tower(clip_m, args.out / f"{CLIP_FILE}.safetensors")
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
        if start >= args.steps:
            raise LganimError(f"{args.out} is already at step {start}; ask for more steps to continue.")

    model: nn.Module = trainee
    if d.active:
        model = DistributedDataParallel(trainee, device_ids=[device.index] if device.type == "cuda" else None)

    recipe = f"photos ({len(latents)} W+ codes)" if photo else f"data-free (truncation {truncation})"
    info = {"domain": spec.name, "recipe": recipe,
            "steps": args.steps, "step": start, "batch": args.batch, "frames": args.frames, "world_size": d.world,
            "lr": args.lr, "clip_lr": args.clip_lr, "freeze_clip": args.freeze_clip, "seed": args.seed,
            "clip_motion": "demo (tiny RN)" if spec.untrained else str(files.clip_motion),
            "clip_loss": "demo (tiny ViT)" if spec.untrained else str(files.clip_loss),
            "motion_config": config.to_dict(), "prompts": prompts,
            "loss_weights": loss_weights.to_dict(), "skipped": objective.skipped, "last_losses": {}}
    if d.main and objective.skipped:
        print(f"note: skipped loss terms: {', '.join(objective.skipped)}")

    bar = tqdm(total=args.steps, initial=start, unit="step", desc="training", disable=None if d.main else True)
    began = time.perf_counter()
    for step in range(start, args.steps):
        rng = rank_generator(args.seed, d.rank, step)
        picks = torch.randperm(len(prompts), generator=rng)[:args.batch] if args.batch <= len(prompts) \
            else torch.randint(len(prompts), (args.batch,), generator=rng)
        batch_prompts = [prompts[int(i)] for i in picks]
        with torch.no_grad():
            if photo:
                w0 = latents[torch.randint(len(latents), (args.batch,), generator=rng)].to(device)
            else:
                w0 = codes_from_z(stylegan, torch.randn(args.batch, stylegan.style_dim, generator=rng), truncation)
            first = stylegan.synthesis(w0)                                    # [B, 3, H, W]
            image_emb = clip_m.encode_image(first)                             # [B, E]
        dw = model(batch_prompts, image_emb, args.frames, rng)                 # [B, T, L, D]
        loss, terms = objective(w0, dw, batch_prompts, reference=first)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        info.update(step=done, last_losses={"total": float(loss.detach()), **terms})
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        if d.main and args.sample_every and (done % args.sample_every == 0 or done == args.steps):
            with torch.no_grad():
                n = min(4, args.batch)
                ws = (w0[:n, None] + dw[:n].detach()).flatten(0, 1)           # [n·T, L, D]
                frames = to_uint8(stylegan.synthesis(ws)).cpu()              # [n·T, H, W, 3]
            save_strip(args.out / "samples" / f"step_{done:06d}.png", frames.view(n, args.frames, *frames.shape[1:]))
        if d.main and (done % args.save_every == 0 or done == args.steps):
            info["seconds"] = time.perf_counter() - began
            save_checkpoint(args.out, trainee, optimizer, done, info, train_text)
    bar.close()
    if d.active:
        dist.barrier()
    if d.main:
        print(f"wrote {args.out} (step {info['step']}, loss {info['last_losses'].get('total', float('nan')):.4f})")
        if args.push_to_hub:
            print(f"pushed to {push_to_hub(args.out, args.push_to_hub, args.private)}")


__all__ = ["TrainConfig", "train", "Trainee", "Dist", "init_distributed", "rank_generator", "invert_folder",
           "read_latents"]
