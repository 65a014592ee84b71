"""The manifest of a set: CSV and JSON Lines rows become checked requests, and a bad row is named by its line."""
import json
import shutil

import numpy as np
import pytest

from lganim.config import DEFAULT_FPS, DEFAULT_FRAMES
from lganim.errors import LganimError
from lganim.request import DriveRequest, Request
from lganim.sets.manifest import COLUMNS, batch_request, read_manifest
from lganim.tracks.track import Track
from tests import FACE_PHOTO, ROOT


def write(tmp_path, text, name="set.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def a_track(path, n=10, fps=5.0):
    t = np.arange(n) / fps
    return Track(fps=fps, t=t, channels={"yaw": np.linspace(0, 10, n)}, valid=np.ones(n, bool)).save(path)


def refused(tmp_path, text, *words, name="set.csv"):
    with pytest.raises(LganimError) as err:
        read_manifest(write(tmp_path, text, name), "demo")
    assert all(w in str(err.value) for w in words), str(err.value)
    return str(err.value)


def test_the_example_manifest_is_two_seeds_by_four_prompts():
    manifest = read_manifest(ROOT / "examples" / "set.csv", "human")           # its rows name the demo domain
    rows = manifest.rows
    assert len(rows) == 8 and {r.seed for r in rows} == {1, 2} and len({r.prompt for r in rows}) == 4
    assert all(r.frames == 8 and r.domain == "demo" and r.line == k + 2 for k, r in enumerate(rows))
    paper = read_manifest(ROOT / "examples" / "paper.csv", "human").rows
    assert len(paper) == 28 * 4 and {(r.frames, r.fps) for r in paper} == {(16, 10)}


def test_csv_rows_get_their_defaults_and_become_requests(tmp_path):
    shutil.copy(FACE_PHOTO, tmp_path / "me.png")
    a_track(tmp_path / "nod.json")
    m = read_manifest(write(tmp_path, "id,domain,seed,image,prompt,track,strength,fps\n"
                                      "a,,1,,The person is smiling.,,,\n"
                                      "b,demo,,me.png,  The person is winking. ,,0.5,\n"
                                      'c,,3,,,nod.json,,\n'
                                      'd,,4,,,nod.json,,10\n'), "demo")
    a, b, c, d = m.rows
    assert (a.frames, a.fps, a.strength, a.schedule, a.truncation) == (DEFAULT_FRAMES, DEFAULT_FPS, 1.0, "linear", None)
    assert isinstance(a.request(), Request) and a.request().seeds == (1,)
    assert b.prompt == "The person is winking." and b.seed is None and b.strength == 0.5
    assert b.request().image == tmp_path / "me.png" and b.image_sha256 is not None and b.batch_key is None
    assert isinstance(c.request(), DriveRequest) and c.frames == 10 and c.fps is None and c.schedule is None
    assert d.frames == 20 and d.fps == 10 and c.track_sha256 == d.track_sha256    # 2 s of track at 10 fps
    assert set(a.settings()) >= set(COLUMNS) - {"image", "track"}
    assert m.sha256 == read_manifest(tmp_path / "set.csv", "demo").sha256


def test_json_lines_rows_are_the_same_rows(tmp_path):
    csv = read_manifest(write(tmp_path, "id,seed,prompt,frames\nx,1,The person is smiling.,4\n"), "demo")
    lines = read_manifest(write(tmp_path, json.dumps({"id": "x", "seed": 1, "prompt": "The person is smiling.",
                                                      "frames": 4}) + "\n\n", "set.jsonl"), "demo")
    assert csv.rows[0].settings() == lines.rows[0].settings() and csv.sha256 == lines.sha256


def test_rows_of_one_prompt_and_settings_make_one_request(tmp_path):
    rows = read_manifest(write(tmp_path, "id,seed,prompt\na,1,The person is smiling.\nb,2,The person is smiling.\n"
                                         "c,3,The person is angry.\n"), "demo").rows
    assert rows[0].batch_key == rows[1].batch_key != rows[2].batch_key
    request = batch_request(rows[:2])
    assert request.seeds == (1, 2) and request.prompts == ("The person is smiling.",) * 2
    with pytest.raises(LganimError):
        batch_request(rows)


@pytest.mark.parametrize("text, words", [
    ("id,seed,prompt\na,1,The person is smiling.\nb,2,\n", ["set.csv line 3", "prompt is empty"]),
    ("id,seed,prompt\na,1,The person is smiling.\nb,2,   \n", ["line 3", "prompt is empty"]),
    ("id,seed,prompt,colour\na,1,The person is smiling.,red\n", ["line 1", "unknown column 'colour'"]),
    ("id,image,prompt\na,nobody.png,The person is smiling.\n", ["line 2", "'nobody.png' was not found"]),
    ("id,domain,seed,prompt\na,cats,1,The person is smiling.\n", ["line 2", "Unknown domain 'cats'"]),
    ("id,seed,prompt\na,1,The person is smiling.\na,2,The person is angry.\n", ["line 3", "used again", "line 2"]),
    ("id,seed,prompt\na b,1,The person is smiling.\n", ["line 2", "letters, digits"]),
    ("id,seed,image,prompt\na,1,x.png,The person is smiling.\n", ["line 2", "a seed or an image, not both"]),
    ("id,prompt\na,The person is smiling.\n", ["line 2", "a seed or an image"]),
    ("id,seed,prompt,track\na,1,The person is smiling.,t.json\n", ["line 2", "a prompt or a track"]),
    ("id,seed,prompt\na,1,The person is smiling, a lot.\n", ["line 2", "4 cells for 3 columns"]),
    ("id,seed,prompt,frames\na,1,The person is smiling.,0\n", ["line 2", "num_frames"]),
    ("id,seed,prompt,strength\na,1,The person is smiling.,strong\n", ["line 2", "strength", "'strong'"]),
    ("id,seed,prompt\n", ["holds no rows"]),
    ("", ["is empty"]),
    ("seed,prompt\n1,The person is smiling.\n", ["not a manifest"]),
    ("id,seed,prompt\na,1,\nb,x,The person is smiling.\nc,2,The person is smiling.\n",
     ["line 2", "(and 1 more bad row: line 3)"]),
])
def test_a_bad_row_is_named_by_its_line(tmp_path, text, words):
    refused(tmp_path, text, *words)


def test_a_photo_on_a_domain_without_photos_and_the_track_rows_limits(tmp_path):
    shutil.copy(FACE_PHOTO, tmp_path / "me.png")
    a_track(tmp_path / "nod.json")
    refused(tmp_path, "id,domain,image,prompt\na,anime,me.png,The person is smiling.\n", "line 2",
            "anime domain takes no photos")
    refused(tmp_path, "id,seed,track,frames\na,1,nod.json,8\n", "line 2", "track row takes no frames")
    (tmp_path / "bad.json").write_text("{}")
    refused(tmp_path, "id,seed,track\na,1,bad.json\n", "line 2")


def test_files_that_are_no_manifest(tmp_path):
    (tmp_path / "photo.csv").write_bytes(FACE_PHOTO.read_bytes())
    with pytest.raises(LganimError, match="not a manifest: it is not UTF-8"):
        read_manifest(tmp_path / "photo.csv", "demo")
    refused(tmp_path, "not json\n", "not a manifest: line 1 is not a JSON object", name="set.jsonl")
    refused(tmp_path, '{"id": "a", "seed": 1, "prompt": "The person is smiling."}\n[1, 2]\n', "set.jsonl line 2",
            "not a JSON object", name="set.jsonl")
    refused(tmp_path, '{"id": "a", "seed": 1, "prompt": ""}\n', "set.jsonl line 1", "prompt is empty",
            name="set.jsonl")
    refused(tmp_path, '{"id": "a", "seed": 1, "prompt": "x", "size": 3}\n', "line 1", "unknown column 'size'",
            name="set.jsonl")
    with pytest.raises(LganimError, match="must be a .csv or .jsonl"):
        read_manifest(write(tmp_path, "id\n", "set.txt"), "demo")
    with pytest.raises(LganimError, match="was not found"):
        read_manifest(tmp_path / "none.csv", "demo")
