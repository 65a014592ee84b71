"""Training-free prompt fitting: profile, cache, budgets, the fit lock between processes, the motion, the CLI."""
import json
import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import lganim.motion.fitted
from lganim.cli import main
from lganim.config import FIT_PASSES, FitSettings, GeneratorConfig
from lganim.device import native_bf16
from lganim.errors import LganimError
from lganim.files import file_lock
from lganim.models.renderer import FastRenderer
from lganim.models.stylegan2 import Generator
from lganim.motion import fit_time
from lganim.motion.fitted import FittedMotion, PromptFitter, applied_settings, cache_key, motion_profile
from lganim.request import Request
from lganim.weights.registry import get_domain
from tests import ROOT

TINY = GeneratorConfig(8, style_dim=16, n_mlp=2, channels=((4, 16), (8, 16)))


class ToyClip(nn.Module):
    """Image embedding: mean colour; text embedding: a fixed colour per word."""

    COLOURS = {"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0], "blue": [0.0, 0.0, 1.0]}

    def encode_image(self, images):
        return nn.functional.normalize(images.mean(dim=(2, 3)) + 1.0, dim=-1)

    def encode_text(self, texts):
        return torch.tensor([self.COLOURS.get(t.split()[-1].strip("."), [1.0, 1.0, 1.0]) for t in texts])


def tiny_fitter(settings=FitSettings(steps=15, batch=2, lr=0.05), cache=True):
    torch.manual_seed(0)
    g = Generator.from_config(TINY).eval().requires_grad_(False)
    loads = []

    def loader():
        loads.append(1)
        return ToyClip()
    fitter = PromptFitter(get_domain("demo"), g, clip_loader=loader, model_id="tiny", settings=settings, cache=cache)
    return fitter, loads


def test_profile_by_hand():
    # linear decay (T - t) / T at T = 4: steps (0, .75, .5, .25) -> running sum / 1.5
    assert motion_profile(4).tolist() == pytest.approx([0, 0.5, 5 / 6, 1])
    assert motion_profile(3, continued=True).tolist() == pytest.approx([0.5, 5 / 6, 1])
    assert motion_profile(3, "const").tolist() == pytest.approx([0, 0.5, 1])
    assert motion_profile(1).tolist() == [0.0]


def test_settings_validation_and_cache_key():
    with pytest.raises(LganimError):
        FitSettings(steps=0)
    with pytest.raises(LganimError):
        FitSettings(max_seconds=0)
    with pytest.raises(LganimError):
        FitSettings(weights={"nope": 1.0}).loss_weights()
    a = cache_key("demo", "The person is smiling.", FitSettings(), "m")
    assert a == cache_key("demo", "The person is smiling.", FitSettings(), "m")
    assert a != cache_key("demo", "The person is crying.", FitSettings(), "m")
    assert a != cache_key("demo", "The person is smiling.", FitSettings(steps=7), "m")
    assert a != cache_key("human", "The person is smiling.", FitSettings(), "m")
    assert a != cache_key("demo", "The person is smiling.", FitSettings(), "other generator")
    # the time budget does not determine a complete fit: it is not part of the key
    assert a == cache_key("demo", "The person is smiling.", FitSettings(max_seconds=5.0), "m")
    # the path, its schedule and its dtype do
    for other in (FitSettings.reference(), FitSettings(decay="constant"), FitSettings(dtype="bf16")):
        assert a != cache_key("demo", "The person is smiling.", other, "m")
    with pytest.raises(LganimError, match="path"):
        FitSettings(path="quick")
    with pytest.raises(LganimError, match="dtype"):
        FitSettings(dtype="fp16")
    with pytest.raises(LganimError, match="power of two"):
        FitSettings(loss_size=300)
    assert a != cache_key("demo", "The person is smiling.", FitSettings(loss_size=None), "m")


def test_a_fitter_names_its_compute_dtype(monkeypatch):
    monkeypatch.setattr(lganim.motion.fitted, "native_bf16", lambda device: False)
    assert tiny_fitter()[0].settings.dtype == "fp32"                           # no native bf16, an fp32 StyleGAN2
    monkeypatch.setattr(lganim.motion.fitted, "native_bf16", lambda device: True)
    assert tiny_fitter()[0].settings.dtype == "bf16"                           # e.g. CUDA, or a CPU with AMX
    assert tiny_fitter(FitSettings(dtype="fp32"))[0].settings.dtype == "fp32"
    applied = tiny_fitter(FitSettings.reference(loss_size=64))[0].settings
    assert applied.dtype is None and applied.loss_size is None                 # the StyleGAN2's own, full size
    monkeypatch.setattr(lganim.motion.fitted, "native_bf16", lambda device: False)
    fitter, _ = tiny_fitter()
    g = fitter.stylegan.to(torch.bfloat16)
    assert PromptFitter(get_domain("demo"), g, clip_loader=ToyClip, model_id="tiny").settings.dtype == "bf16"


def test_the_fast_path_steps_the_reference_fit_in_fp32():
    """Same schedule, fp32: FastRenderer.synthesis computes Generator.synthesis, so the two fits agree step by step."""
    settings = FitSettings(steps=4, batch=2, faces_per_step=2, lr=0.05, decay="constant", dtype="fp32")
    fast = tiny_fitter(settings)[0].start("The person is red.")
    ref = tiny_fitter(FitSettings.reference(steps=4, batch=2, lr=0.05))[0].start("The person is red.")
    assert isinstance(fast.objective.stylegan.renderer, FastRenderer) and isinstance(ref.objective.stylegan, Generator)
    for _ in range(4):
        assert fast.step() == pytest.approx(ref.step(), rel=1e-5)
    assert torch.allclose(fast.direction, ref.direction, atol=1e-5)
    assert fast.direction.abs().max() > 0 and fast.steps == ref.steps == 4


def test_a_fitter_resolves_the_faces_of_a_step_and_the_steps(monkeypatch):
    cpu = tiny_fitter(FitSettings(batch=4))[0].settings
    assert cpu.faces_per_step == 2 and cpu.steps == FIT_PASSES * 2                 # the CPU: two faces a step, in turn
    assert tiny_fitter(FitSettings(batch=1))[0].settings.faces_per_step == 1
    assert tiny_fitter(FitSettings(batch=4, faces_per_step=1))[0].settings.steps == FIT_PASSES * 4
    assert tiny_fitter(FitSettings(batch=4, faces_per_step=2, steps=7))[0].settings.steps == 7
    reference = tiny_fitter(FitSettings.reference(batch=4))[0].settings
    assert reference.faces_per_step == 4 and reference.steps == 100              # today's fit: all faces, 100 steps
    monkeypatch.setattr(lganim.motion.fitted, "native_bf16", lambda device: True)
    gpu = applied_settings(FitSettings(batch=4), SimpleNamespace(device=torch.device("cuda"), dtype=torch.float32))
    assert gpu.faces_per_step == 4 and gpu.steps == FIT_PASSES and gpu.dtype == "bf16"
    with pytest.raises(LganimError, match="faces of a fitting step must be a whole number from 1 to 2"):
        FitSettings(batch=2, faces_per_step=3)


def test_a_step_renders_its_faces_in_turn_and_the_fit_scores_them_all():
    fitter, _ = tiny_fitter(FitSettings(steps=3, batch=3, faces_per_step=2, lr=0.05), cache=False)
    run = fitter.start("The person is red.")
    assert [run.faces(k) for k in range(3)] == [[0, 1], [2, 0], [1, 2]]
    images, rendered = run.objective.stylegan, []
    render = images.synthesis
    images.synthesis = lambda ws: rendered.append(ws.detach().clone()) or render(ws)
    directions = []
    for _ in range(3):
        directions.append(run.direction.detach().clone())
        run.step()
    for k, faces in enumerate([[0, 1], [2, 0], [1, 2]]):                      # the last frame: w0 + 1 · A
        torch.testing.assert_close(rendered[k], run.w0[faces] + directions[k])
    run.evaluate()
    assert rendered[-1].shape[0] == 3                                           # the score: all of them
    # the fit's first loss is the loss of all the faces before the first step, not of the first step's faces
    fitter, _ = tiny_fitter(FitSettings(steps=2, batch=3, faces_per_step=1, lr=0.05), cache=False)
    result = fitter.fit("The person is red.")
    assert result.loss_first == pytest.approx(fitter.start("The person is red.").evaluate()[0])
    assert result.loss_first != pytest.approx(fitter.start("The person is red.").step())


def test_the_loss_image_is_rendered_only_up_to_the_loss_size():
    run = tiny_fitter(FitSettings(steps=3, batch=2, loss_size=4))[0].start("The person is red.")
    for _ in range(3):
        run.step()
    assert run.objective.stylegan.size == 4                                     # 8² StyleGAN2, 4² loss image
    assert run.direction[:2].abs().max() > 0 and run.direction[2:].abs().max() == 0   # the 8² block's layers: unused
    assert tiny_fitter(FitSettings())[0].start("x").objective.stylegan.size is None   # 256 ≥ 8: full resolution


def test_learning_rate_schedules():
    held = tiny_fitter(FitSettings(steps=8, lr=0.04))[0].start("The person is red.")
    assert FitSettings().decay == "hold-cosine"
    assert [held.learning_rate(k) for k in range(9)] == pytest.approx([0.04] * 7 + [0.02, 0.0])   # last quarter
    constant = tiny_fitter(FitSettings.reference(steps=4))[0].start("The person is red.")
    assert {constant.learning_rate(k) for k in range(4)} == {0.02}
    for _ in range(8):
        held.step()
    assert held.optim.param_groups[0]["lr"] == pytest.approx(0.02)                  # the rate of the step it ran


def test_a_fit_under_inference_mode_still_fits():
    fitter, _ = tiny_fitter(FitSettings(steps=3, batch=1), cache=False)
    with torch.inference_mode():                                                # as the pipeline's prepare calls it
        result = fitter.fit("The person is green.")
    assert result.steps == 3 and result.loss_last < result.loss_first


def test_fit_lowers_the_loss_reports_progress_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitter, loads = tiny_fitter()
    seen = []
    result = fitter.fit("The person is green.", lambda step, total, loss: seen.append((step, total, loss)))
    assert result.loss_last < result.loss_first
    assert result.steps == 15 and [s[0] for s in seen] == list(range(1, 16)) and seen[0][1] == 15
    assert result.direction.shape == (TINY.num_ws, TINY.style_dim)
    assert list((tmp_path / "fitted" / "demo").glob("*.safetensors"))
    # a new fitter (new process) reads the disk cache without loading CLIP
    again, loads2 = tiny_fitter()
    cached = again.fit("The person is green.")
    assert cached.cached and not loads2
    assert torch.equal(cached.direction, result.direction)
    assert cached.loss_last == pytest.approx(result.loss_last)


class Clock:
    """A fake `time.perf_counter` that advances one second per call: the budget counts calls, not load."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_a_fit_stopped_by_its_budget_is_used_but_never_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    monkeypatch.setattr(lganim.motion.fitted.time, "perf_counter", Clock())
    settings = FitSettings(steps=10_000, max_seconds=4.0, batch=1)
    fitter, _ = tiny_fitter(settings)
    said = []
    fitter.notify = said.append
    result = fitter.fit("The person is blue.")
    assert 1 <= result.steps < 10_000 and not result.complete
    # a step takes 1 s on this clock: the first step's time tells the user the budget will stop the fit
    assert said[0] == ("fitting 'The person is blue.': about 4 s on cpu (10000 steps of 1 s, the first step took "
                       "it); the 4 s budget stops it after about 4 steps: the motion may be weak")
    assert result.warning == f"fitted {result.steps} of 10000 steps in {result.seconds:.0f} s: the motion may be weak"
    assert said[-1] == result.warning and len(said) == 2
    assert result.summary()["warning"] == result.warning and result.summary()["planned_steps"] == 10_000
    assert fitter.fit("The person is blue.") is result                         # this process keeps it
    assert not list(tmp_path.glob("fitted/**/*.safetensors"))                 # never cached as if complete
    again, _ = tiny_fitter(settings)
    assert not again.is_fitted("The person is blue.")                          # another process fits it anew


def test_a_fit_another_process_holds_is_waited_for_and_read(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    prompt, settings = "The person is red.", FitSettings(steps=2, batch=1)
    holder, _ = tiny_fitter(settings)
    waiter, loads = tiny_fitter(settings)
    looked = threading.Event()
    load_cached = waiter._load_cached

    def looking(p):
        found = load_cached(p)
        looked.set()
        return found
    waiter._load_cached = looking
    results = []
    with file_lock(holder._path(prompt).with_suffix(".lock"), wait=0) as held:   # the other process is fitting
        assert held
        thread = threading.Thread(target=lambda: results.append(waiter.fit(prompt)))
        thread.start()
        assert looked.wait(30)                                   # the waiter found no entry yet
        fitted = holder._fit(prompt, None)                       # the holder's fit lands in the cache
        holder._store(fitted)
    thread.join(30)
    assert results[0].cached and not loads                       # read, not fitted again (today: fitted twice)
    assert torch.equal(results[0].direction, fitted.direction)


FIT_IN_A_PROCESS = """
import json, sys, time
from pathlib import Path
from lganim.config import FitSettings
from tests.motion.test_fitted import tiny_fitter
barrier, name = Path(sys.argv[1]), sys.argv[2]
fitter, loads = tiny_fitter(FitSettings(steps=20, batch=2, lr=0.05))
(barrier / name).touch()
while len(list(barrier.iterdir())) < 2:                          # both processes ask at the same moment
    time.sleep(0.01)
result = fitter.fit("The person is green.", lambda *_: time.sleep(0.05))   # a fit of a second at least
print(json.dumps({"cached": result.cached, "clip_loads": len(loads)}))
"""


@pytest.mark.slow
def test_two_processes_fitting_the_same_prompt_fit_it_once(tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "LGANIM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", FIT_IN_A_PROCESS, str(barrier), name], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in "ab"]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    results = [json.loads(out) for out, _ in outs]
    assert sorted(r["cached"] for r in results) == [False, True]       # one fit, one read (today: two fits)
    assert sum(r["clip_loads"] for r in results) == 1
    assert len(list((tmp_path / "cache" / "fitted" / "demo").glob("*.safetensors"))) == 1


def test_fitted_motion_is_face_agnostic_and_chains_sequences(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitter, _ = tiny_fitter(FitSettings(steps=3, batch=1, lr=0.05))
    motion = FittedMotion(fitter)
    L, D = TINY.num_ws, TINY.style_dim
    w0 = torch.randn(2, L, D)
    assert not motion.needs_first_frames
    request = Request(prompts=["The person is red.", "The person is red; then blue"], seeds=[1, 2], num_frames=5)
    with torch.inference_mode():                       # as the pipeline calls it
        dw = motion.motion(request, w0, None).offsets
    assert dw.shape == (2, 5, L, D)
    red = fitter.fit("The person is red.").direction
    blue = fitter.fit("The person is blue.").direction
    assert torch.equal(dw[:, 0], torch.zeros(2, L, D))
    assert torch.allclose(dw[0, -1], red, atol=1e-6)
    # sequence: 3 frames of red (ends at A_red), then 2 frames continuing to A_red + A_blue
    assert torch.allclose(dw[1, 2], red, atol=1e-6)
    assert torch.allclose(dw[1, -1], red + blue, atol=1e-6)
    other = motion.motion(Request(prompts="The person is red.", seeds=3, num_frames=5), torch.randn(1, L, D),
                          None).offsets
    assert torch.equal(other[0], dw[0])


def test_measured_step_times_give_the_estimate_before_the_next_fit(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    monkeypatch.setattr(lganim.motion.fitted.time, "perf_counter", Clock())
    settings = FitSettings(steps=6, batch=1, max_seconds=100.0)
    first, _ = tiny_fitter(settings)
    assert first.step_seconds() is None                                        # nothing measured here yet
    guess = first.fit_seconds("The person is red.")
    assert guess == pytest.approx(6 * fit_time.prior_step_seconds(torch.device("cpu"), 8, 1))
    result = first.fit("The person is red.")
    assert result.complete and result.warning is None
    second, _ = tiny_fitter(settings)                                          # another process, the same device
    assert second.step_seconds() == 1.0                                        # each step: one tick of the clock
    assert second.fit_seconds("The person is red.") == 0.0                    # cached: nothing to fit
    assert second.fit_seconds("The person is blue.") == 6.0
    said = []
    second.notify = said.append
    second.fit("The person is blue.")
    assert said == ["fitting 'The person is blue.': about 6 s on cpu (6 steps of 1 s, measured by earlier fits)"]
    motion = FittedMotion(second)
    assert motion.notify == said.append
    assert motion.fit_seconds(["The person is blue.", "The person is red; then green"]) == 6.0   # green alone is new
    assert motion.warnings(["The person is blue."]) == []


def test_the_motion_source_repeats_a_weak_fits_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    monkeypatch.setattr(lganim.motion.fitted.time, "perf_counter", Clock())
    motion = FittedMotion(tiny_fitter(FitSettings(steps=1000, max_seconds=3.0, batch=1))[0])
    said = []
    motion.notify = said.append
    assert motion.fitter.notify == said.append
    w0 = torch.zeros(1, TINY.num_ws, TINY.style_dim)
    motion.motion(Request(prompts="The person is blue.", seeds=1, num_frames=3), w0, None)
    warning = motion.fitter.fitted("The person is blue.").warning
    assert warning.startswith("fitted ") and said[-1] == warning
    assert motion.warnings(["The person is blue."]) == [warning]               # every request that uses it can say so


def test_fit_cli_writes_json(tmp_path):
    out = tmp_path / "f.json"
    assert main(["fit", "--domain", "demo", "--prompt", "The person is smiling.", "--steps", "2", "--batch", "1",
                 "--no-cache", "--json", str(out), "--device", "cpu"]) == 0
    data = json.loads(out.read_text())
    assert data["steps"] == 2 and {"loss_first", "loss_last"} <= set(data)
    assert data["warning"] is None and data["planned_steps"] == 2 and data["settings"]["path"] == "fast"
    assert data["settings"]["dtype"] == ("bf16" if native_bf16(torch.device("cpu")) else "fp32")
    assert main(["fit", "--domain", "demo", "--prompt", "x", "--steps", "0"]) == 2
    with pytest.raises(SystemExit):
        main(["fit", "--domain", "demo", "--prompt", "x", "--weight", "clip"])
