"""Presets from the command line: `animate` with LGANIM_PRESETS fits nothing, a bundle of another generator exits 2,
`prefit` resumes and says in one line that a push failed (the bundle kept), `fits` lists and clears cached fits."""
import json
import shutil

import pytest
import torch

from lganim.config import FitSettings
from lganim.motion.calibration import calibrate
from lganim.motion.fitted import FitResult, applied_settings
from lganim.motion.presets import new_index, write_directions, write_prompt
from lganim.tools.prefit import NO_BUDGET
from lganim.weights.domain_files import domain_files, resolve
from lganim.weights.registry import get_domain
from lganim.weights.stylegan_files import load_generator
from tests.cli.commands import assert_one_line_error, lganim

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess
SMILE = "The person is smiling."


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle of the default fit settings for the demo domain holding SMILE, written with the bundle's own writers
    (a direction drawn at random stands in for a 200-step fit: these tests are about loading it)."""
    spec = get_domain("demo")
    files = domain_files(spec)
    g = load_generator(resolve(files.stylegan), spec.stylegan, device=torch.device("cpu"))
    out = tmp_path_factory.mktemp("bundle") / "P"
    out.mkdir()
    index = new_index(spec, files, applied_settings(FitSettings(max_seconds=NO_BUDGET), g))
    direction = 0.1 * torch.randn(g.num_ws, g.style_dim, generator=torch.Generator().manual_seed(0))
    index = write_prompt(out, index, FitResult(SMILE, direction, 1.0, 0.5, 200, 60.0, {}), {})
    write_directions(out, index, calibrate(spec, g))
    return out


def test_animate_with_presets_fits_nothing_and_a_bundle_of_another_generator_exits_2(bundle, tmp_path):
    cache = tmp_path / "cache"
    animate = ["animate", "--domain", "demo", "--motion", "fit", "--seed", 1, "--prompt", SMILE, "--frames", 4,
               "--device", "cpu", "--out"]
    proc = lganim(*animate, tmp_path / "a.mp4", env={"LGANIM_PRESETS": str(bundle), "LGANIM_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a.mp4").is_file() and not (cache / "fitted").exists()
    other = tmp_path / "other"
    shutil.copytree(bundle, other)
    index = json.loads((other / "index.json").read_text())
    index["generator"]["sha256"] = "f" * 64
    (other / "index.json").write_text(json.dumps(index))
    proc = lganim(*animate, tmp_path / "b.mp4", env={"LGANIM_PRESETS": str(other), "LGANIM_CACHE": str(cache)})
    assert_one_line_error(proc, "another demo generator file", "ffffffffffff", "prefit --domain demo")
    assert not (tmp_path / "b.mp4").exists() and not (cache / "fitted").exists()


def test_prefit_resumes_and_a_failed_push_keeps_the_bundle(bundle, tmp_path):
    out = tmp_path / "P"
    shutil.copytree(bundle, out)
    proc = lganim("prefit", "--domain", "demo", "--prompt", SMILE, "--out", out, "--device", "cpu",
                  "--push", "someone/demo-presets", env={"LGANIM_CACHE": str(tmp_path / "cache")})
    assert_one_line_error(proc, "Could not push the presets to the Hub repo someone/demo-presets", str(out),
                          report=True)
    assert f"resuming {out}: 1 prompts fitted already" in proc.stdout and f"wrote {out}" in proc.stdout
    assert not (tmp_path / "cache" / "fitted").exists()                       # nothing was fitted
    assert (out / "README.md").is_file() and (out / "strips" / "p000.png").is_file()
    assert json.loads((out / "index.json").read_text()) == json.loads((bundle / "index.json").read_text())


@pytest.mark.parametrize("args, words", [
    (["--push", "not a repo"], ["--push takes a Hub repo as USER/NAME"]),
    (["--prompt", " "], ["--prompt is empty"]),
    (["--domain", "cats"], ["Unknown domain"]),
])
def test_prefit_mistakes_are_one_line_before_anything_loads(tmp_path, args, words):
    assert_one_line_error(lganim("prefit", "--domain", "demo", "--out", tmp_path / "P", *args), *words)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "mine.txt").write_text("mine")
    assert_one_line_error(lganim("prefit", "--domain", "demo", "--out", tmp_path), "not a presets bundle")


def test_fits_lists_and_clears_the_cached_fits(tmp_path):
    env = {"LGANIM_CACHE": str(tmp_path / "cache")}
    fit = lganim("fit", "--domain", "demo", "--prompt", SMILE, "--steps", 2, "--batch", 1, "--device", "cpu", env=env)
    assert fit.returncode == 0, fit.stderr
    listed = lganim("fits", env=env)
    assert listed.returncode == 0 and f"demo    {SMILE!r}: 2 steps" in listed.stdout
    assert "1 cached fits" in listed.stdout
    assert lganim("fits", "--domain", "demo", "--clear", env=env).stdout.strip() == "removed 1 cached fits"
    assert "0 cached fits" in lganim("fits", env=env).stdout
    assert_one_line_error(lganim("fits", "--domain", "cats", env=env), "Unknown domain")
