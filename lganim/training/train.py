"""`python -m lganim train`: train the paper's motion generator, on 1 process or N with torchrun.

    python -m lganim train --domain demo --steps 4 --batch 2 --out runs/demo
    torchrun --standalone --nproc_per_node 2 -m lganim train --domain demo --steps 4 --batch 2 --out runs/demo

Recipes: data-free (start codes w0 sampled through the generator's mapping with truncation) or photos
(`--images DIR`, aligned and inverted with e4e at start-up, or `--latents FILE.pt` holding W+ codes [N, L, D]).
Each step, every process samples its own prompts and start codes from a rank-seeded torch.Generator (no
DistributedSampler), renders the first frame for the motion CLIP's image embedding, rolls out T frames of Δw,
renders the last frame and scores it with the paper's losses (`lganim/objective.py`); gradients are averaged by
DDP (NCCL on GPUs, gloo on CPU).

The output folder is a motion checkpoint (`MotionGenerator.load`, `animate --motion DIR`): model.safetensors
+ config.json, the fine-tuned CLIP text tower (clip_motion.safetensors), training_state.pt (for --resume),
training.json, README.md (model card) and samples/step_*.png strips. Only rank 0 writes, file by file
through temporary names, so a crash never leaves a half-written file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from huggingface_hub import constants as hub_constants
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..checkpoints import load_generator, load_torch, save_safetensors
from ..config import LossWeights, MotionConfig, paper_prompts
from ..device import resolve_device
from ..domains import get_domain
from ..encoders import load_clip
from ..errors import LganimError
from ..files import atomic_path, publish, write_json
from ..motion import MotionGenerator
from ..objective import PHOTO_LPIPS, MotionObjective, load_arcface, load_lpips
from ..sources import MOTION_CLIP_FILE, load_clip_text_tower
from ..startcodes import PhotoEncoder, codes_from_z
from ..stylegan2 import to_uint8
from ..weights import domain_files, resolve

CLIP_FILE = Path(MOTION_CLIP_FILE).stem   # clip_motion(.safetensors): the fine-tuned motion CLIP's text tower
STATE_FILE = "training_state.pt"
INFO_FILE = "training.json"
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


def init_distributed(device: str) -> tuple[Dist, torch.device]:
    """Join the torchrun job when there is one (NCCL on CUDA, gloo on CPU) and pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local % torch.cuda.device_count())
    if world > 1:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
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
# Command line (the arguments are in lganim/cli/parser.py)
# ---------------------------------------------------------------------------------------------------------

def check_args(args) -> None:
    for name in ("steps", "batch", "frames", "hidden_dim", "save_every"):
        if getattr(args, name) < 1:
            raise LganimError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    if args.frames < 2:
        raise LganimError("--frames must be at least 2 (the first frame is the input face).")
    if args.sample_every < 0:
        raise LganimError("--sample-every must be >= 0.")
    if args.lr <= 0 or args.clip_lr <= 0:
        raise LganimError("Learning rates must be > 0.")
    if args.out.exists() and not args.out.is_dir():
        raise LganimError(f"--out {args.out} is a file: give a folder.")
    if args.resume and not (args.out / STATE_FILE).is_file():
        raise LganimError(f"Nothing to resume: {args.out / STATE_FILE} does not exist.")
    if not args.resume and (args.out / STATE_FILE).is_file():
        raise LganimError(f"{args.out} already holds a training run: pass --resume or choose another --out.")
    if args.push_to_hub:
        if hub_constants.HF_HUB_OFFLINE:
            raise LganimError("--push-to-hub needs the network but HF_HUB_OFFLINE is set: unset it or push later "
                              "with `huggingface-cli upload`.")


