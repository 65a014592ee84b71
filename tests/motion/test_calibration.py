"""Calibrating control directions: measured (a known linear measure, the real landmarks), prompt-fitted, fallback;
their cache and the load policy."""
import json
import shutil
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lganim.cli import main
from lganim.config import DRIVEN_CHANNELS, FitSettings, GeneratorConfig
from lganim.errors import LganimError
from lganim.files import cache_dir
from lganim.models.renderer import FastRenderer
from lganim.models.stylegan2 import Generator
from lganim.motion import fit_time
from lganim.motion.calibration import (
    MEASURE_SECONDS,
    RENDER_SECONDS,
    calibrate,
    calibration_seconds,
    load_directions,
    measured_renders,
)
from lganim.motion.directions import (
    CHANNEL_GROUP,
    LAYER_GROUPS,
    TYPICAL,
    cache_path,
    directions_cached,
    store_directions,
)
from lganim.motion.fitted import build_fitter
from lganim.startcodes import seed_codes
from lganim.weights.domain_files import domain_files, resolve
from lganim.weights.registry import Domain, get_domain
from lganim.weights.stylegan_files import load_generator
from tests import FACE_PHOTO

TINY = GeneratorConfig(64, style_dim=16, n_mlp=2, channels=((4, 16), (8, 16), (16, 16), (32, 8), (64, 8)))   # 10 ws
PHOTO = FACE_PHOTO
# W+ layers each channel of the fake measurer reads: overlapping groups, so directions must cancel cross-talk
# (pose moves mouth_open through layer 3; the mouth group moves brow through layer 6).
READS = {"yaw": (0, 1, 2), "pitch": (0, 1, 2), "mouth_open": (3, 4), "mouth_wide": (4,), "smile": (4,),
         "eye_l": (7, 8), "eye_r": (7, 8), "brow": (6, 7, 8)}


def tiny_generator(seed=0):
    torch.manual_seed(seed)
    return Generator.from_config(TINY).eval().requires_grad_(False)


class LinearMeasure:
    """Channel c = <codes, R_c> (a known linear function of the W+ code, R_c [L, D] on the layers READS[c], in the
    channel's typical units); eye_r is not measured on every fourth image; `skip` channels never."""

    def __init__(self, num_ws, style_dim, skip=()):
        rng = torch.Generator().manual_seed(1)
        self.readout = {}
        for c, layers in READS.items():
            r = torch.zeros(num_ws, style_dim, dtype=torch.float64)
            r[list(layers)] = torch.randn(len(layers), style_dim, generator=rng, dtype=torch.float64) * TYPICAL[c]
            self.readout[c] = r
        self.skip, self.calls = skip, 0

    def __call__(self, images, codes):
        assert images.dtype == np.uint8 and images.shape[0] == codes.shape[0] and images.shape[-1] == 3
        self.calls += 1
        out = {c: torch.einsum("nld,ld->n", codes.double(), r).numpy() for c, r in self.readout.items()
               if c not in self.skip}
        out["eye_r"] = np.where(np.arange(len(codes)) % 4 == 0, np.nan, out["eye_r"])
        return out


@pytest.fixture
def clean_cache():
    """No cached control directions before or after the test."""
    shutil.rmtree(cache_dir() / "directions", ignore_errors=True)
    yield cache_dir() / "directions"
    shutil.rmtree(cache_dir() / "directions", ignore_errors=True)


