"""Editing a still face (lganim/edit.py) on the demo domain: the same values give the same image, zero is the start
face exactly, every slider moves the image, values are checked before any work, a repeated edit only renders, the
ranges are the calibration's, and a clip starts from the edited code. The slider check on measured faces: with a
known synthetic measure here, with dlib's landmarks on the real FFHQ StyleGAN2 where its weights are."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lganim.config import CHANNELS, DRIVEN_CHANNELS, EDIT_CROP_RANGES, FitSettings
from lganim.edit import Editor, control_ranges
from lganim.errors import LganimError
from lganim.face.channels import landmark_measure
from lganim.models.renderer import FastRenderer
from lganim.models.stylegan2 import to_uint8
from lganim.motion.calibration import MEASURE_SIDE, calibrate, load_directions
from lganim.motion.directions import TYPICAL, ControlDirections
from lganim.motion.fitted import build_fitter
from lganim.motion.source import Motion
from lganim.pipeline import AnimationResult, Animator
from lganim.request import EditRequest, Request
from lganim.startcodes import PhotoEncoder, seed_codes
from lganim.weights.registry import get_domain
from tests import FACE_PHOTO
from tests.conftest import REAL_WEIGHTS
from tests.motion.test_calibration import LinearMeasure, tiny_generator

PROMPT = "The person is surprised."


class CountingRenderer:
    """The animator's renderer, counting the codes it renders."""

    def __init__(self, renderer):
        self.renderer, self.codes = renderer, []

    def __call__(self, ws):
        self.codes.append(ws.detach().clone())
        return self.renderer(ws)


class SpyFitter:
    """Stands in for the prompt fitter: a fixed direction [L, D] per prompt, and the prompts asked for."""

    def __init__(self, shape):
        self.shape, self.asked = shape, []

    def fit(self, prompt, progress=None):
        self.asked.append(prompt)
        rng = torch.Generator().manual_seed(len(prompt))
        return SimpleNamespace(direction=torch.randn(self.shape, generator=rng))


class SpySource:
    """A motion source that keeps the start codes it is given and does not move the face."""

    needs_first_frames = False
    needs_prompts = False

    def __init__(self):
        self.w0 = []

    def motion(self, request, w0, first_frames, *, generator=None, progress=None):
        self.w0.append(w0.clone())
        return Motion(torch.zeros(request.batch, request.num_frames, *w0.shape[1:]))


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


@pytest.fixture
def editor(anim):
    """A fresh editor of the demo domain whose renders are counted and whose prompts come from a spy fitter."""
    shape = (anim.stylegan.num_ws, anim.stylegan.style_dim)
    return Editor(anim.domain, anim.stylegan, CountingRenderer(anim.renderer), anim.photos, anim.files,
                  directions=anim.load_directions, fitter=SpyFitter(shape))


def a_value(editor, channel: str) -> float:
    """Half-way to the end of the channel's range."""
    return editor.ranges()[channel].hi / 2


def test_same_values_same_image_and_zero_is_the_start_face_exactly(anim, editor):
    asked = EditRequest(seed=1, controls={"yaw": 10.0, "mouth_open": 0.2}, prompts={PROMPT: 0.5})
    first, again = editor.edit(asked), editor.edit(asked)
    assert np.array_equal(first.image, again.image) and torch.equal(first.w, again.w)
    start = seed_codes(anim.stylegan, [1], anim.domain.truncation)
    still = editor.edit(EditRequest(seed=1, controls=dict.fromkeys(CHANNELS, 0.0), prompts={PROMPT: 0.0}))
    assert torch.equal(still.w, start) and torch.equal(still.w0, start) and still.move is None
    assert np.array_equal(still.image, to_uint8(anim.renderer(start))[0].numpy())
    assert first.image.shape == (anim.stylegan.size, anim.stylegan.size, 3) and first.image.dtype == np.uint8
    assert editor.fitter().asked == [PROMPT, PROMPT]                       # amount 0: nothing fitted


