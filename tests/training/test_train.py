"""Training: a 2-process torchrun run on the demo domain, its checkpoint in the pipeline, resume, inputs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lganim.cli import main
from lganim.errors import LganimError
from lganim.training.run_files import STATE_FILE, model_card, save_strip
from lganim.training.train import TrainConfig, rank_generator, read_latents, train
from lganim.weights.motion_files import load_motion
from tests import ROOT


@pytest.fixture(scope="module")
def torchrun_run(tmp_path_factory):
    """`torchrun --standalone --nproc_per_node 2 -m lganim train --domain demo ...` (about 20 s on 2 cores)."""
    out = tmp_path_factory.mktemp("run") / "motion"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "lganim",
           "train", "--domain", "demo", "--steps", "2", "--batch", "2", "--frames", "3", "--out", str(out),
           "--sample-every", "1", "--device", "cpu"]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


@pytest.mark.slow
def test_torchrun_two_processes_write_a_loadable_checkpoint(torchrun_run):
    out, proc = torchrun_run
    assert proc.stdout.count("wrote ") == 1                          # only rank 0 writes
    for name in ("model.safetensors", "config.json", "clip_motion.safetensors", STATE_FILE, "training.json",
                 "README.md"):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging leftovers
    info = json.loads((out / "training.json").read_text())
    assert info["world_size"] == 2 and info["step"] == 2 and info["frames"] == 3
    assert {"clip", "latent", "loop", "smooth"} <= set(info["last_losses"])
    model = load_motion(out)
    assert model.config.num_ws == 12 and model.config.style_dim == 64
    strips = sorted((out / "samples").glob("step_*.png"))
    assert [p.name for p in strips] == ["step_000001.png", "step_000002.png"]
    assert np.asarray(Image.open(strips[-1])).shape == (2 * 128, 3 * 128, 3)   # 2 clips x 3 frames


@pytest.mark.slow
def test_trained_folder_animates_in_the_pipeline(torchrun_run, tmp_path):
    out, _ = torchrun_run
    video = tmp_path / "v.mp4"
    assert main(["animate", "--domain", "demo", "--motion", str(out), "--seed", "2", "--prompt",
                 "The person is smiling.", "--frames", "8", "--fps", "8", "--out", str(video), "--device", "cpu"]) == 0
    from tests.videos import count_frames
    assert count_frames(video) == 8


@pytest.mark.slow
def test_resume_continues_and_refuses_to_overwrite(torchrun_run, tmp_path):
    import shutil
    src, _ = torchrun_run
    out = tmp_path / "motion"
    shutil.copytree(src, out)
    base = ["train", "--domain", "demo", "--batch", "1", "--frames", "2", "--out", str(out), "--sample-every", "0",
            "--device", "cpu"]
    assert main(base + ["--steps", "3"]) == 2                        # a run is there: --resume needed
    before = load_motion(out).state_dict()
    assert main(base + ["--steps", "3", "--resume"]) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["step"] == 3 and info["world_size"] == 1
    after = load_motion(out).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert main(base + ["--steps", "3", "--resume"]) == 2            # already at step 3


def test_photo_recipe_from_a_latents_file(tmp_path):
    latents = tmp_path / "w.pt"
    torch.save(torch.randn(3, 12, 64) * 0.1, latents)
    out = tmp_path / "m"
    assert main(["train", "--domain", "demo", "--steps", "1", "--batch", "2", "--frames", "2", "--out", str(out),
                 "--latents", str(latents), "--freeze-clip", "--sample-every", "0", "--device", "cpu"]) == 0
    info = json.loads((out / "training.json").read_text())
    assert info["recipe"] == "photos (3 W+ codes)" and info["loss_weights"]["lpips"] == 1.0
    assert "lpips (package not installed)" in info["skipped"]
    assert not (out / "clip_motion.safetensors").exists()           # frozen CLIP: nothing to save


def test_bad_inputs(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save(torch.zeros(2, 5, 64), bad)
    with pytest.raises(LganimError, match="W\\+ codes"):
        read_latents(bad, 12, 64)
    with pytest.raises(LganimError, match="No latents"):
        read_latents(tmp_path / "missing.pt", 12, 64)
    out = str(tmp_path / "o")
    assert main(["train", "--domain", "demo", "--out", out, "--frames", "1"]) == 2
    assert main(["train", "--domain", "demo", "--out", out, "--resume"]) == 2
    assert main(["train", "--domain", "demo", "--out", out, "--push-to-hub", "me/repo"]) == 2   # offline in tests
    assert not Path(out).exists()


def test_rank_generators_differ_by_rank_and_repeat_by_step():
    a = torch.randn(4, generator=rank_generator(0, 0, 5))
    assert torch.equal(a, torch.randn(4, generator=rank_generator(0, 0, 5)))
    assert not torch.equal(a, torch.randn(4, generator=rank_generator(0, 1, 5)))
    assert not torch.equal(a, torch.randn(4, generator=rank_generator(0, 0, 6)))


def test_sample_strip_layout(tmp_path):
    frames = torch.zeros(2, 3, 4, 5, 3, dtype=torch.uint8)
    frames[1, 2] = 255                                               # clip 1, frame 2
    save_strip(tmp_path / "s.png", frames)
    img = np.asarray(Image.open(tmp_path / "s.png"))
    assert img.shape == (8, 15, 3)
    assert img[4:, 10:].min() == 255 and img[:4].max() == 0 and img[4:, :10].max() == 0


def test_model_card_states_config_and_losses():
    info = {"domain": "demo", "recipe": "data-free", "step": 2, "steps": 2, "world_size": 2, "batch": 2, "frames": 3,
            "lr": 1e-3, "clip_lr": 1e-5, "freeze_clip": False, "motion_config": {"hidden_dim": 384},
            "prompts": ["The person is smiling."], "skipped": [], "last_losses": {"total": 1.0},
            "loss_weights": {"clip": 0.5, "latent": 1.0, "loop": 1.0, "smooth": 1.0, "identity": 0.0, "lpips": 0.0,
                             "temperature": 0.07}}
    card = model_card(info)
    assert "contrastive CLIP loss on the last frame (temperature 0.07), weight 0.5" in card
    assert '"hidden_dim": 384' in card and "betas (0, 0.999)" in card


def test_photo_recipe_from_a_folder_of_photos(tmp_path):
    import shutil
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png", photos / "a.png")
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(photos / "blank.png")     # no face: skipped
    out = tmp_path / "m"
    assert main(["train", "--domain", "demo", "--steps", "1", "--batch", "1", "--frames", "2", "--out", str(out),
                 "--images", str(photos), "--freeze-clip", "--sample-every", "0", "--device", "cpu"]) == 0
    assert json.loads((out / "training.json").read_text())["recipe"] == "photos (1 W+ codes)"
    assert main(["train", "--domain", "demo", "--out", str(tmp_path / "n"), "--images", str(tmp_path / "none")]) == 2


def test_train_runs_from_python_with_a_config(tmp_path):
    out = train(TrainConfig(out=tmp_path / "py", domain="demo", steps=1, batch=1, frames=2, sample_every=0,
                            prompts=("The person is smiling.",), weights={"smooth": 0.0}, device="cpu"))
    assert out == tmp_path / "py" and load_motion(out).config.num_ws == 12
    info = json.loads((out / "training.json").read_text())
    assert info["prompts"] == ["The person is smiling."] and info["loss_weights"]["smooth"] == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(frames=1), "frames must be a whole number from 2"), (dict(steps=0), "steps must be a whole number"),
    (dict(domain="cats"), "Unknown domain"), (dict(weights={"nope": 1}), "Unknown loss weight"),
    (dict(prompts=()), "at least one prompt"), (dict(truncation=2.0), "truncation must be a number"),
    (dict(resume=True), "Nothing to resume")])
def test_a_config_checks_every_value(tmp_path, kwargs, message):
    with pytest.raises(LganimError, match=message):
        TrainConfig(out=tmp_path / "c", **{"domain": "demo", **kwargs})