def test_calibration_recovers_a_known_linear_measure():
    g = tiny_generator()
    measure = LinearMeasure(g.num_ws, g.style_dim)
    seen = []
    controls = calibrate(get_domain("demo"), g, measure=measure, samples=8, components=5,
                           progress=lambda done, total: seen.append((done, total)))
    assert set(controls.method.values()) == {"measured"}
    for c in DRIVEN_CHANNELS:
        d = controls.directions[c].double()                                               # [L, D] per channel unit
        layers = LAYER_GROUPS[CHANNEL_GROUP[c]]
        assert d[[j for j in range(g.num_ws) if j not in layers]].abs().max() == 0
        for o, r in measure.readout.items():
            moved = float((d * r).sum())                                                  # change of o per unit of c
            assert moved == pytest.approx(1.0 if o == c else 0.0, abs=0.02 * TYPICAL[o] / TYPICAL[c] + 1e-9), (c, o)
        assert controls.r2[c] > 0.999
        assert controls.meta["channels"][c]["slope"] == pytest.approx(1.0, abs=0.02)
    assert seen[-1][0] == seen[-1][1] and controls.meta["renders"] == seen[-1][0]
    print(f"fake-measurer R²: min {min(controls.r2.values()):.6f} ({controls.seconds:.2f} s)")


def test_unmeasured_channel_falls_back_and_bad_measurers_are_errors():
    g = tiny_generator()
    controls = calibrate(get_domain("demo"), g, measure=LinearMeasure(g.num_ws, g.style_dim, skip=("brow",)))
    assert controls.method["brow"] == "sefa-fallback" and controls.r2["brow"] is None
    assert all(controls.method[c] == "measured" for c in DRIVEN_CHANNELS if c != "brow")
    with pytest.raises(LganimError, match="dict"):
        calibrate(get_domain("demo"), g, measure=lambda images, codes: [0.0] * len(codes))
    with pytest.raises(LganimError, match="one per image"):
        calibrate(get_domain("demo"), g, measure=lambda images, codes: {"yaw": np.zeros(1)})
    with pytest.raises(LganimError):
        calibrate(get_domain("demo"), g, samples=1)
    with pytest.raises(LganimError, match="W\\+ layers"):
        calibrate(get_domain("demo"), Generator.from_config(GeneratorConfig(16, style_dim=16, n_mlp=1,
                                                                              channels=((4, 8), (8, 8), (16, 8)))))


def test_demo_end_to_end(clean_cache):
    spec = get_domain("demo")
    files = domain_files(spec)
    g = load_generator(resolve(files.stylegan), spec.stylegan)
    assert not directions_cached(spec, files)
    controls = load_directions(spec, files, g, calibrate_if_missing=False)
    assert not controls.meta.get("cached")
    assert list(controls.directions) == list(DRIVEN_CHANNELS)
    assert set(controls.method.values()) == {"sefa-fallback"} and set(controls.r2.values()) == {None}
    assert directions_cached(spec, files) and cache_path(spec, files).is_file()
    renderer = FastRenderer(g)
    w0 = seed_codes(g, [0, 1], 1.0)
    still = renderer(w0)
    for c in DRIVEN_CHANNELS:
        dw = controls.offsets({c: np.array([TYPICAL[c]])})[0]                          # [L, D]
        live = [j for j in range(g.num_ws) if dw[j].abs().max() > 0]
        assert live == list(LAYER_GROUPS[CHANNEL_GROUP[c]])                           # nothing at 9 and above
        assert (renderer(w0 + dw) - still).abs().mean() > 0.1 * still.abs().mean()       # a visible change
    again = load_directions(spec, files, g, calibrate_if_missing=False)
    assert again.meta["cached"] and again.method == controls.method
    assert all(torch.equal(again.directions[c], controls.directions[c]) for c in DRIVEN_CHANNELS)
    cache_path(spec, files).write_bytes(b"damaged")                                     # recomputed, not an error
    fixed = load_directions(spec, files, g, calibrate_if_missing=False)
    assert not fixed.meta.get("cached") and load_directions(spec, files, g, calibrate_if_missing=False).meta["cached"]


def test_real_domain_without_cache_is_one_line_error(clean_cache):
    spec = get_domain("human")
    with pytest.raises(LganimError) as e:
        load_directions(spec, domain_files(spec), tiny_generator(), calibrate_if_missing=False)
    assert "python -m lganim calibrate --domain human" in str(e.value) and "\n" not in str(e.value)
    assert not directions_cached(spec, domain_files(spec))


