"""app.py in-process: import is free, values are checked, handlers stream the real demo domain, Cancel stops work."""
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
from lganim.video import count_frames

ROOT = Path(__file__).resolve().parent.parent
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


def test_import_loads_nothing():
    code = ("import json, sys, app; print(json.dumps({'torch': 'torch' in sys.modules, "
            "'pipeline': 'lganim.pipeline' in sys.modules, 'animators': len(app._animators)}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"torch": False, "pipeline": False, "animators": 0}
    assert not (ROOT / "app.pyi").exists()                   # gradio writes one beside a component subclass


def test_space_front_matter_matches_the_app():
    text = (ROOT / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    human = app.DOMAINS["human"].weights
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gr.__version__
    assert (ROOT / meta["app_file"]).is_file() and meta["license"] == "mit"
    assert f"{human.repo_id} {human.filename}" in meta["preload_from_hub"]


def test_paper_prompts_are_the_28_training_prompts():
    assert len(set(app.PAPER_PROMPTS)) == 28
    assert app.PAPER_PROMPTS[0] == SMILE and "The person is winking." in app.PAPER_PROMPTS
    assert all(p.startswith("The person is ") and p.endswith(".") for p in app.PAPER_PROMPTS)


def test_start_domain_falls_back_to_demo_without_weights(monkeypatch, weights_dir):
    monkeypatch.delenv("LGANIM_DOMAIN", raising=False)
    domain, notice = app.start_domain()                 # conftest: HF_HUB_OFFLINE=1, empty caches
    assert domain == "demo" and "human" in notice and "offline" in notice and "\n" not in notice
    (weights_dir / "stylegan2-ffhq-config-f.pt").write_bytes(b"placeholder")   # found on disk, never opened
    assert app.start_domain() == ("human", "")
    monkeypatch.setenv("LGANIM_DOMAIN", "cats")
    assert app.start_domain()[0] == "demo" and "cats" in app.start_domain()[1]


def test_domain_labels_and_footer_carry_licences():
    assert "untrained random weights, for trying the app offline" in app.domain_label("demo")
    assert "non-commercial" in app.domain_label("human")
    footer = app.footer()
    assert "non-commercial" in footer and "2208.05617" in footer and "untrained" in footer
    info, psi = app.domain_info("dog")
    assert "non-commercial" in info and psi == app.DOMAINS["dog"].truncation


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
    ({"schedule": "cosine"}, "schedule must be one of linear, sqrt, exp, const"),
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
    with pytest.raises(gr.Error, match="image must be an uploaded image file"):
        single(image={"path": str(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png")})   # not uploaded


def test_handler_streams_frames_before_the_video_on_the_demo_domain(monkeypatch):
    anim = app.get_animator("demo")
    monkeypatch.setattr(anim, "chunk_size", 4)            # 10 frames -> chunks of 4, 4, 2
    outputs = single(num_frames=10, fps=10)
    streamed = [o for o in outputs if o[2] is not None and o[0] is None]
    assert len(streamed) == 3                              # one update per chunk, each before the video
    assert all(o[2].dtype == np.uint8 and o[2].shape == (128, 128, 3) for o in streamed)
    mp4, gif, last, strip, plot, status, aligned = outputs[-1]
    assert aligned is None                                 # a seed, not a photo
    assert count_frames(mp4) == 10 and count_frames(gif) == 10
    assert Path(mp4).parent.parent == Path(app.demo.GRADIO_CACHE)     # per-request folder in gradio's cache
    assert strip.shape[0] == app.STRIP_HEIGHT and strip.shape[1] == 8 * app.STRIP_HEIGHT
    df = plot.value if isinstance(plot.value, dict) else None
    assert df is not None and len(df["data"]) == 10        # one point per frame
    assert "10 frames" in status and "untrained" in status


def test_cancel_stops_rendering_between_chunks(monkeypatch):
    anim = app.get_animator("demo")
    monkeypatch.setattr(anim, "chunk_size", 2)
    rendered, folders = [], []
    render, make_dir = anim.render, app.request_dir

    def counting_render(plan):
        for chunk in render(plan):
            rendered.append(chunk.frames.shape[1])
            yield chunk

    def recording_dir():
        folders.append(make_dir())
        return folders[-1]

    monkeypatch.setattr(anim, "render", counting_render)
    monkeypatch.setattr(app, "request_dir", recording_dir)
    stream = app.animate(None, "demo", 1, SMILE, 40, 10, 1.0, 1.0, "linear", progress=NoProgress())
    while next(stream)[2] is None:                          # until the first frames are shown
        pass
    stream.close()                                          # what gradio does on Cancel
    assert rendered == [2]                                  # 2 of 40 frames: nothing rendered after the cancel
    assert folders and not folders[0].exists()              # the request's folder is gone


def test_batch_renders_one_video_per_clip():
    outputs = list(app.animate_batch("demo", "5, 6", f"{SMILE}\nThe person is angry.", 5, 5, 1.0, 1.0, "sqrt",
                                     progress=NoProgress()))
    gallery, grid, strip, plot, status = outputs[-1]
    assert [caption for _, caption in gallery] == ["clip 0", "clip 1"]
    assert [count_frames(path) for path, _ in gallery] == [5, 5]
    assert grid.shape == (128, 256, 3)                      # last frames of the two clips side by side
    assert strip.shape[0] == 2 * app.STRIP_HEIGHT
    assert not np.array_equal(strip[:app.STRIP_HEIGHT], strip[app.STRIP_HEIGHT:])   # two different faces
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


def test_motion_pca_of_a_straight_path_is_a_line():
    t = np.arange(12, dtype=np.float32)
    direction = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    ws = (t[:, None, None] * direction)[None]               # [1, T, L, D]: w[t] = t · direction
    df = app.motion_pca(ws, ["clip"])
    assert np.allclose(df["pc2"], 0, atol=1e-4)
    assert np.all(np.diff(df["pc1"]) > 0)                   # frames in order along PC1, last one to the right
    assert np.allclose(np.diff(df["pc1"]), np.linalg.norm(direction), rtol=1e-4)


def test_frame_strip_and_tile_shapes():
    frames = np.zeros((3, 20, 32, 48, 3), np.uint8)
    assert app.frame_strip(frames).shape == (3 * 32, 8 * 48, 3)    # frames smaller than STRIP_HEIGHT keep size
    assert app.tile(frames[:, 0]).shape == (64, 96, 3)              # 3 images -> 2×2 grid
