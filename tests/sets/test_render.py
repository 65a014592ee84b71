"""Rendering a set on the demo domain: one process in this one, two under torchrun (gloo), a killed run resumed."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lganim.sets.render
from lganim.errors import LganimError
from lganim.sets.manifest import read_manifest
from lganim.sets.render import SetRun, dry_run, dry_run_lines, render_set
from lganim.sets.results import records
from lganim.tracks.track import Track
from tests import FACE_PHOTO, ROOT
from tests.videos import count_frames

pytestmark = pytest.mark.slow                  # every clip is encoded with ffmpeg; torchrun starts processes
EXAMPLE = ROOT / "examples" / "set.csv"


def contents(out: Path) -> dict[str, list[str]]:
    """The folder by kind: clips, records, failures, hidden files (temporaries)."""
    names = sorted(p.name for p in out.iterdir())
    return {"mp4": [n for n in names if n.endswith(".mp4") and not n.startswith(".")],
            "json": [n for n in names if n.endswith(".json") and not n.endswith(".failed.json")],
            "failed": [n for n in names if n.endswith(".failed.json")],
            "hidden": [n for n in names if n.startswith(".")]}


def test_one_process_renders_every_kind_of_row_once_and_a_rerun_renders_nothing(tmp_path, monkeypatch):
    shutil.copy(FACE_PHOTO, tmp_path / "me.png")
    n = 6
    Track(fps=6.0, t=np.arange(n) / 6.0, channels={"yaw": np.linspace(0, 8, n)}, valid=np.ones(n, bool)).save(
        tmp_path / "turn.json")
    (tmp_path / "set.csv").write_text("id,seed,image,prompt,track,frames,fps\n"
                                      "a,1,,The person is smiling.,,4,4\nb,2,,The person is smiling.,,4,4\n"
                                      "c,3,,The person is angry.,,4,4\nphoto,,me.png,The person is angry.,,4,4\n"
                                      "driven,4,,,turn.json,,\n")
    manifest = read_manifest(tmp_path / "set.csv", "demo")
    out = tmp_path / "out"
    calls = []
    real = lganim.sets.render.render_batch

    def counted(anim, batch, folder):
        calls.append([r.id for r in batch.rows])
        return real(anim, batch, folder)

    monkeypatch.setattr(lganim.sets.render, "render_batch", counted)
    plan = dry_run(SetRun(manifest=manifest, out=out, device="cpu"), 2)
    assert plan["to_render"] == 5 and sum(s["clips"] for s in plan["shares"]) == 5 and plan["seconds"] > 0
    assert "5 rows, all valid" in dry_run_lines(plan)[0] and not out.exists()     # a dry run writes nothing

    summary = render_set(SetRun(manifest=manifest, out=out, device="cpu"))
    assert sorted(map(sorted, calls)) == [["a", "b"], ["c"], ["driven"], ["photo"]]          # a and b: one request
    assert summary.rendered == [5] and summary.done == 5 and not summary.failed and summary.clips_per_second > 0
    found = contents(out)
    assert found["mp4"] == [f"{i}.mp4" for i in ("a", "b", "c", "driven", "photo")] and not found["hidden"]
    assert count_frames(out / "a.mp4") == 4 and count_frames(out / "driven.mp4") == n
    record = json.loads((out / "a.json").read_text())
    assert record["row"]["prompt"] == "The person is smiling." and record["rank"] == 0 and record["world"] == 1
    assert record["batch"]["rows"] == 2 and record["seconds"] > 0 and record["lganim"] and record["frames"] == 4
    assert set(record["weights"]) >= {"stylegan", "clip_loss"} and len(record["weights"]["stylegan"]) == 64
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    calls.clear()
    again = render_set(SetRun(manifest=manifest, out=out, device="cpu"))
    assert calls == [] and again.rendered == [0] and again.done_before == 5
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before           # nothing rendered or written again
    measured = dry_run(SetRun(manifest=manifest, out=out, device="cpu"), 1)
    assert measured["to_render"] == 0 and measured["rate_from"] == "5 finished rows in the folder"


def test_a_failed_row_is_marked_skipped_then_redone_when_asked(tmp_path, monkeypatch):
    (tmp_path / "set.csv").write_text("id,seed,prompt,frames\nok,1,The person is smiling.,3\n"
                                      "bad,2,The person is angry.,3\n")
    manifest = read_manifest(tmp_path / "set.csv", "demo")
    out = tmp_path / "out"
    real = lganim.sets.render.render_batch

    def failing(anim, batch, folder):
        if batch.rows[0].id == "bad":
            raise LganimError("no face in this one")
        return real(anim, batch, folder)

    monkeypatch.setattr(lganim.sets.render, "render_batch", failing)
    summary = render_set(SetRun(manifest=manifest, out=out, device="cpu"))
    assert summary.rendered == [1] and [(f["id"], f["line"], f["why"]) for f in summary.failed] == \
        [("bad", 3, "no face in this one")]
    assert contents(out)["failed"] == ["bad.failed.json"] and contents(out)["json"] == ["ok.json"]
    assert any("failed: bad (line 3, rank 0): no face in this one" in line for line in summary.lines())
    skipped = render_set(SetRun(manifest=manifest, out=out, device="cpu"))
    assert skipped.rendered == [0] and skipped.left_failed == {"bad": "no face in this one"}
    monkeypatch.setattr(lganim.sets.render, "render_batch", real)
    redone = render_set(SetRun(manifest=manifest, out=out, device="cpu", redo_failed=True))
    assert redone.rendered == [1] and contents(out)["failed"] == [] and len(contents(out)["json"]) == 2


def torchrun(out: Path, manifest: Path, *extra: str, background: bool = False):
    """`torchrun --standalone --nproc_per_node 2 -m lganim render-set --domain demo ...` on the CPU."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "lganim",
           "render-set", "--domain", "demo", "--manifest", str(manifest), "--out", str(out), "--device", "cpu",
           *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if background:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_two_processes_render_the_example_set_and_eval_reports_its_four_prompts(tmp_path):
    out = tmp_path / "set"
    done = torchrun(out, EXAMPLE, "--json", str(tmp_path / "summary.json"))
    assert done.returncode == 0, done.stderr[-3000:]
    found = contents(out)
    assert len(found["mp4"]) == 8 and len(found["json"]) == 8 and not found["hidden"] and not found["failed"]
    ranks = {json.loads((out / name).read_text())["rank"] for name in found["json"]}
    assert ranks == {0, 1}                                                     # both ranks rendered rows
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rendered"] == [4, 4] and summary["processes"] == 2 and summary["clips_per_second"] > 0
    assert done.stderr.count("device: cpu") == 2 and "clips/s" in done.stdout
    assert all(count_frames(out / name) == 8 for name in found["mp4"][:2])

    from lganim.cli import main
    report = tmp_path / "R.json"
    assert main(["eval", "--set", str(out), "--json", str(report), "--device", "cpu"]) == 0
    prompts = json.loads(report.read_text())["prompts"]
    assert list(prompts) == ["The person is smiling.", "The person is winking.", "The person is surprised.",
                             "The person is angry."]
    for measures in prompts.values():
        assert measures["clips"] == 2 and 0 <= measures["clip_score"] <= 100 and -1 <= measures["clip_direction"] <= 1
        assert measures["identity"] is None and "no face" in measures["identity_why"]    # the demo's random faces