def test_every_slider_moves_the_image(editor):
    start = editor.edit(EditRequest(seed=2)).image
    for c in CHANNELS:
        moved = editor.edit(EditRequest(seed=2, controls={c: a_value(editor, c)}))
        assert not np.array_equal(moved.image, start), c
        assert moved.controls == {**dict.fromkeys(CHANNELS, 0.0), c: a_value(editor, c)}
    said = editor.edit(EditRequest(seed=2, prompts={PROMPT: 0.5}))
    assert not np.array_equal(said.image, start)
    opposite = editor.edit(EditRequest(seed=2, prompts={PROMPT: -0.5}))
    torch.testing.assert_close(said.w - said.w0, -(opposite.w - opposite.w0))   # negative: the opposite direction


def test_a_repeated_edit_of_a_face_only_renders(editor, monkeypatch):
    made = []
    monkeypatch.setattr("lganim.edit.seed_codes", lambda *a: made.append(a) or seed_codes(*a))
    for yaw in (1.0, 2.0, 3.0):
        editor.edit(EditRequest(seed=3, controls={"yaw": yaw}))
    assert len(made) == 1 and len(editor.renderer.codes) == 3              # one start code, one frame per edit
    assert all(codes.shape[0] == 1 for codes in editor.renderer.codes)


@pytest.mark.parametrize("controls, prompts, words", [
    ({"nose": 1.0}, {}, ["Unknown control 'nose'", "yaw, pitch, roll"]),
    ({"yaw": 90.0}, {}, ["yaw must be from -20 to 20 (deg) on the demo domain"]),
    ({"roll": -31.0}, {}, ["roll must be from -30 to 30 (deg)"]),
    ({"yaw": float("nan")}, {}, ["The control yaw must be a number"]),
    ({}, {PROMPT: 1.5}, ["amount of 'The person is surprised.' must be a number from -1 to 1"]),
    ({}, {"  ": 0.5}, ["prompt is empty"]),
])
def test_a_bad_value_is_one_line_naming_the_range_before_any_work(editor, controls, prompts, words):
    with pytest.raises(LganimError) as err:
        editor.edit(EditRequest(image=FACE_PHOTO, controls=controls, prompts=prompts))
    assert all(word in str(err.value) for word in words) and "\n" not in str(err.value)
    assert editor.renderer.codes == [] and editor.photos._encoder is None and editor.fitter().asked == []


def test_ranges_are_the_calibrations():
    shape = (2, 3)
    measured = ControlDirections("x", dict.fromkeys(DRIVEN_CHANNELS, torch.zeros(shape)),
                        {**dict.fromkeys(DRIVEN_CHANNELS, "sefa-fallback"), "yaw": "measured", "pitch": "measured"},
                        dict.fromkeys(DRIVEN_CHANNELS), 0.0,
                        {"channels": {"yaw": {"observed": [-17.4567, 22.9876], "slope": 0.9},
                                      "pitch": {"slope": 0.5}}})
    ranges = control_ranges(measured)
    assert list(ranges) == list(CHANNELS)
    assert (ranges["yaw"].lo, ranges["yaw"].hi, ranges["yaw"].source) == (-17.4, 22.9, "measured")   # what it saw
    assert (ranges["pitch"].lo, ranges["pitch"].hi) == (-7.5, 7.5)          # an older entry: slope × typical
    assert (ranges["smile"].lo, ranges["smile"].hi) == (-TYPICAL["smile"], TYPICAL["smile"])
    assert (ranges["eye_l"].lo, ranges["eye_l"].hi) == (-abs(TYPICAL["eye_l"]), abs(TYPICAL["eye_l"]))
    assert ranges["tx"].hi == EDIT_CROP_RANGES["tx"] and ranges["tx"].source == "crop"
    assert ranges["mouth_open"].unit == CHANNELS["mouth_open"]
    assert {r.source for r in control_ranges(None).values()} == {"typical", "crop"}


