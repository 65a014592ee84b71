"""One validation layer: every value of a request is checked once, with the same one-line message everywhere."""
import math

import pytest

from lganim import checks
from lganim.config import FitSettings, LossWeights
from lganim.errors import LganimError
from lganim.request import Request, parse_prompt_lines, parse_seed_list, uploaded_file

PROMPT = "The person is smiling."


def test_prompts_and_seeds_are_broadcast():
    assert Request("a", [1, 2]).prompts == ("a", "a")
    assert Request(["a", "b"], 7).seeds == (7, 7)
    assert Request("a", 3.0).seeds == (3,)                           # a whole number from JSON or a slider
    photo = Request(["a", "b"], [1, 2, 3], image="face.png")         # a photo: the seeds are not used
    assert photo.seeds == (None, None) and photo.batch == 2


@pytest.mark.parametrize("prompts, seeds, message", [
    ("", 1, "prompt is empty"), (None, 1, "prompt is empty"), ("x" * 5000, 1, "prompt is too long"),
    (["a", "b"], [1, 2, 3], "as many prompts as seeds"), ("a", -1, "seed must be a whole number"),
    ("a", True, "seed must be a whole number"), ("a", "abc", "seed must be a whole number"),
    ("a", list(range(17)), "At most 16 clips"), ([], 1, "at least one prompt"), ("a", [], "at least one seed"),
])
def test_bad_prompts_and_seeds(prompts, seeds, message):
    with pytest.raises(LganimError, match=message) as err:
        Request(prompts, seeds)
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
        Request(PROMPT, 0, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_with_changes_checks_again():
    request = Request(PROMPT, 1, strength=1.0)
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


def test_only_uploaded_files_are_accepted(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "x").mkdir(parents=True)
    inside = uploads / "x" / "face.png"
    inside.write_bytes(b"png")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"png")
    assert uploaded_file(None, uploads) is None
    assert uploaded_file({"path": str(inside)}, uploads) == inside
    for payload in ({"path": str(outside)}, {"path": str(uploads / "x" / ".." / ".." / "secret.png")}, "face.png",
                    42, {"path": str(uploads / "missing.png")}):
        with pytest.raises(LganimError, match="image must be an uploaded image file"):
            uploaded_file(payload, uploads)


def test_checks_and_configs_share_the_rules():
    assert checks.whole("n", 4.0, 1, 5) == 4 and checks.number("x", 1, 0, 2) == 1.0
    with pytest.raises(LganimError, match="n must be a whole number from 1 to 5, got True."):
        checks.whole("n", True, 1, 5)
    with pytest.raises(LganimError, match="Fitting steps must be a whole number"):
        FitSettings(steps=0)
    with pytest.raises(LganimError, match="Unknown loss weight 'nope'"):
        FitSettings(weights={"nope": 1.0})
    assert LossWeights.with_overrides({"clip": 2.0}).clip == 2.0
