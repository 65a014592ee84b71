"""benchmarks/gpu.sh, the one script of the GPU measurements, run on the CPU at a tiny size (its env overrides). The
eager and calibrate stages run in the script's default bf16; the others in fp32 (BENCH_DTYPE), as bf16 is emulated on
a CPU without native bf16 and many times slower there (the video stage: over 10 minutes)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT

SCRIPT = ROOT / "benchmarks" / "gpu.sh"
pytestmark = [pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash"), pytest.mark.slow]


def run_script(out: Path, *stages: str, **more: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "BENCH_DEVICE": "cpu", "BENCH_SIZE": "16", "BENCH_FRAMES": "3",
           "BENCH_ARGS": "--repeats 1 --warmup 0", "BENCH_LIVE_SECONDS": "1", "PYTHONPATH": str(ROOT), **more}
    return subprocess.run(["bash", str(SCRIPT), str(out), *stages], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def test_eager_stage_writes_the_benchmark_and_picks_it(tmp_path):
    done = run_script(tmp_path, "eager")
    assert done.returncode == 0, done.stdout + done.stderr
    eager = json.loads((tmp_path / "eager.json").read_text())
    assert [e["batch"] for e in eager["fast"]] == [1, 16, 64]
    assert eager["repeats"] == 1 and eager["warmup"] == 0
    assert eager["dtype"] == "bf16" and eager["bf16_peak_tflops"] == 790 and eager["speedup"] > 0
    assert eager["request"]["domain"] == "random"  # clip-anytorch is a dependency: the request is timed
    picked = [p for p in tmp_path.glob("*.json") if p.name != "eager.json"]
    assert len(picked) == 1 and picked[0].read_bytes() == (tmp_path / "eager.json").read_bytes()
    assert "is the faster run" in done.stdout


def test_live_stage_times_the_live_loop_on_a_clip_it_makes(tmp_path):
    done = run_script(tmp_path, "live", BENCH_SIZE="64", BENCH_LIVE_SIDE="512", BENCH_LIVE_SECONDS="0.4",
                      BENCH_DTYPE="fp32", BENCH_ARGS="--threads 1")          # 64²: the 9 W+ layers controls need
    assert done.returncode == 0, done.stdout + done.stderr
    live = json.loads((tmp_path / "live.json").read_text())["live"]
    assert live["frames"] == 10 and live["camera_size"] == [512, 384] and live["dtype"] == "float32"
    assert live["size"] == 64 and live["found"] == 1.0 and live["threads"] == 1
    assert set(live["latency_ms"]) >= {"p50", "p95"} and live["tracker"]["frames"] == 9


def test_tests_stage_runs_the_gpu_marked_tests(tmp_path):
    done = run_script(tmp_path, "tests")
    log = (tmp_path / "gpu-tests.log").read_text()
    assert done.returncode == 0, log
    assert "needs a CUDA device" in log and "not found" not in log and "ERROR" not in log      # skipped on a CPU


def test_edit_stage_times_a_slider_update_against_a_clip(tmp_path):
    done = run_script(tmp_path, "edit", BENCH_SIZE="64", BENCH_DTYPE="fp32",  # 64²: the 9 W+ layers controls need
                      BENCH_ARGS="--repeats 1 --warmup 0 --edit-updates 2")
    assert done.returncode == 0, done.stdout + done.stderr
    edit = json.loads((tmp_path / "edit.json").read_text())["edit"]
    assert edit["size"] == 64 and edit["dtype"] == "float32", edit


def test_sets_stage_renders_the_set_on_one_process_then_two_and_evaluates_it(tmp_path):
    done = run_script(tmp_path, "sets", BENCH_SET_MANIFEST="examples/set.csv", BENCH_SET_PROCESSES="2")
    assert done.returncode == 0, done.stdout + done.stderr
    one, two = (json.loads((tmp_path / f"set-{n}.json").read_text()) for n in (1, 2))
    assert one["rendered"] == [8] and two["rendered"] == [4, 4] and two["clips_per_second"] > 0
    assert len(list((tmp_path / "set-2").glob("*.mp4"))) == 8
    assert len(json.loads((tmp_path / "set-eval.json").read_text())["prompts"]) == 4
    assert "| The person is smiling. | 2 |" in (tmp_path / "set-eval.md").read_text()


def test_fit_stage_times_both_fits_in_the_dtype_asked_for(tmp_path):
    done = run_script(tmp_path, "fit", BENCH_FIT_STEPS="1", BENCH_DTYPE="fp32")
    assert done.returncode == 0, done.stdout + done.stderr
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert fit["size"] == 16 and fit["steps"] == 1 and fit["dtype"] == "fp32", fit
    assert fit["reference"]["settings"]["path"] == "reference" and fit["fast"]["settings"]["dtype"] == "fp32"
    # twice the passes over the 4 faces: 2 steps of four on a GPU, 4 of two on this CPU
    assert len(fit["fast"]["losses"]) == 2 * 4 // fit["faces_per_step"] and "seconds_to_reference_loss" in fit["fast"]


def test_calibrate_stage_times_a_domains_calibration(tmp_path):
    done = run_script(tmp_path, "calibrate", BENCH_CALIBRATE_DOMAIN="demo")     # the fallback: no renders to wait for
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "calibrate.json").read_text())
    assert result["domain"] == "demo" and result["dtype"] == "bf16" and set(result) >= {"reference", "fast"}


def test_video_stage_times_editing_a_clip_it_makes(tmp_path):
    done = run_script(tmp_path, "video", BENCH_SIZE="64", BENCH_VIDEO_SECONDS="0.3", BENCH_DTYPE="fp32",
                      BENCH_ARGS="--video-frames 2")                          # 64²: the 9 W+ layers controls need
    assert done.returncode == 0, done.stdout + done.stderr
    video = json.loads((tmp_path / "video.json").read_text())["video"]
    assert video["size"] == 64 and video["dtype"] == "float32" and video["frames"] == 2
    assert video["frame_size"] == [800, 600] and video["edit_fps"] > 0


def test_unknown_stage_is_refused(tmp_path):
    done = run_script(tmp_path, "everything")
    assert done.returncode == 2 and "unknown stage 'everything'" in done.stderr
    assert not list(tmp_path.glob("*.json"))
