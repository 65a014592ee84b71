"""The benchmark command: FLOP count, summary arithmetic, JSON output and errors (timings are never asserted)."""
import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lganim.cli import main as cli
from lganim.config import GeneratorConfig
from lganim.models.renderer import FastRenderer, ReferenceRenderer
from lganim.models.stylegan2 import Generator
from lganim.tools.bench import (
    make_codes,
    request_animators,
    summarize,
    time_request,
)
from lganim.tools.costs import (
    _TrafficCounter,
    fast_path_bytes,
    reference_bytes,
    synthesis_flops,
)
from lganim.tools.measure import random_stylegan


@pytest.mark.parametrize("size,cm,gflop", [(1024, 2, 150.8), (256, 2, 90.8), (256, 1, 30.1)])
def test_flops_per_frame_match_design(size, cm, gflop):
    assert round(synthesis_flops(GeneratorConfig(size, channel_multiplier=cm))["total"] / 1e9, 1) == gflop


@pytest.mark.parametrize("size,cm", [(64, 1), (256, 2)])
def test_flop_count_agrees_with_torch_flop_counter(size, cm):
    """torch's counter sees the reference's convolutions, FIRs and affines (not the elementwise demodulation)."""
    with torch.device("meta"):
        g = Generator(size, channel_multiplier=cm)
        with FlopCounterMode(display=False) as counter:
            g.synthesis(torch.zeros(1, g.num_ws, 512))
    ours = synthesis_flops(g.config)
    assert ours["total"] - ours["demod"] == counter.get_total_flops()


def setup_dict(size=1024, frames=16, peak=1000.0):
    return {"size": size, "frames": frames, "gflop_per_frame": 150.0, "bf16_peak_tflops": peak}


def test_summary_arithmetic_and_fps_1024():
    ref = {"frames": 2, "times_s": [1.0, 3.0, 1.0], "first_s": [0.5, 0.5, 0.6], "peak_mem_bytes": 10,
           "bytes_per_frame": 8e9}
    fast = {16: {"times_s": [0.5, 0.4, 0.6], "first_s": [0.1] * 3, "peak_mem_bytes": 99, "max_abs_err": 0.01},
            64: {"times_s": [0.25, 0.25, 0.5], "first_s": [0.2] * 3, "peak_mem_bytes": 400, "max_abs_err": 0.02,
                 "bytes_per_frame": 2.5e9}}
    r = summarize(setup_dict(), ref, fast)
    assert r["reference"]["fps"] == pytest.approx(2.0)                # 2 frames in a median 1 s
    assert r["reference"]["gb_per_frame"] == 8.0 and r["reference"]["tb_per_s"] == pytest.approx(0.016)
    assert [e["fps"] for e in r["fast"]] == pytest.approx([32.0, 64.0])
    assert r["fps_1024"] == r["fps"] == pytest.approx(64.0) and r["best_batch"] == 64
    assert r["speedup"] == pytest.approx(32.0)
    assert r["max_abs_err"] == 0.02
    assert r["fast"][1]["pct_bf16_peak"] == pytest.approx(100 * 150.0 * 64 / 1e6)
    assert r["fast"][1]["gb_per_frame"] == 2.5 and r["fast"][1]["tb_per_s"] == pytest.approx(2.5e9 * 64 / 1e12)
    assert r["fast"][0]["gb_per_frame"] is None and r["fast"][0]["tb_per_s"] is None  # not counted (compiled)
    assert "fps_1024" not in summarize(setup_dict(size=256, peak=None), ref, fast)
    assert summarize(setup_dict(peak=None), ref, fast)["fast"][0]["pct_bf16_peak"] is None


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_cli_writes_json_with_speedup_and_error(tmp_path, capsys):
    out = tmp_path / "sub" / "bench.json"
    args = ["bench", "--device", "cpu", "--size", "16", "--channel-multiplier", "1", "--frames", "3",
            "--batch", "2", "--batch", "3", "--repeats", "1", "--warmup", "0", "--json", str(out)]
    assert cli(args) == 0
    data = json.loads(out.read_text())
    assert [e["batch"] for e in data["fast"]] == [2, 3]
    assert data["reference"]["frames"] == 3
    assert data["max_abs_err"] < 1e-3 and data["speedup"] > 0
    assert data["gflop_per_frame"] == pytest.approx(synthesis_flops(GeneratorConfig(16, channel_multiplier=1))
                                                    ["total"] / 1e9)
    assert "fps_1024" not in data and data["fast"][0]["pct_bf16_peak"] is None
    assert data["fast"][0]["gb_per_frame"] > 0 and data["reference"]["gb_per_frame"] > 0
    assert "speedup" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["bench.json"]