def test_a_clip_starts_from_the_edited_code(anim, editor):
    edit = editor.edit(EditRequest(seed=4, controls={"yaw": 8.0, "smile": 0.05}))
    spy = SpySource()
    plan = anim.prepare(Request(prompts=(), start=edit, num_frames=3), source=spy)
    assert torch.equal(spy.w0[0], edit.w) and torch.equal(plan.w0, edit.w) and not torch.equal(edit.w, edit.w0)
    assert plan.request.seeds == (4,) and plan.truncation == edit.truncation
    two = anim.prepare(Request(prompts=["a", "b"], start=edit, num_frames=2), source=spy)
    assert torch.equal(spy.w0[1], edit.w.expand(2, -1, -1))                # one face for every clip
    clip = AnimationResult(plan, anim)
    assert np.array_equal(clip.frames[0, 0], edit.image) and two.w0.shape[0] == 2
    assert anim.replan(plan, truncation=0.3).w0 is plan.w0                  # ψ does not redraw an edited face


def test_a_clip_keeps_the_edits_crop_move(anim, editor):
    edit = editor.edit(EditRequest(seed=4, controls={"roll": 10.0, "tx": 0.1}))
    plan = anim.prepare(Request(prompts=(), start=edit, num_frames=2), source=SpySource())
    assert np.allclose(plan.motion.transforms, edit.move)                   # frame by frame, under the motion's
    assert np.array_equal(AnimationResult(plan, anim).frames[0, 0], edit.image)


def test_an_edit_of_another_domain_is_refused(anim, editor):
    edit = editor.edit(EditRequest(seed=5))
    edit.domain = "human"
    with pytest.raises(LganimError, match="This edit is of a human face"):
        anim.prepare(Request(prompts=(), start=edit, num_frames=2), source=SpySource())


@pytest.mark.slow
def test_a_photo_is_edited_and_pasted_back_and_a_clip_keeps_its_canvas(anim):
    editor = Editor(anim.domain, anim.stylegan, CountingRenderer(anim.renderer), anim.photos, anim.files,
                    directions=anim.load_directions)
    start = editor.edit(EditRequest(image=FACE_PHOTO))
    moved = editor.edit(EditRequest(image=FACE_PHOTO, controls={"yaw": 10.0, "roll": 5.0}))
    assert start.image.shape == moved.image.shape == (512, 512, 3) and start.seed is None
    changed = np.argwhere((start.image != moved.image).any(-1))
    quad = start.photo.aligned.quad
    assert changed.size and (changed[:, ::-1] >= quad.min(0) - 2).all() and (changed[:, ::-1] <= quad.max(0) + 2).all()
    assert len(editor._starts) == 1 and len(editor.renderer.codes) == 2     # aligned and inverted once
    clip = anim("The person is smiling.", start=moved, num_frames=3)
    assert clip.frames.shape == (1, 3, 512, 512, 3) and np.array_equal(clip.frames[0, 0], moved.image)


@pytest.mark.slow
def test_a_prompt_is_fitted_once_for_every_edit(anim, tmp_path, monkeypatch):
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    fitter = build_fitter(anim.domain, anim.files, anim.stylegan, settings=FitSettings(steps=2, batch=1, frames=2))
    fits = []
    fit = fitter._fit
    monkeypatch.setattr(fitter, "_fit", lambda prompt, progress: fits.append(prompt) or fit(prompt, progress))
    editor = Editor(anim.domain, anim.stylegan, anim.renderer, anim.photos, anim.files,
                    directions=anim.load_directions, fitter=fitter)
    images = [editor.edit(EditRequest(seed=1, prompts={PROMPT + "; then smiling": a})).image for a in (0.2, 0.6, 1.0)]
    assert fits == ["The person is surprised.", "The person is smiling."]  # each segment once, then from memory
    assert not np.array_equal(images[0], images[-1])


