"""app.py in-process: import loads no weights, values are checked, handlers stream the real demo domain, Cancel
stops work, a finished clip re-renders from its motion."""
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import yaml

import app
from lganim.media.writers import count_frames
from tests import ROOT

SMILE = "The person is smiling."


class NoProgress:
    """Stands in for gr.Progress outside a running server."""

    def __call__(self, *args, **kwargs):
        pass


def single(**overrides):
    """Run the /animate handler to the end with good defaults; returns every streamed output tuple."""
    kwargs = dict(image=None, domain="demo", seed=3, prompt=SMILE, num_frames=6, fps=6, strength=1.0,
                  truncation=1.0, schedule="linear")
    kwargs.update(overrides)
    return list(app.animate(**kwargs, progress=NoProgress()))


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


def test_app_is_thin():
    assert len((ROOT / "app.py").read_text().splitlines()) <= 300


def test_space_front_matter_matches_the_app():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    human = app.DOMAINS["human"].weights
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gr.__version__
    assert (ROOT / meta["app_file"]).is_file() and meta["license"] == "mit"
    assert any(entry.startswith(f"{human.repo_id} {human.filename}") for entry in meta["preload_from_hub"])


@pytest.mark.parametrize("overrides, message", [
    ({"num_frames": 100000}, "num_frames must be a whole number from 1 to 256"),
    ({"num_frames": 2.5}, "num_frames must be a whole number"),
    ({"num_frames": "10"}, "num_frames must be a whole number"),
    ({"fps": 0}, "fps must be a whole number from 1 to 60"),
    ({"strength": math.nan}, "strength must be a number from -10 to 10, got nan"),
    ({"strength": math.inf}, "strength must be a number"),
    ({"strength": 11}, "strength must be a number from -10 to 10"),
    ({"truncation": 1.5}, "truncation must be a number from 0 to 1"),
    ({"prompt": ""}, "prompt is empty"),
    ({"prompt": "   "}, "prompt is empty"),
    ({"prompt": None}, "prompt is empty"),
    ({"prompt": "x" * 5000}, "prompt is too long"),
    ({"domain": "cats"}, "Unknown domain 'cats': choose one of human"),
    ({"domain": None}, "Unknown domain None"),
    ({"seed": -1}, "seed must be a whole number from 0 to 4294967295"),
    ({"seed": True}, "seed must be a whole number"),
    ({"seed": [1, 2]}, "seed must be a whole number"),
    ({"schedule": "wobbly"}, "schedule must be one of linear, sqrt, exp, const, cosine"),
    ({"image": {"path": "/nonexistent/face.png"}}, "image must be an uploaded image file"),
    ({"image": 42}, "image must be an uploaded image file"),
])
def test_every_value_is_checked_with_a_one_line_message(overrides, message):
    with pytest.raises(gr.Error) as err:
        single(**overrides)
    assert message in err.value.message and "\n" not in err.value.message


