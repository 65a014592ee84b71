"""lganim's own files: written whole or not at all."""
import json
import os

import pytest

from lganim.files import atomic_dir, atomic_path, write_json


def test_json_write_is_atomic(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}            # the previous file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # and no temporary is left


def test_a_failed_write_leaves_nothing_and_a_good_one_has_the_usual_mode(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.mp4") as tmp:
            assert tmp.suffix == ".mp4" and tmp.parent == tmp_path
            tmp.write_bytes(b"half")
            raise RuntimeError("encoder crashed")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(tmp_path / "x.mp4") as tmp:
        tmp.write_bytes(b"whole")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "x.mp4").read_bytes() == b"whole"
    assert (tmp_path / "x.mp4").stat().st_mode & 0o777 == 0o666 & ~mask


def test_folders_are_replaced_whole_or_kept(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError("disk full")
    assert sorted(p.name for p in target.iterdir()) == ["a"]       # the failed write changed nothing
    with atomic_dir(target, replace=False) as tmp:                  # another process finished first
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with atomic_dir(target) as tmp:
        (tmp / "d").write_text("4")
    assert sorted(p.name for p in target.iterdir()) == ["d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folders left
