"""The One clip tab in-process on the demo domain: every value checked, frames streamed before the MP4, the
GIF after it, Cancel, re-rendering, the domain's ψ for API callers."""
import math
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

import app
from tests import FACE_PHOTO
from tests.ui.handlers import SMILE, NoProgress, single, skipped
from tests.videos import count_frames
from ui import jobs, one_clip
from ui.common import ANIMATORS, FILES, Kept, canceller


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
    ({"image": {"path": "/etc/passwd"}}, "image must be an uploaded image file"),
    ({"image": 42}, "image must be an uploaded image file"),
    ({"prompt": "The person is \ud800 smiling."}, "not valid Unicode"),
    ({"prompt": 5}, "prompt must be text"),
])
def test_every_value_is_checked_with_a_one_line_message_shown_as_the_status(overrides, message):
    outputs = []
    with pytest.raises(gr.Error) as err:
        for out in one_clip.animate(**{**dict(image=None, domain="demo", seed=3, prompt=SMILE, num_frames=6, fps=6,
                                              strength=1.0, truncation=1.0, schedule="linear"), **overrides},
                                    progress=NoProgress()):
            outputs.append(out)
    assert message in err.value.message and "\n" not in err.value.message
    assert outputs[-1][one_clip.STATUS] == f"⚠️ {err.value.message}"           # the stale step is replaced


def test_photos_only_where_the_domain_has_a_face_encoder_and_only_uploads():
    photo = FILES / "upload-test" / "astronaut.png"                  # as if uploaded through gradio
    photo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FACE_PHOTO, photo)
    with pytest.raises(gr.Error, match="The dog domain cannot animate photos.*human"):
        single(domain="dog", image={"path": str(photo)})
    assert "dog" not in ANIMATORS.loaded                             # refused before anything loaded
    with pytest.raises(gr.Error, match="image must be an uploaded image file"):
        single(image={"path": str(FACE_PHOTO)})                      # not uploaded
    result = Path(single(num_frames=2)[-1][0])                       # a result of a request, in gradio's cache
    with pytest.raises(gr.Error, match="image must be an uploaded image file"):
        single(image={"path": str(result)})                          # results are not uploads


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_frames_stream_before_the_mp4_and_the_gif_comes_after_it(monkeypatch):
    anim = ANIMATORS.get("demo")
    monkeypatch.setattr(anim, "chunk_size", 4)             # frame 0 (rendered for CLIP), then 9 frames: 4, 4, 1
    last = Kept()
    outputs = single(num_frames=10, fps=10, last=last)
    assert outputs[0] == one_clip.CLEARED                  # nothing of an earlier clip stays (its motion plot too)
    streamed = [o for o in outputs if isinstance(o[2], np.ndarray) and skipped(o[0])]
    assert len(streamed) == 4                              # one update per chunk, each before the video
    assert all(o[2].dtype == np.uint8 and o[2].shape == (128, 128, 3) for o in streamed)
    with_mp4 = next(i for i, o in enumerate(outputs) if isinstance(o[0], str))
    assert outputs[with_mp4][1] is None and "making the GIF" in outputs[with_mp4][one_clip.STATUS]   # not yet
    mp4, gif, frame, strip, plot, status, aligned = outputs[-1]
    assert not any(skipped(v) for v in outputs[-1])        # the final answer is all values (an API caller's)
    assert aligned is None                                 # a seed, not a photo: no crop (an answer, not a skip)
    assert count_frames(outputs[with_mp4][0]) == 10 and count_frames(gif) == 10
    assert Path(outputs[with_mp4][0]).parent.parent == FILES          # per-request folder in gradio's cache
    assert not list(Path(outputs[with_mp4][0]).parent.glob("*.npy"))  # no raw frames kept beside the results
    strip = outputs[with_mp4][3]
    assert strip.shape[0] == 96 and strip.shape[1] == 8 * 96
    plot = outputs[with_mp4][4]
    assert len(plot) == 10 * 4                             # one point per frame for each of the 4 layer groups
    assert "10 frames" in status and "untrained" in status
    clip = last.value                                      # kept for re-rendering
    assert clip.domain == "demo" and clip.plan.request.num_frames == 10 and clip.first.shape == (1, 128, 128, 3)


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_releasing_a_slider_rerenders_the_last_clip(monkeypatch):
    last = Kept()
    single(num_frames=5, fps=5, last=last)
    anim = ANIMATORS.get("demo")
    rendered = []
    stream = anim.renderer.stream
    monkeypatch.setattr(anim.renderer, "stream", lambda ws: (rendered.append(len(ws)), stream(ws))[1])
    outputs = list(one_clip.rerender(last, 0.0, 1.0, 5, progress=NoProgress()))
    mp4, status = next(o for o in outputs if isinstance(o[0], str))[0], outputs[-1][one_clip.STATUS]
    assert count_frames(mp4) == 5 and "5 frames" in status and rendered == []      # strength 0: frame 0, reused
    assert count_frames(outputs[-1][1]) == 5 and not any(skipped(v) for v in outputs[-1])   # its GIF: all values
    faster = list(one_clip.rerender(last, 1.0, 1.0, 10, progress=NoProgress()))    # fps only: rendered again
    assert "10 fps" in faster[-1][one_clip.STATUS] and sum(rendered) == 4          # all but frame 0
    with pytest.raises(gr.Error, match="Nothing to re-render yet"):                # the API without a clip
        list(one_clip.rerender(Kept(), 0.5, 1.0, 5, progress=NoProgress()))
    nothing = list(one_clip.rerender_if_any(Kept(), 0.5, 1.0, 5, progress=NoProgress()))   # a slider without one
    assert len(nothing) == 1 and all(skipped(v) for v in nothing[0])


