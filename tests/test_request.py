"""One validation layer: every value of a request is checked once, with the same one-line message everywhere."""
import dataclasses
import math
from types import SimpleNamespace

import pytest

from lganim import checks
from lganim import request as request_module
from lganim.config import MAX_DRIVEN_FRAMES, FitSettings, LossWeights
from lganim.errors import LganimError
from lganim.request import (
    DriveRequest,
    Driving,
    EditRequest,
    Request,
    VideoEditRequest,
    parse_prompt_lines,
    parse_seed_list,
)
from tests import FACE_PHOTO

PROMPT = "The person is smiling."


def test_prompts_and_seeds_are_broadcast():
    assert Request(prompts="a", seeds=[1, 2]).prompts == ("a", "a")
    assert Request(prompts=["a", "b"], seeds=7).seeds == (7, 7)
    assert Request(prompts="a", seeds=3.0).seeds == (3,)                # a whole number from JSON or a slider
    photo = Request(prompts=["a", "b"], seeds=[1, 2, 3], image=FACE_PHOTO)         # a photo: the seeds are not used
    assert photo.seeds == (None, None) and photo.batch == 2


@pytest.mark.parametrize("prompts, seeds, message", [
    ("", 1, "prompt is empty"), (None, 1, "prompt is empty"), ("x" * 5000, 1, "prompt is too long"),
    (["a", "b"], [1, 2, 3], "as many prompts as seeds"), ("a", -1, "seed must be a whole number"),
    ("a", True, "seed must be a whole number"), ("a", "abc", "seed must be a whole number"),
    ("a", list(range(17)), "At most 16 clips"), ("a", [], "at least one seed"), (5, 1, "prompt must be text"),
    (["a", 5], 1, "prompt must be text"), ("\ud800 smiling", 1, "not valid Unicode"),
])
def test_bad_prompts_and_seeds(prompts, seeds, message):
    with pytest.raises(LganimError, match=message) as err:
        Request(prompts=prompts, seeds=seeds)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_frames=0), "num_frames must be a whole number from 1 to 256, got 0."),
    (dict(num_frames=2.5), "num_frames must be a whole number"),
    (dict(num_frames="10"), "num_frames must be a whole number"),
    (dict(fps=0), "fps must be a whole number from 1 to 60"),
    (dict(fps=[12]), "fps must be a whole number from 1 to 60, got [12]."),
    (dict(strength=math.nan), "strength must be a number from -10 to 10, got nan."),
    (dict(strength=math.inf), "strength must be a number"),
    (dict(strength="nan"), "strength must be a number from -10 to 10, got 'nan'."),
    (dict(truncation=2.0), "truncation must be a number from 0 to 1"),
    (dict(schedule="bogus"), "schedule must be one of linear, sqrt, exp, const, cosine"),
    (dict(refine_steps=501), "refine_steps must be a whole number from 0 to 500"),
    (dict(face_index=-1), "face_index must be a whole number"),
])
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(LganimError) as err:
        Request(prompts=PROMPT, seeds=0, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_with_changes_checks_again():
    request = Request(prompts=PROMPT, seeds=1, strength=1.0)
    assert request.with_changes(strength=0.0).strength == 0.0 and request.strength == 1.0
    with pytest.raises(LganimError, match="fps"):
        request.with_changes(fps=1000)


def test_batch_text_fields():
    assert parse_seed_list("1, 2 3;4") == [1, 2, 3, 4]
    assert parse_prompt_lines(f"{PROMPT}\n\n  The person is angry.  \n") == [PROMPT, "The person is angry."]
    for value, message in [("", "seeds is empty"), ("1, two", "seeds must be whole numbers"),
                           ("99999999999", "seeds must be whole numbers")]:
        with pytest.raises(LganimError, match=message):
            parse_seed_list(value)
    with pytest.raises(LganimError, match="prompts is empty"):
        parse_prompt_lines("\n \n")


def test_checks_and_configs_share_the_rules():
    assert checks.whole("n", 4.0, 1, 5) == 4 and checks.number("x", 1, 0, 2) == 1.0
    with pytest.raises(LganimError, match="n must be a whole number from 1 to 5, got True."):
        checks.whole("n", True, 1, 5)
    with pytest.raises(LganimError, match="Fitting steps must be a whole number"):
        FitSettings(steps=0)
    with pytest.raises(LganimError, match="Unknown loss weight 'nope'"):
        FitSettings(weights={"nope": 1.0})
    assert LossWeights.with_overrides({"clip": 2.0}).clip == 2.0


def test_a_request_without_prompts_is_driven_and_may_be_long():
    driven = Request(prompts=[], seeds=3, num_frames=MAX_DRIVEN_FRAMES)
    assert driven.prompts == () and driven.batch == 1 and driven.seeds == (3,)
    with pytest.raises(LganimError, match="num_frames must be a whole number from 1 to 256"):
        Request(prompts="a", seeds=3, num_frames=257)                              # a language-guided clip is short


def test_drive_requests_check_every_value_before_any_work(tmp_path):
    clip = tmp_path / "v.mp4"
    clip.write_bytes(b"")                                  # only whether it exists is checked here
    video = Driving(kind="video", source=clip, region="lips", smooth=0.5)
    request = DriveRequest(driving=video, seed=4, fps=None, prompt=" The person is smiling. ")
    assert request.prompt == "The person is smiling." and request.fps is None
    face = request.as_request(300, 25)
    assert face.prompts == () and face.seeds == (4,) and face.num_frames == 300 and face.fps == 25
    for make, message in [
            (lambda: DriveRequest(driving=video, prompt=5), "prompt must be text"),
            (lambda: DriveRequest(driving=video, prompt="x" * 100_000), "prompt is too long"),
            (lambda: DriveRequest(driving=video, fps=61), "fps must be a whole number from 1 to 60"),
            (lambda: DriveRequest(driving=video, seed=-1), "seed must be a whole number"),
            (lambda: DriveRequest(driving="video"), "driving must be a Driving"),
            (lambda: Driving(kind="video"), "Give the driving video"),
            (lambda: Driving(kind="audio"), "Give the audio"),
            (lambda: Driving(kind="video", source=tmp_path / "gone.mp4"), "The driving video 'gone.mp4' was not found"),
            (lambda: Driving(kind="audio", source=tmp_path), "is a folder, not a file"),
            (lambda: Driving(kind="audio", source=clip, style=tmp_path / "s.mp4"), "The style video 's.mp4' was not"),
            (lambda: Driving(kind="text", text=""), "text is empty"),
            (lambda: Driving(kind="smell", source=clip), "kind must be one of video, audio, text"),
            (lambda: Driving(kind="video", source=clip, region="ears"), "region must be one of"),
            (lambda: Driving(kind="audio", source=clip, style_mode="loud"),
             "style mode must be one of stats, copy"),
            (lambda: Driving(kind="audio", source=clip, pose_scale=-1), "from 0 to 10"),
            (lambda: Driving(kind="text", text="Hi", rate=5), "speaking rate"),
            (lambda: Driving(kind="audio", source=clip, blinks_per_minute=100), "blink rate")]:
        with pytest.raises(LganimError, match=message) as err:
            make()
        assert "\n" not in str(err.value)


def test_edit_requests_check_every_value_before_any_work():
    edit = EditRequest(seed=7, controls={"yaw": 10, "smile": 0.5}, prompts={" The person is surprised. ": -0.5})
    assert edit.seed == 7 and edit.controls == {"yaw": 10.0, "smile": 0.5}
    assert edit.prompts == {"The person is surprised.": -0.5}
    assert EditRequest(seed=3, image=b"photo").seed is None and EditRequest().controls == {} == EditRequest().prompts
    for make, message in [
            (lambda: EditRequest(seed=-1), "seed must be a whole number"),
            (lambda: EditRequest(controls=[("yaw", 1)]), "controls must be a dict"),
            (lambda: EditRequest(controls={3: 1.0}), "named by its channel"),
            (lambda: EditRequest(controls={"yaw": "ten"}), "The control yaw must be a number, got 'ten'"),
            (lambda: EditRequest(controls={"yaw": math.inf}), "The control yaw must be a number"),
            (lambda: EditRequest(prompts="The person is smiling."), "prompts must be a dict"),
            (lambda: EditRequest(prompts={PROMPT: 2}), "must be a number from -1 to 1, got 2"),
            (lambda: EditRequest(prompts={PROMPT: 0.5, PROMPT + " ": 1}), "given twice"),
            (lambda: EditRequest(prompts={f"{PROMPT} {i}": 0.1 for i in range(9)}), "At most 4 language sliders"),
            (lambda: EditRequest(truncation=2), "truncation must be a number from 0 to 1")]:
        with pytest.raises(LganimError, match=message) as err:
            make()
        assert "\n" not in str(err.value)


def test_a_request_may_start_from_an_edit():
    edit = SimpleNamespace(w=None, domain="demo", seed=5, truncation=0.7, photo=None, move=None)
    request = Request(prompts=["a", "b"], start=edit)
    assert request.seeds == (5, 5) and request.start is edit
    assert Request(prompts="a", start=SimpleNamespace(**{**vars(edit), "seed": None})).seeds == (None,)
    face = DriveRequest(driving=Driving(kind="text", text="Hi"), seed=1, start=edit).as_request(10, 25)
    assert face.start is edit and face.seeds == (5,)
    with pytest.raises(LganimError, match="start must be an edit of a face"):
        Request(prompts="a", start="face.png")
    with pytest.raises(LganimError, match="not both"):
        DriveRequest(driving=Driving(kind="text", text="Hi"), image=FACE_PHOTO, start=edit)


def test_a_video_edit_is_a_video_file_and_a_sentence_or_controls(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not checked here: the door reads its header")
    request = VideoEditRequest(video=str(video), prompt=f" {PROMPT} ", controls={"smile": 0.1, "yaw": 0})
    assert request.video == video and request.prompt == PROMPT and request.controls == {"smile": 0.1, "yaw": 0.0}
    assert request.strength == 1.0 and request.start is None and request.residual
    assert VideoEditRequest(video=video, controls={"yaw": 5}, start=1, end=2.5).end == 2.5


@pytest.mark.parametrize("values, message", [
    (dict(video=None), "Give the video to edit"), (dict(video="nowhere.mp4"), "was not found"),
    (dict(video=b"bytes"), "must be a file path"), (dict(prompt=None), "Give a prompt"),
    (dict(prompt=None, controls={"smile": 0.0}), "Give a prompt"), (dict(prompt=""), "prompt is empty"),
    (dict(controls={"roll": 5.0}), "moves a crop, not a video's face"), (dict(controls={"grin": 1}), "Unknown control"),
    (dict(controls={"smile": "a"}), "must be a number"), (dict(controls=[1]), "must be a dict"),
    (dict(start=2.0, end=1.0), "must come after the start"), (dict(start=-1.0), "start time"),
    (dict(end=float("nan")), "end time"), (dict(strength=11.0), "strength"), (dict(face_index=-1), "face_index"),
])
def test_bad_video_edits_are_one_line(values, message):
    values = {"video": FACE_PHOTO, "prompt": PROMPT, **values}
    with pytest.raises(LganimError, match=message) as err:
        VideoEditRequest(**values)
    assert "\n" not in str(err.value)


def test_every_request_is_keyword_only_and_frozen():
    """A new field never shifts the meaning of a caller's arguments: requests take keywords only."""
    kinds = [c for c in vars(request_module).values() if dataclasses.is_dataclass(c) and isinstance(c, type)]
    assert {c.__name__ for c in kinds} >= {"Request", "Driving", "DriveRequest", "PredictRequest", "EditRequest",
                                           "LiveRequest"}
    for kind in kinds:
        assert all(f.kw_only for f in dataclasses.fields(kind)), kind.__name__
        assert kind.__dataclass_params__.frozen, kind.__name__
        with pytest.raises(TypeError, match="positional"):
            kind("x")
