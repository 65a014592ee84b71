"""A set's folder: a row is done when its record matches it (and its clip is there), failures are kept apart, another
set's folder is refused, and the temporaries of killed writers are swept."""
import pytest

import lganim.files
from lganim.errors import LganimError
from lganim.files import host_tag
from lganim.sets.manifest import read_manifest
from lganim.sets.results import (
    check_folder,
    failure_file,
    folder_state,
    record_file,
    records,
    set_of,
    sweep,
    video_file,
    write_failure,
    write_record,
)


def manifest_of(tmp_path, lines, name="set.csv"):
    path = tmp_path / name
    path.write_text("id,seed,prompt\n" + "\n".join(lines) + "\n")
    return read_manifest(path, "demo")


def finish(out, manifest, row, motion=None):
    video_file(out, row.id).write_bytes(b"mp4")
    write_record(out, row, set_of(manifest, motion), {"rank": 0})


def test_done_failed_and_changed_rows(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    m = manifest_of(tmp_path, ["a,1,The person is smiling.", "b,2,The person is smiling.", "c,3,The person is angry."])
    a, b, c = m.rows
    finish(out, m, a)
    write_record(out, b, set_of(m, None), {})                             # a record, but its clip is gone
    write_failure(out, c, set_of(m, None), "no face", {})
    state = folder_state(out, m, None)
    assert state.done == {"a"} and state.failed == {"c": "no face"} and state.other_set is None
    assert records(out)["a"]["line"] == 2 and records(out)["a"]["row"] == a.settings()
    assert folder_state(out, m, "fit").done == set()                      # another motion: not these clips
    changed = manifest_of(tmp_path, ["a,1,The person is surprised.", "b,2,The person is smiling.",
                                     "c,3,The person is angry."], "changed.csv")
    assert folder_state(out, changed, None).done == set()                 # a's prompt changed: render it again
    finish(out, m, c)
    assert not failure_file(out, "c").exists() and folder_state(out, m, None).done == {"a", "c"}
    write_failure(out, a, set_of(m, None), "later", {})
    assert not record_file(out, "a").exists()                             # no record of a clip that is not its row


def test_a_folder_of_another_set_is_refused_unless_resumed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    first = manifest_of(tmp_path, ["a,1,The person is smiling."], "first.csv")
    finish(out, first, first.rows[0])
    (out / "notes.json").write_text('{"mine": 1}')                        # other files are allowed
    assert check_folder(out, first, None, resume=False).done == {"a"}     # the same manifest: resumed
    second = manifest_of(tmp_path, ["a,1,The person is smiling.", "b,2,The person is angry."], "second.csv")
    with pytest.raises(LganimError, match="holds the results of another set .of first.csv.*--resume"):
        check_folder(out, second, None, resume=False)
    assert check_folder(out, second, None, resume=True).done == {"a"}     # the same row: done
    with pytest.raises(LganimError, match="made with --motion"):
        check_folder(out, first, "fit", resume=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(LganimError, match="is a file"):
        check_folder(tmp_path / "file", first, None, resume=False)
    with pytest.raises(LganimError, match="does not exist"):
        check_folder(tmp_path / "no" / "out", first, None, resume=False)
    assert check_folder(tmp_path / "new", first, None, resume=False).done == set()


def test_the_sweep_removes_this_share_s_temporaries_from_any_machine_and_dead_writers_anywhere(tmp_path, monkeypatch):
    dead, live, other = 4_000_001, 4_000_002, "0badc0de"
    monkeypatch.setattr(lganim.files, "process_alive", lambda pid: pid == live)
    host = host_tag()
    names = {"mine_other_machine": f".a.tmp.{live}-{other}.ab12cd34.mp4",
             "mine_failure": f".a.failed.tmp.{live}-{host}.ef56gh78.json",
             "dead_writer": f".z.tmp.{dead}-{host}.ij90kl12.json",
             "live_other_row": f".z.tmp.{live}-{host}.mn34op56.mp4",
             "other_machine_other_row": f".z.tmp.{live}-{other}.qr78st90.mp4",
             "not_a_temporary": ".a.mp4.notes"}
    for name in names.values():
        (tmp_path / name).write_text("half")
    removed = {p.name for p in sweep(tmp_path, ["a", "b"])}
    assert removed == {names["mine_other_machine"], names["mine_failure"], names["dead_writer"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names["live_other_row"], names["other_machine_other_row"], names["not_a_temporary"]])
