"""lganim's own files: written whole or not at all; what a killed writer leaves is swept at the next start, never
what a live one is writing; file locks between processes."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import lganim.files
from lganim.config import LOCK_POLL_SECONDS, TEMP_MAX_AGE
from lganim.files import (
    atomic_dir,
    atomic_path,
    cache_dir,
    file_lock,
    host_tag,
    sweep_temporaries,
    temp_prefix,
    write_json,
)
from tests import ROOT


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


def test_temporaries_name_their_writer(tmp_path):
    with atomic_path(tmp_path / "x.mp4") as tmp, atomic_dir(tmp_path / "model") as folder:
        owner = f".tmp.{os.getpid()}-{host_tag()}."
        assert tmp.name.startswith(".x" + owner) and tmp.suffix == ".mp4"
        assert folder.name.startswith(".model" + owner)
    assert temp_prefix("staging", "old") == f".staging.old.{os.getpid()}-{host_tag()}."


def test_the_sweep_removes_what_dead_writers_left_and_keeps_what_live_ones_write(tmp_path, monkeypatch):
    dead, live, host = 4_000_001, 4_000_002, host_tag()
    monkeypatch.setattr(lganim.files, "process_alive", lambda pid: pid == live)
    old = time.time() - TEMP_MAX_AGE - 60

    def make(name, *, folder=False, aged=False):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            path.mkdir()
            (path / "part").write_text("half")
        else:
            path.write_text("half")
        if aged:
            os.utime(path, (old, old))
        return path

    gone = [make(f".demo-v1.tmp.{dead}-{host}.ab12cd34", folder=True),
            make(f"fitted/demo/.k.tmp.{dead}-{host}.ef56gh78.safetensors"),
            make(f"fitted/demo/.m.old.{dead}-{host}.ij90kl12", folder=True),
            make(f".z.tmp.{live}-{host}.mn34op56.json", aged=True),        # a reused pid: by age
            make(f".w.tmp.{dead}-0badc0de.qr78st90", aged=True),            # another machine's: by age
            make(".v.tmp.uv12wx34.mp4", aged=True),                         # an earlier version's: by age
            make(".staging-yz56ab78", folder=True, aged=True)]
    kept = [make(f".a.tmp.{os.getpid()}-{host}.cd90ef12", aged=True),     # this process's own
            make(f".b.tmp.{live}-{host}.gh34ij56"), make(f".c.tmp.{live}-{host}.kl78mn90", folder=True),
            make(f".d.tmp.{dead}-0badc0de.op12qr34"),                       # another machine's, recent
            make(".e.tmp.st56uv78.mp4"),                                    # an earlier version's, recent
            make("fitted/demo/k.safetensors", aged=True), make(".hidden", aged=True),
            make("x.tmp.wx90yz12", aged=True), make(".not.tmp.someone-elses-file", aged=True),
            make(f"fitted/demo/deeper/.n.tmp.{dead}-{host}.ab34cd56")]     # below the folders lganim writes in
    inner = make(f".c.tmp.{live}-{host}.kl78mn90/.i.tmp.{dead}-{host}.ef78gh90")   # inside a live writer's folder
    removed = sweep_temporaries(tmp_path)
    assert sorted(removed) == sorted(gone)
    assert not any(p.exists() for p in gone) and all(p.exists() for p in kept) and inner.exists()


def test_the_first_use_of_a_cache_in_a_process_sweeps_it(tmp_path, monkeypatch):
    monkeypatch.setattr(lganim.files, "process_alive", lambda pid: False)
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path))
    left = tmp_path / f".demo-v1.tmp.4000001-{host_tag()}.ab12cd34"
    left.mkdir()
    assert cache_dir() == tmp_path and not left.exists()               # today: left there for ever
    left.mkdir()
    assert cache_dir() == tmp_path and left.exists()                   # once per process


def test_a_held_lock_is_waited_for_then_given_up_without_blocking(tmp_path):
    now, sleeps = [0.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds
    lock = tmp_path / "k.lock"
    with file_lock(lock, wait=0) as held:
        assert held
        with file_lock(lock, wait=1.0, clock=lambda: now[0], sleep=sleep) as second:
            assert second is False                                       # another holder: given up after 1 s
        assert len(sleeps) == round(1.0 / LOCK_POLL_SECONDS)
    with file_lock(lock, wait=0) as again:
        assert again                                                     # released with the block


WRITER = """
import sys, time
from lganim.files import atomic_dir, atomic_path, cache_dir
root = cache_dir()
(root / "fitted").mkdir(parents=True, exist_ok=True)
with atomic_dir(root / "demo-v9") as folder, atomic_path(root / "fitted" / "k.safetensors") as tmp:
    (folder / "model.safetensors").write_bytes(b"half")
    tmp.write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(120)
"""


def temporaries(root, pid):
    return sorted(p for p in root.rglob("*") if f".tmp.{pid}-" in p.name)


@pytest.mark.slow
def test_after_kill_9_the_next_start_removes_the_dead_writers_temporaries_only(tmp_path):
    env = {**os.environ, "LGANIM_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        assert [w.stdout.readline().strip() for w in writers] == ["writing", "writing"]
        killed, alive = writers
        assert len(temporaries(tmp_path, killed.pid)) == 2 and len(temporaries(tmp_path, alive.pid)) == 2
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        subprocess.run([sys.executable, "-c", "from lganim.files import cache_dir; cache_dir()"], cwd=ROOT, env=env,
                       check=True, timeout=60)                                # the next start
        assert temporaries(tmp_path, killed.pid) == []                       # today: both left
        assert len(temporaries(tmp_path, alive.pid)) == 2                    # a live writer's are kept
    finally:
        for w in writers:
            w.kill()
            w.wait(30)