def slider_check(editor: Editor, measure, seeds, side: int | None = None) -> dict:
    """Each measured driven channel's slider, at its typical value (clipped to its range), on the faces of `seeds`:
    the measured change of its channel against the value asked (RMS error), and each other channel's RMS change,
    beside the calibration's held-out figures of the same. `side`: renders shrunk to it before measuring."""

    def measured(edits):
        images = np.stack([e.image for e in edits])
        if side is not None and images.shape[1] > side:
            x = F.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2).float(), size=(side, side), mode="area")
            images = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return measure(images, torch.cat([e.w for e in edits]))

    controls, ranges = editor.directions(), editor.ranges()
    base = measured([editor.edit(EditRequest(seed=s)) for s in seeds])
    out = {}
    for c in DRIVEN_CHANNELS:
        held = controls.meta["channels"].get(c, {})
        if controls.method[c] != "measured" or held.get("rmse") is None:
            continue
        value = min(max(TYPICAL[c], ranges[c].lo), ranges[c].hi)
        moved = measured([editor.edit(EditRequest(seed=s, controls={c: value})) for s in seeds])
        change = {o: moved[o] - base[o] for o in DRIVEN_CHANNELS}
        others = {o: float(np.sqrt(np.nanmean(change[o] ** 2))) for o in held["others"]}
        out[c] = {"asked": value, "rmse": float(np.sqrt(np.nanmean((change[c] - value) ** 2))),
                  "held_rmse": held["rmse"], "others": others, "held_others": held["others"]}
    return out


def assert_within_held_out(figures: dict, slack: float, floor: dict[str, float]) -> None:
    """Each slider moved its channel and left the others within `slack` × the calibration's held-out error (+ a
    floor per channel for the measurer's own noise)."""
    for c, f in figures.items():
        assert f["rmse"] <= slack * f["held_rmse"] + floor[c], (c, f)
        for o, rms in f["others"].items():
            assert rms <= slack * f["held_others"][o] + floor[o], (c, o, f)


def test_each_slider_moves_its_channel_of_a_known_measure_and_holds_the_others():
    """The synthetic calibration (a linear measure of the W+ code, tests/motion/test_calibration.py): the real
    weights' check, where every figure is known."""
    g = tiny_generator()
    measure = LinearMeasure(g.num_ws, g.style_dim)
    domain = get_domain("demo")
    controls = calibrate(domain, g, measure=measure)
    editor = Editor(domain, g, FastRenderer(g), PhotoEncoder(domain, g, None), directions=lambda: controls)
    figures = slider_check(editor, measure, range(5000, 5004))
    assert set(figures) == set(DRIVEN_CHANNELS)
    assert_within_held_out(figures, 2.0, {c: 1e-6 * abs(TYPICAL[c]) for c in DRIVEN_CHANNELS})
    print("\nsynthetic calibration, each slider at its typical value on 4 new faces: RMS error (held-out's)")
    for c, f in figures.items():
        worst = max(f["others"], key=lambda o: f["others"][o] / TYPICAL[o])
        print(f"  {c:<10} asked {f['asked']:+.3g}: {f['rmse']:.2e} ({f['held_rmse']:.2e}); most moved other "
              f"{worst} {f['others'][worst]:.2e} ({f['held_others'][worst]:.2e})")


@pytest.mark.slow
@pytest.mark.real_weights("stylegan2-ffhq-config-f.pt")
def test_on_real_weights_each_slider_moves_its_channel_as_the_tracker_measures_it(monkeypatch):
    """On the FFHQ StyleGAN2 (calibrated on first use; minutes on a GPU): each slider, at its channel's typical
    value, moves its channel as dlib's landmarks measure it, and the other channels within twice the calibration's
    held-out error (plus the measurer's jitter: 0.5° of pose, 0.005 inter-ocular distances)."""
    monkeypatch.setenv("LGANIM_WEIGHTS", str(REAL_WEIGHTS))
    human = Animator.from_pretrained("human")
    controls = load_directions(human.domain, human.files, human.stylegan, calibrate_if_missing=True)
    editor = Editor(human.domain, human.stylegan, human.renderer, human.photos, human.files,
                    directions=lambda: controls)
    figures = slider_check(editor, landmark_measure, range(7000, 7008), side=MEASURE_SIDE)
    print(figures)
    assert figures, "no channel was measured by the calibration"
    assert_within_held_out(figures, 2.0, {c: 0.5 if c in ("yaw", "pitch") else 0.005 for c in DRIVEN_CHANNELS})
