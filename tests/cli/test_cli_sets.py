"""`render-set` and `eval --set` as a user runs them: bad rows named by their line before torch, another set's folder
refused unless resumed, a dry run, a scheduler's shards, progress on a terminal, two sets compared."""
import csv
import io
import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from lganim.cli import main
from lganim.sets.manifest import read_manifest
from lganim.sets.report import PLOT_SIZE
from lganim.sets.results import set_of, write_record
from tests import FACE_PHOTO
from tests.cli.commands import assert_one_line_error, lganim

pytestmark = pytest.mark.slow                # `python -m lganim` in a subprocess; clips encoded with ffmpeg
HEADER = "id,seed,prompt,frames,fps\n"
FOUR = HEADER + "".join(f"s{seed}-{word},{seed},The person is {word}.,3,3\n" for word in ("smiling", "angry")
                        for seed in (1, 2))


class Terminal(io.StringIO):
    """stderr as a terminal (tqdm draws its bars only on one)."""

    def isatty(self) -> bool:
        return True


def test_a_row_with_an_empty_prompt_is_named_by_its_line_before_torch(tmp_path):
    (tmp_path / "set.csv").write_text(HEADER + "a,1,The person is smiling.,3,3\nb,2,,3,3\n")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "lganim", "render-set", "--domain", "demo",
                           "--manifest", "set.csv", "--out", "clips"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    assert "lganim.sets.manifest" in imported and not {m for m in imported if m.split(".")[0] == "torch"}
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    assert_one_line_error(proc, "set.csv line 3", "prompt is empty")
    assert [p.name for p in tmp_path.iterdir()] == ["set.csv"]                 # nothing started


@pytest.mark.parametrize("text, extra, words", [
    (HEADER + "a,1,The person is smiling.,3,3\nb,,,3,3\n", [], ["line 3", "a seed or an image"]),
    ("id,image,prompt\na,gone.png,The person is smiling.\n", [], ["line 2", "gone.png", "was not found"]),
    ("id,domain,seed,prompt\na,cats,1,The person is smiling.\n", [], ["line 2", "Unknown domain"]),
    ("seed,prompt\n1,The person is smiling.\n", [], ["not a manifest", "id first"]),
    (FOUR, ["--shard", "2/2"], ["--shard takes i/n"]),
    (FOUR, ["--json", "summary.txt"], ["--json"]),
])
def test_a_bad_manifest_or_option_is_one_line_and_starts_nothing(tmp_path, text, extra, words):
    (tmp_path / "set.csv").write_text(text)
    proc = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "clips", *extra, cwd=tmp_path)
    assert_one_line_error(proc, *words)
    assert [p.name for p in tmp_path.iterdir()] == ["set.csv"]


def test_another_set_s_folder_is_refused_unless_resumed_and_a_dry_run_renders_nothing(tmp_path):
    (tmp_path / "other.csv").write_text(HEADER + "x,9,The person is winking.,3,3\n")
    other = read_manifest(tmp_path / "other.csv", "demo")
    out = tmp_path / "clips"
    out.mkdir()
    write_record(out, other.rows[0], set_of(other, None), {"video": "x.mp4", "rank": 0})
    (tmp_path / "set.csv").write_text(FOUR)
    before = sorted(p.name for p in out.iterdir())

    refused = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "clips", cwd=tmp_path)
    assert_one_line_error(refused, "holds the results of another set (of other.csv)", "--resume")
    plan = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "clips", "--resume",
                  "--dry-run", "--json", "plan.json", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines()[0] == "set.csv: 4 rows, all valid; done: 0; failed before: 0; to render: 4"
    assert "shares of 1 process: rank 0: 4 clips (2 batches, 12 frames)" in plan.stdout
    assert json.loads((tmp_path / "plan.json").read_text())["shares"][0]["clips"] == 4
    assert sorted(p.name for p in out.iterdir()) == before                     # a dry run writes nothing there
    fresh = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "new", "--dry-run",
                   "--shard", "1/2", cwd=tmp_path)
    assert fresh.returncode == 0 and "2 rows, all valid" in fresh.stdout and not (tmp_path / "new").exists()


def test_shards_render_their_share_with_progress_on_a_terminal_and_eval_compares_two_sets(tmp_path, monkeypatch):
    (tmp_path / "set.csv").write_text(FOUR)
    (tmp_path / "still.csv").write_text(FOUR.replace("frames,fps", "frames,fps,strength").replace(",3,3\n",
                                                                                                  ",3,3,0\n"))
    a, b = tmp_path / "a", tmp_path / "b"
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["render-set", "--domain", "demo", "--manifest", str(tmp_path / "set.csv"), "--out", str(a),
                 "--shard", "0/2", "--device", "cpu"]) == 0
    monkeypatch.undo()
    assert "rank 0: 100%" in terminal.getvalue() and "2/2" in terminal.getvalue()     # the rank's bar
    first = sorted(p.name for p in a.glob("*.mp4"))
    assert len(first) == 2

    second = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "a", "--shard", "1/2",
                    cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "rank 0: " not in second.stderr and "100%" not in second.stderr          # no bar off a terminal
    assert second.stdout.startswith("rows: 2; done: 2 (2 now, 0 before); failed: 0 now")
    assert len(list(a.glob("*.mp4"))) == len(list(a.glob("*.json"))) == 4          # the two shares: the set
    whole = lganim("render-set", "--domain", "demo", "--manifest", "set.csv", "--out", "a", cwd=tmp_path)
    assert whole.stdout.splitlines()[:2] == ["rows: 4; done: 4 (0 now, 4 before); failed: 0 now, 0 left from before",
                                             "nothing was left to render"]
    assert lganim("render-set", "--domain", "demo", "--manifest", "still.csv", "--out", "b",
                  cwd=tmp_path).returncode == 0

    paths = {flag: tmp_path / f"r.{suffix}" for flag, suffix in (("json", "json"), ("csv", "csv"),
                                                                 ("markdown", "md"), ("plot", "png"))}
    assert main(["eval", "--set", str(a), "--compare", str(b), "--device", "cpu",
                 *(arg for flag, path in paths.items() for arg in (f"--{flag}", str(path)))]) == 0
    result = json.loads(paths["json"].read_text())
    assert list(result["prompts"]) == list(result["compare"]["prompts"]) == ["The person is smiling.",
                                                                              "The person is angry."]
    for prompt, delta in result["compare"]["delta"].items():
        assert delta["smoothness"] > 0                # strength 0: the still face is smoother than the motion
        assert result["prompts"][prompt]["clips"] == 2 and result["prompts"][prompt]["identity"] is None
    lines = list(csv.reader(paths["csv"].open(encoding="utf-8")))
    assert [line[0] for line in lines[1:]] == [str(a)] * 4 + [str(b)] * 4
    assert "| The person is smiling. | B | 2 |" in paths["markdown"].read_text(encoding="utf-8")
    assert Image.open(paths["plot"]).size == PLOT_SIZE


def test_eval_of_a_folder_without_a_set_is_one_line(tmp_path):
    shutil.copy(FACE_PHOTO, tmp_path / "me.png")
    proc = lganim("eval", "--set", tmp_path, "--json", tmp_path / "r.json")
    assert_one_line_error(proc, "holds no finished clip of a set")
    proc = lganim("eval", "--video", tmp_path / "me.png", "--markdown", tmp_path / "r.md")
    assert_one_line_error(proc, "--markdown goes with --set")
    assert [p.name for p in tmp_path.iterdir()] == ["me.png"]