def workers_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (torchrun's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds torchrun's workers in /proc")
def test_a_rank_killed_mid_run_resumes_without_duplicates_or_temporaries(tmp_path):
    manifest = tmp_path / "set.csv"                      # the example set with longer clips: time to kill mid-run
    manifest.write_text(EXAMPLE.read_text().replace(",8,8\n", ",40,8\n"))
    out = tmp_path / "set"
    run = torchrun(out, manifest, background=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None and not (out.is_dir() and contents(out)["json"]):
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed: " + run.stderr.read()[-2000:]
    victim = workers_of(run.pid)[-1]
    os.kill(victim, signal.SIGKILL)                      # a rank dies: torchrun stops the other one
    run.communicate(timeout=120)
    assert run.returncode != 0
    finished = {name: (out / name).read_bytes() for name in contents(out)["json"]}
    assert 0 < len(finished) < 8

    again = torchrun(out, manifest)
    assert again.returncode == 0, again.stderr[-3000:]
    found = contents(out)
    assert len(found["mp4"]) == 8 and len(found["json"]) == 8 and not found["hidden"] and not found["failed"]
    assert all((out / name).read_bytes() == data for name, data in finished.items())   # not rendered again
    written = [json.loads((out / name).read_text()) for name in found["json"]]
    assert len({r["run"] for r in written}) == 2                              # before the kill, and after it
    assert {r["rank"] for r in written} == {0, 1}                             # both ranks rendered rows
    assert f"{8 - len(finished)} now, {len(finished)} before" in again.stdout
    assert set(records(out)) == {name[:-5] for name in found["json"]}