@pytest.mark.parametrize("argv,message", [
    (["--size", "100"], "--size must be a power of two"),
    (["--frames", "0"], "--frames must be at least 1"),
    (["--batch", "0"], "every --batch"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--request", "random", "--motion", "m"], "--motion needs --request with a real domain"),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    assert cli(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cuda_without_a_device_is_a_clear_error(capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert cli(["bench", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_codes_of_a_motion_are_seeded():
    g = random_stylegan(GeneratorConfig(16, style_dim=32, n_mlp=2, channels=((4, 8), (8, 8), (16, 8))),
                        torch.device("cpu"), 0)
    ws = make_codes(g, 5, seed=0)
    assert ws.shape == (5, g.num_ws, 32) and torch.equal(ws, make_codes(g, 5, seed=0))
    assert not torch.equal(ws, make_codes(g, 5, seed=1))


def test_whole_request_on_the_demo_domain():
    r = time_request("demo", None, torch.device("cpu"), torch.float32, repeats=1, warmup=0)
    assert r["frames"] == 16 and r["size"] == 128
    for path in ("reference", "fast"):
        assert r[path]["total_s"] == pytest.approx(r[path]["prepare_s"] + r[path]["render_s"])
    assert r["speedup"] > 0


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_whole_request_times_the_reference_per_frame_against_the_fast_renderer():
    g = random_stylegan(GeneratorConfig(16, channel_multiplier=1), torch.device("cpu"), 0)
    paths = request_animators("random", None, g, torch.device("cpu"), torch.float32, False)
    ref, fast = paths["reference"], paths["fast"]
    assert isinstance(ref.renderer, ReferenceRenderer) and ref.chunk_size == 1
    assert isinstance(fast.renderer, FastRenderer) and fast.chunk_size == 16
    assert ref.stylegan is fast.stylegan and ref.motion is fast.motion      # only the renderer differs


@pytest.mark.slow
def test_whole_request_with_random_real_architectures():
    """--request random: the benchmark's generator, CLIP RN50 and the official motion configuration, no files."""
    g = random_stylegan(GeneratorConfig(16, channel_multiplier=1), torch.device("cpu"), 0)
    r = time_request("random", None, torch.device("cpu"), torch.bfloat16, repeats=1, warmup=0, stylegan=g)
    assert r["domain"] == "random" and r["size"] == 16 and r["frames"] == 16 and r["dtype"] == "bfloat16"
    for path in ("reference", "fast"):
        assert r[path]["total_s"] == pytest.approx(r[path]["prepare_s"] + r[path]["render_s"])


def test_traffic_counter_counts_reads_and_writes_but_not_views():
    x = torch.empty(4, 8, 16, device="meta")                       # 2048 bytes
    with _TrafficCounter() as counter:
        y = x.permute(2, 0, 1)[1:]                                  # views: nothing moves
        x.reshape(-1)
        (x[0] @ x[0].t()).reshape(-1)                               # matmul's own reshapes neither
    assert counter.bytes == 2 * 512 + 256                          # mm: two 8×16 operands (one slice), 8×8 out
    with _TrafficCounter() as counter:
        y.reshape(-1)                                               # a copy: spans all but the first of 16 rows
        x * 2.0                                                     # read x, write the product
        torch.addcmul(x, x, x[:1].expand(4, -1, -1))                # x twice, a broadcast slice once, the output
    assert counter.bytes == (2044 + 1920) + 2 * 2048 + (3 * 2048 + 512)


def test_fast_path_bytes_follow_dtype_and_batch():
    """bf16 moves about half of fp32 (the fp32 RGB path and styles stay fp32); bigger chunks share the weights and
    the noise/bias maps; the count covers at least each layer's input and output once."""
    config = GeneratorConfig(64, channel_multiplier=1)
    fp32, bf16 = (fast_path_bytes(config, dt, 8) for dt in (torch.float32, torch.bfloat16))
    assert 0.45 < bf16 / fp32 < 0.65
    assert fast_path_bytes(config, torch.float32, 1) > fp32
    table, minimum = config.channel_table(), 0
    for r in (2 ** k for k in range(3, 7)):                         # per resolution: conv in/out, once each
        minimum += 4 * (table[r // 2] * (r // 2) ** 2 + 3 * table[r] * r * r)
    assert minimum < fp32 < 10 * minimum
    # the reference rebuilds modulated weights for every frame and pads for its FIRs: it moves more than fp32 fast
    assert reference_bytes(config) > fast_path_bytes(config, torch.float32, 1) > minimum

