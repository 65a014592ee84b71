"""Control directions: SeFa against an independent SVD, calibration against a known linear measurer, the prompt and
fallback methods, the cache, the one-line error of an uncalibrated domain, the dlib measurer and the CLI."""
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from lganim import controls as C
from lganim.checkpoints import load_generator
from lganim.cli import main
from lganim.config import FitSettings, GeneratorConfig
from lganim.domains import get_domain
from lganim.errors import LganimError
from lganim.files import cache_dir
from lganim.render import FastRenderer
from lganim.startcodes import seed_codes
from lganim.stylegan2 import Generator
from lganim.weights import domain_files, resolve

TINY = GeneratorConfig(64, style_dim=16, n_mlp=2, channels=((4, 16), (8, 16), (16, 16), (32, 8), (64, 8)))   # 10 ws
PHOTO = Path(__file__).parent / "fixtures" / "faces" / "astronaut.png"
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
            r[list(layers)] = torch.randn(len(layers), style_dim, generator=rng, dtype=torch.float64) * C.TYPICAL[c]
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
    shutil.rmtree(cache_dir() / "controls", ignore_errors=True)
    yield cache_dir() / "controls"
    shutil.rmtree(cache_dir() / "controls", ignore_errors=True)


def test_constants():
    assert C.DRIVEN_CHANNELS == ("yaw", "pitch", "mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow")
    assert set(C.REGIONS["all"]) == set(C.DRIVEN_CHANNELS)
    assert set(C.REGIONS["lips"]) | set(C.REGIONS["eyes"]) == set(C.REGIONS["expression"])
    assert all(max(layers) < 9 for layers in C.LAYER_GROUPS.values())
    assert set(C.FALLBACK_COMPONENT) == set(C.DRIVEN_CHANNELS) == set(C.CHANNEL_GROUP) == set(C.TYPICAL)


def test_modulations_read_the_layers_they_claim():
    g = tiny_generator()
    ws = torch.randn(2, g.num_ws, g.style_dim)
    seen = {}

    def record(module, inputs, output):
        seen[id(module)] = inputs[0].clone()
    hooks = [m.register_forward_hook(record) for name, m in g.named_modules() if name.endswith("conv.modulation")]
    g.synthesis(ws)
    for h in hooks:
        h.remove()
    claimed = [m for j in range(g.num_ws) for m in C.modulations(g, j)]
    assert len(claimed) == len({id(m) for m in claimed}) == len(seen) == 1 + 1 + len(g.convs) + len(g.to_rgbs)
    for j in range(g.num_ws):
        for m in C.modulations(g, j):
            assert torch.equal(seen[id(m)], ws[:, j])


def test_sefa_matches_svd_and_is_ordered():
    g = tiny_generator()
    for layers in C.LAYER_GROUPS.values():
        d = C.sefa(g, layers, 6)                                                          # [6, D]
        assert d.shape == (6, g.style_dim) and d.dtype == torch.float32
        assert torch.allclose(d @ d.T, torch.eye(6), atol=1e-5)                          # unit and orthogonal
        a = np.concatenate([(m.weight.numpy() * m.scale).astype(np.float64)
                            for j in layers for m in C.modulations(g, j)])               # [ΣC, D]
        _, s, vt = np.linalg.svd(a)
        assert np.allclose(np.abs(np.sum(vt[:6] * d.double().numpy(), 1)), 1.0, atol=1e-5)
        gains = np.linalg.norm(a @ d.double().numpy().T, axis=0)                          # √eigenvalue, in order
        assert np.allclose(gains, s[:6], rtol=1e-5) and np.all(np.diff(gains) <= 0)
    placed = C.place(C.sefa(g, (3, 4, 5, 6), 2), (3, 4, 5, 6), g.num_ws)                  # [2, L, D]
    norms = placed.norm(dim=2)
    assert torch.allclose(norms[:, 3:7], torch.ones(2, 4)) and norms[:, :3].abs().sum() == 0
    assert norms[:, 7:].abs().sum() == 0
    with pytest.raises(LganimError):
        C.sefa(g, (0, 99), 2)
    with pytest.raises(LganimError):
        C.sefa(g, (0,), 0)