def test_cancel_stops_rendering_between_chunks_and_says_where_the_server_stopped(monkeypatch):
    anim = ANIMATORS.get("demo")
    monkeypatch.setattr(anim, "chunk_size", 2)
    rendered = []
    render = anim.render

    def counting_render(plan, first=None, **kwargs):
        for chunk in render(plan, first, **kwargs):
            rendered.append(chunk.frames.shape[1])
            yield chunk

    monkeypatch.setattr(anim, "render", counting_render)
    folders_before = set(FILES.glob("lganim-*"))
    stream = one_clip.animate(None, "demo", 1, SMILE, 40, 10, 1.0, 1.0, "linear", progress=NoProgress())
    while not isinstance((shown := next(stream))[2], np.ndarray):  # until the first frames are on the page
        pass
    next(stream)                                            # the server renders a chunk the page has not shown yet
    stream.close()                                          # what gradio does on Cancel
    assert rendered == [1, 2]                               # frame 0, frames 1-2 of 40: nothing after the cancel
    assert set(FILES.glob("lganim-*")) == folders_before    # no files were left
    assert "1/40" in shown[one_clip.STATUS]                 # the page trails the server by the chunk in flight ...
    status, live = canceller("single")()
    assert status == "Cancelled after 3 of 40 frames." and live is None   # ... Cancel says the server's count
    assert canceller("single")() == ("Cancelled.", None)    # nothing is running any more


def test_the_live_frame_changes_every_few_frames():
    outputs = single(num_frames=16, fps=8)                  # the renderer's own chunk holds all 16 frames
    shown = [o for o in outputs if isinstance(o[2], np.ndarray) and "Rendering" in o[one_clip.STATUS]]
    counts = [int(o[one_clip.STATUS].split("… ")[1].split("/")[0]) for o in shown]
    assert len(shown) >= 16 // jobs.STREAM_STEPS and max(np.diff([0, *counts])) <= jobs.STREAM_STEPS, counts


def test_a_call_through_mcp_keeps_no_clip_and_cannot_rerender():
    """gradio's MCP server sends every agent's calls through one session: nothing of one may reach another."""
    mcp = gr.Request(headers={"x-gradio-user": "mcp"}, session_hash="shared")
    last = Kept()
    list(one_clip.animate(None, "demo", 2, SMILE, 2, 6, 1.0, 1.0, "linear", last, progress=NoProgress(),
                          request=mcp))
    assert last.value is None
    with pytest.raises(gr.Error, match="call animate again"):
        list(one_clip.rerender(last, 0.5, 1.0, 6, progress=NoProgress(), request=mcp))


def test_a_caller_that_leaves_truncation_out_gets_the_domains_own():
    """The page's config holds no ψ for the slider, so an API caller that leaves it out sends None and gets the
    domain's ψ (demo 1.0; anime 0.6), not one value for every domain."""
    last = Kept()
    list(one_clip.animate(image=None, domain="demo", seed=3, prompt=SMILE, num_frames=2, fps=6, last=last,
                          progress=NoProgress()))
    clip = last.value
    assert clip.plan.truncation == app.DOMAINS["demo"].truncation == 1.0
    info = app.demo.get_api_info()["named_endpoints"]
    for endpoint in ("/animate", "/animate_batch"):
        psi = next(p for p in info[endpoint]["parameters"] if p["parameter_name"] == "truncation")
        assert psi["parameter_has_default"] and psi["parameter_default"] is None
