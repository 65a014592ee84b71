"""The Edit tab in-process on the demo domain: the endpoint's inputs are the channels, the same values give the same
image, a left-out control is 0, only the latest of several waiting values is rendered, the tab's sliders take the
domain's ranges, and "Animate from here" starts the clip from the edit."""
import inspect
import threading
import time
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import torch

from lganim.config import CHANNELS
from lganim.edit import cached_ranges
from lganim.weights.registry import get_domain
from tests.ui.handlers import NoProgress
from ui import common as ui_common
from ui import edit as ui_edit
from ui import handoff

SESSION = SimpleNamespace(session_hash="test-session", headers={})


def edit(**values):
    """The /edit handler's answer (image, status) for seed 1 of the demo domain, and the edit it kept."""
    last = ui_common.Kept()
    image, status = list(ui_edit.edit_face(**{"domain": "demo", "seed": 1, "request": SESSION, "last": last,
                                              **values}))[-1]
    return image, status, last.value


def test_the_endpoint_takes_one_input_per_channel_then_the_sentences():
    names = list(inspect.signature(ui_edit.edit_face).parameters)
    assert names[:3] == ["domain", "seed", "image"] and names[3:3 + len(CHANNELS)] == list(CHANNELS)
    assert names[3 + len(CHANNELS):-2] == ["prompt", "amount", "prompt_2", "amount_2", "prompt_3", "amount_3"]
    assert len(names[3 + len(CHANNELS):-2]) == 2 * ui_edit.LANGUAGE_SLIDERS and names[-2:] == ["last", "request"]


def test_same_values_same_image_and_a_left_out_control_is_zero():
    image, status, first = edit(yaw=10.0, mouth_open=0.2)
    again, _, _ = edit(yaw=10.0, mouth_open=0.2)
    assert np.array_equal(image, again) and image.shape == (128, 128, 3)
    assert "yaw 10, mouth_open 0.2" in status and "seed 1" in status
    plain, status, start = edit()
    assert np.array_equal(plain, edit(**dict.fromkeys(CHANNELS, 0.0), amount=0.0)[0])
    assert "no edit" in status and not np.array_equal(plain, image)
    assert torch.equal(start.w, start.w0) and not torch.equal(first.w, first.w0)


def test_a_bad_value_is_one_line_in_the_browser():
    with pytest.raises(gr.Error, match=r"yaw must be from -20 to 20 \(deg\) on the demo domain"):
        edit(yaw=45.0)
    with pytest.raises(gr.Error, match="amount of 'The person is smiling.' must be a number from -1 to 1"):
        edit(prompt="The person is smiling.", amount=3.0)


def test_only_the_latest_of_the_values_waiting_is_rendered(monkeypatch):
    """Five yaw values of a session arrive while its first renders: the first finishes, 2-4 are dropped, 5 is
    rendered; another session's edit runs meanwhile."""
    gate = ui_edit.LatestWins()
    monkeypatch.setattr(ui_edit, "LATEST", gate)
    rendered, in_flight, release = [], threading.Event(), threading.Event()
    work = ui_edit.edit_work

    def slow_work(domain, request):
        rendered.append(request.controls["yaw"])
        if len(rendered) == 1:
            in_flight.set()
            release.wait(30)                                       # the first render is in flight: the rest wait
        return work(domain, request)

    monkeypatch.setattr(ui_edit, "edit_work", slow_work)
    results, threads = {}, []

    def drag(yaw):
        results[yaw] = edit(yaw=yaw)

    for yaw in (1.0, 2.0, 3.0, 4.0, 5.0):
        before = gate.newest.get(SESSION.session_hash)
        threads.append(threading.Thread(target=drag, args=(yaw,)))
        threads[-1].start()
        deadline = time.monotonic() + 30
        while gate.newest.get(SESSION.session_hash) == before and time.monotonic() < deadline:
            time.sleep(0.005)                                      # this value is waiting now
        if yaw == 1.0:
            in_flight.wait(30)
    other = threading.Thread(target=lambda: results.update(other=list(ui_edit.edit_face(
        "demo", 1, None, yaw=7.0, request=SimpleNamespace(session_hash="another-session", headers={})))[-1]))
    other.start()
    other.join(30)                                                 # another session is not held up
    assert "other" in results
    release.set()
    for t in threads:
        t.join(30)
    assert rendered == [1.0, 7.0, 5.0]                             # this session: the one in flight and the last
    assert all(results[yaw] == (gr.skip(), gr.skip(), None) for yaw in (2.0, 3.0, 4.0))   # nothing new, none kept
    assert np.array_equal(results[5.0][0], edit(yaw=5.0)[0]) and gate.newest == {} == gate._running