def read_prompts(args, subject: str) -> list[str]:
    if args.prompts is None:
        return paper_prompts(subject)
    if not args.prompts.is_file():
        raise LganimError(f"No prompt file at {args.prompts}.")
    prompts = [line.strip() for line in args.prompts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not prompts:
        raise LganimError(f"{args.prompts} holds no prompts.")
    return prompts


def invert_folder(folder: Path, photos: PhotoEncoder, show: bool) -> torch.Tensor:
    """W+ codes [N, L, D] of the faces in a folder of photos (dlib alignment + e4e), skipping photos without one."""
    if not folder.is_dir():
        raise LganimError(f"No folder of photos at {folder}.")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
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
# Files
# ---------------------------------------------------------------------------------------------------------

def model_card(info: dict) -> str:
    """README.md of a trained motion model: what it is, how it was trained, how to use it."""
    w = info["loss_weights"]
    return f"""---
library_name: lganim
tags: [face-animation, stylegan2, clip, text-to-video]
---
# lganim motion generator ({info['domain']})

The recurrent motion generator of Hang et al., *Language-Guided Face Animation by Recurrent StyleGAN-based
Generator* (TMM 2023), trained with `python -m lganim train`. It turns CLIP embeddings of a sentence and of the
first frame into W+ offsets for the frozen `{info['domain']}` StyleGAN2.

    python -m lganim animate --domain {info['domain']} --motion THIS_FOLDER --prompt "The person is smiling."

## Training
- recipe: {info['recipe']}; steps {info['step']} of {info['steps']}; {info['world_size']} process(es) x batch {info['batch']};
  {info['frames']} frames per clip
- Adam betas (0, 0.999); lr {info['lr']} (recurrent cell and mappers), {info['clip_lr']} (motion CLIP text tower,
  {'frozen' if info['freeze_clip'] else 'fine-tuned'})
- motion config: `{json.dumps(info['motion_config'])}`
- prompts: {len(info['prompts'])} (e.g. "{info['prompts'][0]}")

## Losses
- contrastive CLIP loss on the last frame (temperature {w['temperature']}), weight {w['clip']}
- latent regularisation sum_t mean(dw[t]^2), weight {w['latent']}
- first-to-last tie mean((dw[0] - dw[T-1])^2), weight {w['loop']}
- second-order smoothness mean((dw[t+1] - 2 dw[t] + dw[t-1])^2), weight {w['smooth']}
- ArcFace identity, weight {w['identity']}; LPIPS, weight {w['lpips']}
- skipped: {', '.join(info['skipped']) or 'none'}
- last logged losses: `{json.dumps(info['last_losses'])}`

The StyleGAN2 weights this model drives keep their own licence.
"""


def save_checkpoint(out: Path, trainee: Trainee, optimizer, step: int, info: dict, train_text: bool) -> None:
    """Write every file of the checkpoint into a staging folder, then move each into `out` (rank 0 only)."""
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        trainee.motion.save(stage / "motion")                                # model.safetensors + config.json
        files = [stage / "motion" / "model.safetensors", stage / "motion" / "config.json"]
        if train_text:
            save_safetensors(stage, trainee.text_state(), {"clip_text_tower": info["clip_motion"]}, name=CLIP_FILE)
            files += [stage / f"{CLIP_FILE}.safetensors", stage / f"{CLIP_FILE}.config.json"]
        torch.save({"step": step, "optimizer": optimizer.state_dict(), "train_text": train_text}, stage / STATE_FILE)
        write_json(stage / INFO_FILE, info)
        (stage / "README.md").write_text(model_card(info), encoding="utf-8")
        files += [stage / STATE_FILE, stage / INFO_FILE, stage / "README.md"]
        for f in files:
            publish(f, out / f.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def save_strip(path: Path, frames: torch.Tensor) -> None:
    """A PNG grid: one row per clip, one column per frame (frames uint8 [B, T, H, W, 3])."""
    b, t, h, w, _ = frames.shape
    grid = frames.permute(0, 2, 1, 3, 4).reshape(b * h, t * w, 3).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(grid)).save(tmp, format="PNG")


def push_to_hub(out: Path, repo: str, private: bool) -> str:
    """Upload the checkpoint folder (without the optimiser state) to a Hub model repo; returns its URL."""
    from huggingface_hub import HfApi  # only when pushing
    from huggingface_hub.errors import HfHubHTTPError
    api = HfApi(token=os.environ.get("HF_TOKEN"))
    try:
        api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=repo, repo_type="model",
                          ignore_patterns=[STATE_FILE, ".*", "*/.*"],
                          commit_message="Upload lganim motion generator")
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise LganimError(f"Could not push {out} to the Hub repo {repo} ({type(e).__name__}: {e}); check HF_TOKEN "
                          f"and the network, or upload later with `huggingface-cli upload {repo} {out}`.") from None
    return f"https://huggingface.co/{repo}"


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------

def run(args) -> int:
    check_args(args)
    dist_info, device = init_distributed(args.device)
    try:
        return train(args, dist_info, device)
    finally:
        if dist_info.active:
            dist.destroy_process_group()


def train(args, d: Dist, device: torch.device) -> int:
    spec = get_domain(args.domain)
    files = domain_files(spec)
    prompts = read_prompts(args, spec.subject)
    generator = load_generator(resolve(files.generator), spec.generator, device=device)
    latents = None
    if args.latents:
        latents = read_latents(args.latents, generator.num_ws, generator.style_dim)
    elif args.images:
        latents = invert_folder(args.images, PhotoEncoder(spec, generator, files.encoder), d.main)
    photo = latents is not None
    weights = dict(args.weight)
    if photo:
        weights.setdefault("lpips", PHOTO_LPIPS)
    loss_weights = LossWeights.with_overrides(weights)
    truncation = spec.truncation if args.truncation is None else args.truncation
    if not 0.0 <= truncation <= 1.0:
        raise LganimError(f"--truncation must be in [0, 1], got {truncation}.")

    clip_m = load_clip(resolve(files.clip_motion), device=device)
    clip_l = load_clip(resolve(files.clip_loss), device=device)
    identity = load_arcface(device) if loss_weights.identity > 0 else None
    lpips = load_lpips(device) if loss_weights.lpips > 0 else None
    objective = MotionObjective(generator, clip_l, loss_weights, identity=identity, lpips=lpips)

    config = MotionConfig(num_ws=generator.num_ws, style_dim=generator.style_dim, embed_dim=clip_m.embed_dim,
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
            raise LganimError(f"{args.out} was trained {how} --freeze-clip: resume {how} it.")
        saved = MotionGenerator.load(args.out, device=device)
        if saved.config != config:
            raise LganimError(f"{args.out} holds a motion model of another shape ({saved.config}); resume with the "
                              f"same domain and --hidden-dim.")
        motion.load_state_dict(saved.state_dict())
        if train_text:
            load_clip_text_tower(clip_m, args.out / f"{CLIP_FILE}.safetensors")
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
        if start >= args.steps:
            raise LganimError(f"{args.out} is already at step {start}; ask for more --steps to continue.")

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
                w0 = codes_from_z(generator, torch.randn(args.batch, generator.style_dim, generator=rng), truncation)
            first = generator.synthesis(w0)                                    # [B, 3, H, W]
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
                frames = to_uint8(generator.synthesis(ws)).cpu()              # [n·T, H, W, 3]
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
    return 0