def test_photos_only_where_the_domain_has_a_face_encoder():
    cache = Path(app.demo.GRADIO_CACHE)
    cache.mkdir(parents=True, exist_ok=True)
    photo = cache / "upload-test" / "astronaut.png"                   # as if uploaded through gradio
    photo.parent.mkdir(exist_ok=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png", photo)
    with pytest.raises(gr.Error, match="The dog domain cannot animate photos.*human"):
        single(domain="dog", image={"path": str(photo)})
    assert "dog" not in app.ANIMATORS.loaded                         # refused before anything loaded
    with pytest.raises(gr.Error, match="image must be an uploaded image file"):
        single(image={"path": str(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png")})   # not uploaded


def test_handler_streams_frames_before_the_video_on_the_demo_domain(monkeypatch):
    anim = app.ANIMATORS.get("demo")
    monkeypatch.setattr(anim, "chunk_size", 4)             # frame 0 (rendered for CLIP), then 9 frames: 4, 4, 1
    outputs = single(num_frames=10, fps=10)
    streamed = [o for o in outputs if o[2] is not None and o[0] is None]
    assert len(streamed) == 4                              # one update per chunk, each before the video
    assert all(o[2].dtype == np.uint8 and o[2].shape == (128, 128, 3) for o in streamed)
    mp4, gif, last, strip, plot, status, aligned, clip = outputs[-1]
    assert aligned is None                                 # a seed, not a photo
    assert count_frames(mp4) == 10 and count_frames(gif) == 10
    assert Path(mp4).parent.parent == Path(app.demo.GRADIO_CACHE)     # per-request folder in gradio's cache
    assert strip.shape[0] == 96 and strip.shape[1] == 8 * 96
    df = plot.value if isinstance(plot.value, dict) else None
    assert df is not None and len(df["data"]) == 10        # one point per frame
    assert "10 frames" in status and "untrained" in status
    assert clip.domain == "demo" and clip.plan.request.num_frames == 10


def test_releasing_a_slider_rerenders_the_last_clip():
    clip = single(num_frames=5, fps=5)[-1][-1]
    outputs = list(app.rerender(clip, 0.0, 1.0, 5, progress=NoProgress()))
    mp4, status, new_clip = outputs[-1][0], outputs[-1][5], outputs[-1][-1]
    assert count_frames(mp4) == 5 and "5 frames" in status
    frames = np.load(new_clip.frames)
    assert (frames == frames[:, :1]).all()                 # strength 0: the still face
    nothing = list(app.rerender(None, 0.5, 1.0, 5, progress=NoProgress()))   # no clip yet: nothing changes
    assert len(nothing) == 1 and all(isinstance(v, type(gr.skip())) for v in nothing[0])


def test_cancel_stops_rendering_between_chunks(monkeypatch):
    anim = app.ANIMATORS.get("demo")
    monkeypatch.setattr(anim, "chunk_size", 2)
    rendered = []
    render = anim.render

    def counting_render(plan, first=None):
        for chunk in render(plan, first):
            rendered.append(chunk.frames.shape[1])
            yield chunk

    monkeypatch.setattr(anim, "render", counting_render)
    folders_before = set(Path(app.demo.GRADIO_CACHE).glob("lganim-*"))
    stream = app.animate(None, "demo", 1, SMILE, 40, 10, 1.0, 1.0, "linear", progress=NoProgress())
    while next(stream)[2] is None:                          # until the first frames are shown
        pass
    stream.close()                                          # what gradio does on Cancel
    assert rendered == [1]                                  # frame 0 of 40: nothing rendered after the cancel
    assert set(Path(app.demo.GRADIO_CACHE).glob("lganim-*")) == folders_before   # no files were written


def test_batch_renders_one_video_per_clip():
    outputs = list(app.animate_batch("demo", "5, 6", f"{SMILE}\nThe person is angry.", 5, 5, 1.0, 1.0, "sqrt",
                                     progress=NoProgress()))
    gallery, grid, strip, plot, status = outputs[-1]
    assert [caption for _, caption in gallery] == ["clip 0", "clip 1"]
    assert [count_frames(path) for path, _ in gallery] == [5, 5]
    assert grid.shape == (128, 256, 3)                      # last frames of the two clips side by side
    assert strip.shape[0] == 2 * 96
    assert not np.array_equal(strip[:96], strip[96:])       # two different faces
    assert "2 clips" in status


@pytest.mark.parametrize("seeds, prompts, message", [
    ("1, 2, 3", f"{SMILE}\nThe person is angry.", "Give one prompt or one seed, or as many prompts as seeds"),
    ("1, two", SMILE, "seeds must be whole numbers"),
    ("", SMILE, "seeds is empty"),
    ("1", "\n \n", "prompts is empty"),
    (", ".join(map(str, range(17))), SMILE, "At most 16 clips"),
])
def test_batch_errors(seeds, prompts, message):
    with pytest.raises(gr.Error, match=message):
        list(app.animate_batch("demo", seeds, prompts, 4, 4, 1.0, 1.0, "linear", progress=NoProgress()))


def test_a_caller_that_leaves_truncation_out_gets_the_domains_own():
    """The page's config holds no ψ for the slider, so an API caller that leaves it out sends None and gets the
    domain's ψ (demo 1.0; anime 0.6), not one value for every domain."""
    final = list(app.animate(image=None, domain="demo", seed=3, prompt=SMILE, num_frames=2, fps=6,
                             progress=NoProgress()))[-1]
    clip = final[-1]
    assert clip.plan.truncation == app.DOMAINS["demo"].truncation == 1.0
    info = app.demo.get_api_info()["named_endpoints"]
    for endpoint in ("/animate", "/animate_batch"):
        psi = next(p for p in info[endpoint]["parameters"] if p["parameter_name"] == "truncation")
        assert psi["parameter_has_default"] and psi["parameter_default"] is None
