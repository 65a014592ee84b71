"""`lganim bench --fit` and `--calibrate`: the two paths, the judge, the JSON and the errors (times never asserted)."""
import json

import pytest
import torch

from lganim.cli import main as cli
from lganim.config import FitSettings, GeneratorConfig
from lganim.errors import LganimError
from lganim.models.clip import build_tiny_clip, clip_from_state_dict
from lganim.models.stylegan2 import Generator
from lganim.tools.bench_calibrate import format_calibrate, time_calibrate
from lganim.tools.bench_fit import FAST_PASSES, fit_settings, format_fit, parse_fit_setting, reached, time_fit

CPU = torch.device("cpu")
TINY = GeneratorConfig(16, style_dim=32, n_mlp=2, channels=((4, 16), (8, 16), (16, 16)))


@pytest.fixture(scope="module")
def tiny_clip():
    return clip_from_state_dict(build_tiny_clip("ViT", embed_dim=48, seed=0), name="tiny ViT")


def test_fast_path_set_to_the_reference_fit_is_judged_the_same(tiny_clip):
    fit = time_fit(TINY, 3, "fp32", [("path", "reference"), ("lr", 0.02), ("decay", "constant")], CPU, clip=tiny_clip)
    ref, fast = fit["reference"], fit["fast"]
    assert ref["steps"] == 3 and fast["steps"] == 3 * FAST_PASSES               # the fast plan: twice the passes
    for m in (ref, fast):
        assert len(m["losses"]) == len(m["times"]) == len(m["fit_losses"]) == m["steps"]
        assert m["times"] == sorted(m["times"]) and m["times"][-1] == m["seconds"]
        assert m["loss_last"] == m["losses"][-1] and m["loss_first"] == ref["loss_first"]
        assert m["fit_losses"][0] == pytest.approx(m["loss_first"], rel=1e-6)   # the fit's loss at A = 0 is the judge's
    assert fast["losses"][:3] == ref["losses"]                                  # the same fit, step for step
    assert fast["seconds_to_reference_loss"] == fast["times"][2]                # reached at its third step, not before
    assert fit["ratio"] == fast["times"][2] / ref["seconds"]
    assert fast["settings"]["path"] == "reference" and ref["settings"]["lr"] == 0.02


def test_the_fast_renderer_alone_follows_the_reference_fit(tiny_clip):
    # fp32 FastRenderer at the reference's constant rate: the same function, so the same judged losses
    fit = time_fit(TINY, 2, "fp32", [("lr", 0.02), ("decay", "constant"), ("faces_per_step", 4)], CPU, clip=tiny_clip)
    assert fit["fast"]["settings"]["path"] == "fast" and fit["fast"]["settings"]["dtype"] == "fp32"
    assert fit["fast"]["losses"][:2] == pytest.approx(fit["reference"]["losses"], rel=1e-4)
    assert fit["reference"]["losses"][-1] < fit["reference"]["loss_first"]
    assert "reached the reference's final judged loss" in format_fit(fit)


def test_default_fast_fit_in_bf16_and_its_table(tiny_clip):
    fit = time_fit(TINY, 2, "bf16", [], CPU, clip=tiny_clip)
    fast = fit["fast"]
    default = FitSettings()
    assert fast["settings"] == {**fast["settings"], "dtype": "bf16", "decay": default.decay, "path": "fast",
                                "lr": default.lr}
    assert fit["reference"]["settings"]["path"] == "reference" and fit["dtype"] == "bf16"
    assert fit["clip"] == "tiny ViT" and fit["negatives"] == 27 and fit["size"] == 16 and fit["batch"] == 4
    # on the CPU a fast step renders two faces of the four, in turn: its plan is twice the reference's passes
    assert fit["faces_per_step"] == fast["settings"]["faces_per_step"] == 2
    assert fast["steps"] == 2 * FAST_PASSES * 2 and fit["reference"]["settings"]["faces_per_step"] == 4
    table = format_fit(fit)
    assert "reference" in table and "fast" in table


def test_reached_is_the_first_step_at_or_below_the_target():
    assert reached([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], 2.0) == 2.0
    assert reached([3.0, 2.5], [1.0, 2.0], 2.0) is None


def test_fit_settings_and_their_errors():
    g = Generator.from_config(TINY)
    settings = fit_settings(4, "fp32", [parse_fit_setting("decay=constant"), parse_fit_setting("lr=0.1")], g)
    assert settings["fast"].decay == "constant" and settings["fast"].lr == 0.1 and settings["fast"].steps == 16
    assert settings["reference"].steps == 4 and FAST_PASSES == 2
    one = fit_settings(4, "fp32", [parse_fit_setting("faces_per_step=1")], g)["fast"]
    assert one.faces_per_step == 1 and one.steps == 32
    assert settings["reference"].path == "reference" and settings["reference"].max_seconds == 1e9
    assert parse_fit_setting("dtype=none") == ("dtype", None)
    for bad in ("steps=3", "nope=1", "lr"):
        with pytest.raises(LganimError, match="--fit-setting"):
            parse_fit_setting(bad)
    with pytest.raises(LganimError, match="fp32 or bf16"):
        fit_settings(4, "fp16", [], g)
    with pytest.raises(LganimError, match="decay"):
        fit_settings(4, "fp32", [("decay", "sometimes")], g)


def test_bench_fit_errors_are_user_mistakes(capsys):
    assert cli(["bench", "--fit", "--steps", "0"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err
    assert cli(["bench", "--fit", "--calibrate", "random"]) == 2
    assert cli(["bench", "--fit-setting", "lr=1"]) == 2
    assert "--fit-setting needs --fit" in capsys.readouterr().err
    assert cli(["bench", "--fit", "--size", "16", "--fit-setting", "steps=2"]) == 2
    assert cli(["bench", "--fit", "--size", "16", "--dtype", "fp16"]) == 2


def test_calibration_of_the_demo_on_both_paths(tmp_path):
    result = time_calibrate("demo", TINY, "fp32", CPU)                   # untrained: the fallback, nothing rendered
    assert result["domain"] == "demo" and result["size"] == 128
    for name in ("reference", "fast"):
        assert result[name]["renders"] == 0 and result[name]["methods"] == {"sefa-fallback": 8}
    assert "speedup" in format_calibrate(result)


@pytest.mark.slow                                     # 240 renders at 64² on each path, each measured by dlib
def test_calibration_of_random_weights_renders_and_measures_on_both_paths(tmp_path):
    out = tmp_path / "c.json"
    assert cli(["bench", "--calibrate", "random", "--size", "64", "--channel-multiplier", "1",
                "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("reference", "fast"):
        m = result[name]
        assert m["renders"] == 240 and m["render_seconds"] > 0 and m["measure_seconds"] > 0   # no face: no held-out
        assert m["seconds"] >= m["render_seconds"] + m["measure_seconds"]
        assert m["methods"] == {"sefa-fallback": 8}