class FakeFitter:
    """Prompt fitting stand-in: a fixed random [L, D] offset per prompt."""

    settings = FitSettings(steps=3)

    def __init__(self, num_ws, style_dim):
        self.shape, self.prompts = (num_ws, style_dim), []

    def fit(self, prompt, progress=None):
        self.prompts.append(prompt)
        for step in range(1, 4):
            if progress is not None:
                progress(step, 3, 0.0)
        seed = sum(map(ord, prompt))
        return SimpleNamespace(direction=torch.randn(*self.shape, generator=torch.Generator().manual_seed(seed)))


def test_prompt_method_for_dogs():
    g = tiny_generator()
    fitter = FakeFitter(g.num_ws, g.style_dim)
    seen = []
    controls = calibrate(get_domain("dog"), g, fitter=fitter, progress=lambda d, t: seen.append((d, t)))
    assert fitter.prompts == ["The dog is opening mouth.", "The dog is smiling.", "The dog is closing eyes.",
                              "The dog is surprised."]
    assert seen[-1] == (12, 12)
    assert controls.method == {**dict.fromkeys(DRIVEN_CHANNELS, "prompt"), "yaw": "sefa-fallback",
                               "pitch": "sefa-fallback"}
    closing = fitter.fit("The dog is closing eyes.").direction
    eyes = list(LAYER_GROUPS["eyes"])
    both_closed = controls.offsets({"eye_l": np.array([-TYPICAL["eye_l"]]), "eye_r": np.array([-TYPICAL["eye_r"]])})
    assert torch.allclose(both_closed[0, eyes], closing[eyes], atol=1e-5)                 # the full expression, once
    assert both_closed[0, [j for j in range(g.num_ws) if j not in eyes]].abs().max() == 0
    opening = fitter.fit("The dog is opening mouth.").direction
    mouth = list(LAYER_GROUPS["mouth"])
    assert torch.allclose(controls.directions["mouth_open"][mouth] * TYPICAL["mouth_open"], opening[mouth], atol=1e-5)
    with pytest.raises(LganimError, match="prompt fitter"):
        calibrate(get_domain("anime"), g)


def test_calibration_time_estimates(tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    g, files = tiny_generator(), domain_files(get_domain("demo"))
    people = Domain("people", "People", "person", TINY, None, "-")
    dogs = Domain("dogs", "Dogs", "dog", TINY, None, "-")
    assert calibration_seconds(get_domain("demo"), files, g) == 0.0                       # the fallback: milliseconds
    assert measured_renders() == 2 * 3 * 5 * 8 + 4 * (1 + 4 * 8)
    per_render = RENDER_SECONDS["cpu"] * 64 / 1024 + MEASURE_SECONDS
    assert calibration_seconds(people, files, g) == pytest.approx(measured_renders() * per_render)
    fit = build_fitter(dogs, files, g).settings                    # as the CPU applies them: 2 faces a step, 400 steps
    step = fit_time.prior_step_seconds(g.device, 64, fit.faces_per_step)                  # 4 expressions' fits
    assert calibration_seconds(dogs, files, g) == pytest.approx(4 * min(fit.steps * step, fit.max_seconds))
    fallback = calibrate(replace(people, untrained=True), g)
    store_directions(fallback, people, files)
    assert calibration_seconds(people, files, g) == 0.0                                   # cached


def test_cli_calibrate_demo(tmp_path, clean_cache, capsys):
    report = tmp_path / "controls.json"
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert set(data["channels"]) == set(DRIVEN_CHANNELS)
    assert all(v["method"] == "sefa-fallback" for v in data["channels"].values())
    assert "computed" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu"]) == 0
    assert "cached" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--force"]) == 0
    assert "computed" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--components", "1", "--force"]) == 2
