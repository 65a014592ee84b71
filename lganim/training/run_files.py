"""The files of a training run, written by rank 0 only: the motion checkpoint (model.safetensors + config.json, the
fine-tuned CLIP text tower, training_state.pt for resuming, training.json, a README.md model card), sample strips,
and the upload of the folder to the Hub. Each file is staged under a temporary name and moved into place, so a
crash never leaves a half-written file."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import LganimError
from ..files import atomic_path, publish, sweep_temporaries, temp_prefix, write_json
from ..weights.formats import save_safetensors
from ..weights.motion_files import MOTION_CLIP_FILE, save_motion

CLIP_FILE = Path(MOTION_CLIP_FILE).stem   # clip_motion(.safetensors): the fine-tuned motion CLIP's text tower
STATE_FILE = "training_state.pt"
INFO_FILE = "training.json"


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
- recipe: {info['recipe']}; steps {info['step']} of {info['steps']}
- {info['world_size']} process(es) x batch {info['batch']}; {info['frames']} frames per clip
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


def save_checkpoint(out: Path, trainee, optimizer, step: int, info: dict, train_text: bool) -> None:
    """Write every file of the checkpoint into a staging folder, then move each into `out` (rank 0 only)."""
    out.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(out, depth=0)                                          # a killed run's staging folder
    stage = Path(tempfile.mkdtemp(prefix=temp_prefix("staging"), dir=out))
    try:
        save_motion(trainee.motion, stage / "motion")                        # model.safetensors + config.json
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



__all__ = ["CLIP_FILE", "STATE_FILE", "INFO_FILE", "model_card", "save_checkpoint", "save_strip", "push_to_hub"]
