"""app.py: importing it builds the page and loads no weights nor training code; the Space's front matter matches it;
its endpoints are named for what they are and described, each input with its unit and range (what the API page and
the MCP tools show)."""
import json
import os
import re
import subprocess
import sys

import gradio as gr
import pytest
import yaml

import app
from lganim.config import MAX_FPS, MAX_FRAMES, MAX_SEED, MAX_STRENGTH
from tests import ROOT
from ui import one_clip

SMILE = "The person is smiling."


@pytest.mark.slow
def test_import_loads_no_weights_and_no_training_code():
    code = ("import json, sys, app; print(json.dumps({'animators': len(app.ANIMATORS.loaded), "
            "'training': any(m.startswith('lganim.training') for m in sys.modules)}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"animators": 0, "training": False}
    assert not (ROOT / "app.pyi").exists()                   # gradio writes one beside a component subclass


@pytest.mark.slow
def test_a_fitting_request_and_the_app_never_import_training():
    code = ("import sys; from lganim import Animator, FitSettings; "
            "a = Animator.from_pretrained('demo', motion='fit', device='cpu', "
            "fit_settings=FitSettings(steps=1, batch=1, frames=2)); a('The person is smiling.', num_frames=2); "
            "import app; print(sorted(m for m in sys.modules if m.startswith('lganim.training')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_space_front_matter_matches_the_app():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    human = app.DOMAINS["human"].weights
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gr.__version__
    assert (ROOT / meta["app_file"]).is_file() and meta["license"] == "mit"
    assert any(entry.startswith(f"{human.repo_id} {human.filename}") for entry in meta["preload_from_hub"])


def test_every_endpoint_names_its_inputs_and_outputs_and_types_whole_numbers():
    info = app.demo.get_api_info()["named_endpoints"]
    assert {"/animate", "/animate_batch", "/rerender", "/predict", "/drive", "/talk"} <= set(info)
    for name, endpoint in info.items():
        for part in endpoint["parameters"] + endpoint["returns"]:
            label = part.get("parameter_name") or part.get("label") or ""
            assert not label.startswith("value_"), (name, part)
    animate = {p["parameter_name"]: p for p in info["/animate"]["parameters"]}
    assert [*animate][:7] == ["image", "domain", "seed", "prompt", "num_frames", "fps", "strength"]
    for endpoint, names in (("/animate", ("seed", "num_frames", "fps")), ("/predict", ("samples", "num_frames", "fps")),
                            ("/drive", ("seed", "fps")), ("/talk", ("seed", "fps"))):
        params = {p["parameter_name"]: p for p in info[endpoint]["parameters"]}
        for n in names:
            assert params[n]["type"]["type"] == "integer", (endpoint, n)


def test_every_endpoint_says_what_it_does_and_returns_and_describes_each_input():
    """gradio reads the handlers' docstrings (Google-style Args and Returns) for the API page and the MCP tools."""
    info = app.demo.get_api_info()["named_endpoints"]
    for name, endpoint in info.items():
        fn = next(f.fn for f in app.demo.fns.values() if f"/{f.api_name}" == name)
        description, args, returns = gr.utils.get_function_description(fn)
        assert len(description) > 40 and returns, name
        for p in endpoint["parameters"]:
            said = args.get(p["parameter_name"])
            assert said, (name, p["parameter_name"])                           # one line each
            if p["type"].get("type") in ("number", "integer"):
                assert re.search(r"-?[\d.]+ to -?[\d.]+|±[\d.]+", said), (name, p["parameter_name"], said)
            if p["component"] in ("Image", "Video", "Audio", "File"):            # files: one line, no server path
                assert "URL" in said and p["parameter_default"] is None, (name, p["parameter_name"])
                assert "\n" not in p["python_type"]["description"] and "FileData" not in p["python_type"]["description"]
    said = gr.utils.get_function_description(one_clip.animate)[1]             # the ranges are the library's
    assert f"1 to {MAX_FRAMES}" in said["num_frames"] and f"1 to {MAX_FPS}" in said["fps"]
    assert f"0 to {MAX_SEED}" in said["seed"] and f"-{MAX_STRENGTH:g} to {MAX_STRENGTH:g}" in said["strength"]