def test_calibration_recovers_a_known_linear_measure():
    g = tiny_generator()
    measure = LinearMeasure(g.num_ws, g.style_dim)
    seen = []
    controls = C.calibrate(get_domain("demo"), g, measure=measure, samples=8, components=5,
                           progress=lambda done, total: seen.append((done, total)))
    assert set(controls.method.values()) == {"measured"}
    for c in C.DRIVEN_CHANNELS:
        d = controls.directions[c].double()                                               # [L, D] per channel unit
        layers = C.LAYER_GROUPS[C.CHANNEL_GROUP[c]]
        assert d[[j for j in range(g.num_ws) if j not in layers]].abs().max() == 0
        for o, r in measure.readout.items():
            moved = float((d * r).sum())                                                  # change of o per unit of c
            assert moved == pytest.approx(1.0 if o == c else 0.0, abs=0.02 * C.TYPICAL[o] / C.TYPICAL[c] + 1e-9), (c, o)
        assert controls.r2[c] > 0.999
        assert controls.meta["channels"][c]["slope"] == pytest.approx(1.0, abs=0.02)
    assert seen[-1][0] == seen[-1][1] and controls.meta["renders"] == seen[-1][0]
    print(f"fake-measurer R²: min {min(controls.r2.values()):.6f} ({controls.seconds:.2f} s)")


def test_unmeasured_channel_falls_back_and_bad_measurers_are_errors():
    g = tiny_generator()
    controls = C.calibrate(get_domain("demo"), g, measure=LinearMeasure(g.num_ws, g.style_dim, skip=("brow",)))
    assert controls.method["brow"] == "sefa-fallback" and controls.r2["brow"] is None
    assert all(controls.method[c] == "measured" for c in C.DRIVEN_CHANNELS if c != "brow")
    with pytest.raises(LganimError, match="dict"):
        C.calibrate(get_domain("demo"), g, measure=lambda images, codes: [0.0] * len(codes))
    with pytest.raises(LganimError, match="one per image"):
        C.calibrate(get_domain("demo"), g, measure=lambda images, codes: {"yaw": np.zeros(1)})
    with pytest.raises(LganimError):
        C.calibrate(get_domain("demo"), g, samples=1)
    with pytest.raises(LganimError, match="W\\+ layers"):
        C.calibrate(get_domain("demo"), Generator.from_config(GeneratorConfig(16, style_dim=16, n_mlp=1,
                                                                              channels=((4, 8), (8, 8), (16, 8)))))


def test_offsets():
    g = tiny_generator()
    controls = C.calibrate(get_domain("demo"), g)
    values = {"yaw": np.array([0.0, 1.0, -2.0]), "smile": np.array([0.0, 0.1, 0.1]), "roll": np.ones(3)}
    dw = controls.offsets(values, scales={"smile": 2.0})                                 # roll: no direction
    assert dw.shape == (3, g.num_ws, g.style_dim) and dw.dtype == torch.float32
    expected = (torch.tensor([0.0, 1.0, -2.0])[:, None, None] * controls.directions["yaw"]
                + 0.2 * torch.tensor([0.0, 1.0, 1.0])[:, None, None] * controls.directions["smile"])
    assert torch.allclose(dw, expected, atol=1e-6)
    assert controls.offsets({"roll": np.ones(4)}).abs().sum() == 0
    for bad in ({}, {"yaw": np.array([np.nan])}, {"yaw": np.zeros(2), "pitch": np.zeros(3)}, {"yaw": np.zeros((2, 2))},
                {"yaw": ["a", "b"]}, [1.0]):
        with pytest.raises(LganimError):
            controls.offsets(bad)
    with pytest.raises(LganimError):
        controls.offsets({"yaw": np.zeros(2)}, scales={"yaw": float("inf")})
    with pytest.raises(LganimError):
        controls.offsets({"yaw": np.zeros(2)}, scales=[2.0])