def test_the_tab_has_a_live_slider_per_channel_in_the_domains_range():
    with gr.Blocks() as page:
        domain = gr.Dropdown(["demo", "human"], value="demo")
        with gr.Tabs():
            tab = ui_edit.build(domain)
    live = next(fn for fn in page.fns.values() if fn.api_name == "edit")
    assert live.trigger_mode == "always_last" and not live.preprocess
    sliders = {c.label: c for c in live.inputs if isinstance(c, gr.Slider) and c.label in CHANNELS}
    ranges = cached_ranges(get_domain("demo"))
    assert list(sliders) == list(CHANNELS)
    assert all((s.minimum, s.maximum) == (ranges[c].lo, ranges[c].hi) for c, s in sliders.items())
    assert {t[1] for t in live.targets} >= {"input", "submit", "upload"}                 # slider drags, Enter, photo
    assert isinstance(tab["start"], gr.State) and tab["start"] in live.inputs and live.outputs[0] is tab["image"]
    assert not any(isinstance(o, gr.State) for o in live.outputs)         # the edit is kept in place (see Kept)
    shown = ui_edit.domain_ranges("demo")                                  # the tab opens: values stay
    assert [(u["minimum"], u["maximum"]) for u in shown] == [(r.lo, r.hi) for r in ranges.values()]
    assert all("value" not in u for u in shown) and all(u["value"] == 0.0 for u in ui_edit.new_domain("demo"))


@pytest.mark.slow
def test_animate_from_here_starts_the_clip_from_the_edit(monkeypatch):
    _, _, start = edit(yaw=12.0, roll=5.0)
    anim = ui_common.ANIMATORS.get("demo")
    plans = []
    prepare = anim.prepare
    monkeypatch.setattr(anim, "prepare", lambda request, **kw: plans.append(prepare(request, **kw)) or plans[-1])
    video, status = list(ui_edit.animate_from(ui_common.Kept(start), "The person is smiling.",
                                              progress=NoProgress()))[-1]
    assert video.endswith(".mp4") and "16 frames" in status
    assert torch.equal(plans[0].w0.cpu(), start.w) and np.allclose(plans[0].motion.transforms[0], start.move)
    with pytest.raises(gr.Error, match="Edit a face first"):
        list(ui_edit.animate_from(ui_common.Kept(), "The person is smiling."))


def test_drive_and_talk_from_here_need_an_edit_and_open_their_tab():
    said = []
    with pytest.raises(gr.Error, match="Edit a face first"):
        said.extend(handoff.hand_off("drive")(None))
    assert said[-1][3] == f"⚠️ {handoff.NO_EDIT}"                       # in the Edit tab's status line too
    _, _, start = edit(yaw=12.0)
    handed, note, tabs, status = list(handoff.hand_off("talk")(ui_common.Kept(start)))[-1]
    assert handed is start and note["visible"] and tabs.selected == "talk" and status == ""


def test_a_call_through_mcp_is_answered_and_keeps_nothing():
    """gradio's MCP server sends every agent's calls through one session: none may drop or see another's."""
    mcp = SimpleNamespace(session_hash="shared", headers={"x-gradio-user": "mcp"})
    last = ui_common.Kept()
    image, status = list(ui_edit.edit_face("demo", 1, None, yaw=3.0, last=last, request=mcp))[-1]
    assert isinstance(image, np.ndarray) and "yaw 3" in status and last.value is None