def test_demo_end_to_end(clean_cache):
    spec = get_domain("demo")
    files = domain_files(spec)
    g = load_generator(resolve(files.generator), spec.generator)
    assert not C.controls_cached(spec, files)
    start = time.perf_counter()
    controls = C.load_controls(spec, files, g, calibrate_if_missing=False)
    seconds = time.perf_counter() - start
    print(f"demo calibration: {controls.seconds * 1000:.1f} ms (load_controls {seconds * 1000:.1f} ms)")
    assert seconds < 2.0 and not controls.meta.get("cached")     # ~10 ms on an idle CPU; slack for busy machines
    assert list(controls.directions) == list(C.DRIVEN_CHANNELS)
    assert set(controls.method.values()) == {"sefa-fallback"} and set(controls.r2.values()) == {None}
    assert C.controls_cached(spec, files) and C.cache_path(spec, files).is_file()
    renderer = FastRenderer(g)
    w0 = seed_codes(g, [0, 1], 1.0)
    still = renderer(w0)
    for c in C.DRIVEN_CHANNELS:
        dw = controls.offsets({c: np.array([C.TYPICAL[c]])})[0]                          # [L, D]
        live = [j for j in range(g.num_ws) if dw[j].abs().max() > 0]
        assert live == list(C.LAYER_GROUPS[C.CHANNEL_GROUP[c]])                           # nothing at 9 and above
        assert (renderer(w0 + dw) - still).abs().mean() > 0.1 * still.abs().mean()       # a visible change
    again = C.load_controls(spec, files, g, calibrate_if_missing=False)
    assert again.meta["cached"] and again.method == controls.method
    assert all(torch.equal(again.directions[c], controls.directions[c]) for c in C.DRIVEN_CHANNELS)
    C.cache_path(spec, files).write_bytes(b"damaged")                                     # recomputed, not an error
    fixed = C.load_controls(spec, files, g, calibrate_if_missing=False)
    assert not fixed.meta.get("cached") and C.load_controls(spec, files, g, calibrate_if_missing=False).meta["cached"]


def test_real_domain_without_cache_is_one_line_error(clean_cache):
    spec = get_domain("human")
    with pytest.raises(LganimError) as e:
        C.load_controls(spec, domain_files(spec), tiny_generator(), calibrate_if_missing=False)
    assert "python -m lganim calibrate --domain human" in str(e.value) and "\n" not in str(e.value)
    assert not C.controls_cached(spec, domain_files(spec))


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
    controls = C.calibrate(get_domain("dog"), g, fitter=fitter, progress=lambda d, t: seen.append((d, t)))
    assert fitter.prompts == ["The dog is opening mouth.", "The dog is smiling.", "The dog is closing eyes.",
                              "The dog is surprised."]
    assert seen[-1] == (12, 12)
    assert controls.method == {**dict.fromkeys(C.DRIVEN_CHANNELS, "prompt"), "yaw": "sefa-fallback",
                               "pitch": "sefa-fallback"}
    closing = fitter.fit("The dog is closing eyes.").direction
    eyes = list(C.LAYER_GROUPS["eyes"])
    both_closed = controls.offsets({"eye_l": np.array([-C.TYPICAL["eye_l"]]), "eye_r": np.array([-C.TYPICAL["eye_r"]])})
    assert torch.allclose(both_closed[0, eyes], closing[eyes], atol=1e-5)                 # the full expression, once
    assert both_closed[0, [j for j in range(g.num_ws) if j not in eyes]].abs().max() == 0
    opening = fitter.fit("The dog is opening mouth.").direction
    mouth = list(C.LAYER_GROUPS["mouth"])
    assert torch.allclose(controls.directions["mouth_open"][mouth] * C.TYPICAL["mouth_open"], opening[mouth], atol=1e-5)
    with pytest.raises(LganimError, match="prompt fitter"):
        C.calibrate(get_domain("anime"), g)


def test_landmark_measure_on_a_real_face():
    face = np.array(Image.open(PHOTO).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS))
    blank = np.full_like(face, 128)
    m = C.landmark_measure(np.stack([face, blank]))
    assert set(m) == set(C.DRIVEN_CHANNELS)
    for c in C.DRIVEN_CHANNELS:
        assert np.isfinite(m[c][0]) and np.isnan(m[c][1]), c
    assert 0.05 < m["eye_l"][0] < 0.3 and 0.5 < m["mouth_wide"][0] < 1.5


def test_cli_calibrate_demo(tmp_path, clean_cache, capsys):
    report = tmp_path / "controls.json"
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert set(data["channels"]) == set(C.DRIVEN_CHANNELS)
    assert all(v["method"] == "sefa-fallback" for v in data["channels"].values())
    assert "computed" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu"]) == 0
    assert "cached" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--force"]) == 0
    assert "computed" in capsys.readouterr().out
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--json", str(tmp_path / "no" / "r.json")]) == 2
    assert main(["calibrate", "--domain", "demo", "--device", "cpu", "--components", "1", "--force"]) == 2
