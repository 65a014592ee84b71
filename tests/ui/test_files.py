"""Where a server's files live: the retention, one disk cap over uploads, results and previews (the oldest finished
results and previews first; never uploads, folders in use or the app's own files), uploads reserved while received,
the janitor while the server runs, folders in use seen across processes and freed by a writer's death."""
import fcntl
import os
import subprocess
import sys
import time

import pytest

from lganim.errors import LganimError
from tests import ROOT
from ui import files
from ui.sessions import UPLOADS
from ui.settings import Settings


def aged(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def stored(root, name, size, age, upload=False):
    """A folder of gradio's (a preview, or an upload) holding `size` bytes, `age` seconds old."""
    folder = root / name
    folder.mkdir()
    (folder / "x.webp").write_bytes(b"x" * size)
    if upload:
        files.mark_uploads(root, [folder / "x.webp"])
    return aged(folder, age)


def result(root, size, age):
    """A finished request folder holding `size` bytes, `age` seconds old."""
    folder = files.request_dir(root, max_age=10 ** 6, total=10 ** 9, needed=0)
    (folder / "clip0.mp4").write_bytes(b"x" * size)
    files.release(folder)
    return aged(folder, age)


@pytest.fixture
def own(monkeypatch):
    """Sets the app's own files for a test (ui/sessions.UPLOADS is the server's)."""
    def keep(*paths):
        monkeypatch.setattr(UPLOADS, "own", frozenset(p.resolve() for p in paths))
    return keep


def test_the_retention_takes_results_previews_uploads_not_folders_in_use_nor_the_apps_own(tmp_path, own):
    old = 7200
    finished, preview = result(tmp_path, 10, old), stored(tmp_path, "a" * 64, 10, old)
    upload = stored(tmp_path, "b" * 64, 10, old, upload=True)
    example = stored(tmp_path, "c" * 64, 10, old)
    own(example / "x.webp")
    running = aged(files.request_dir(tmp_path, max_age=3600, total=10 ** 9, needed=100), old)
    fresh = stored(tmp_path, "d" * 64, 10, 5)
    gradios = tmp_path / "vibe_edit_history"                 # not a folder of files: never touched
    gradios.mkdir()
    aged(gradios, old)
    files.sweep(tmp_path, 3600)
    assert not finished.exists() and not preview.exists() and not upload.exists()
    assert example.exists() and running.exists() and fresh.exists() and gradios.exists()
    files.release(running)


def test_room_is_made_from_the_oldest_finished_results_and_previews_only(tmp_path, own):
    upload = stored(tmp_path, "a" * 64, 1000, 500, upload=True)   # the oldest, but an upload: kept
    oldest = result(tmp_path, 1000, 400)
    preview = stored(tmp_path, "b" * 64, 1000, 300)
    newest = result(tmp_path, 1000, 200)
    running = files.request_dir(tmp_path, max_age=3600, total=10 ** 9, needed=1500)
    (running / "clip0.mp4").write_bytes(b"x" * 500)                # 1000 more may come
    files.make_room(tmp_path, total=6000, needed=1500)              # 4500 + 1000 coming + 1500 > 6000: one goes
    assert [p.exists() for p in (upload, oldest, preview, newest, running)] == [True, False, True, True, True]
    files.make_room(tmp_path, total=6000, needed=3500)              # then the preview, then the newest result
    assert [p.exists() for p in (upload, preview, newest, running)] == [True, False, False, True]
    with pytest.raises(LganimError, match=r"out of room for files \(it keeps at most 0 MB") as err:
        files.make_room(tmp_path, total=4000, needed=3000)            # only the upload and the running folder left
    assert "\n" not in str(err.value) and str(tmp_path) not in str(err.value)
    assert upload.exists() and running.exists()
    files.release(running)


def test_an_upload_reserves_its_room_while_it_is_received(tmp_path):
    preview = stored(tmp_path, "a" * 64, 1000, 100)
    files.receive(tmp_path, 3000, 2500)                             # the preview goes for it
    try:
        assert not preview.exists()
        with pytest.raises(LganimError, match="out of room"):
            files.request_dir(tmp_path, max_age=3600, total=3000, needed=1000)    # 2500 are promised
    finally:
        files.received(2500)
    files.release(files.request_dir(tmp_path, max_age=3600, total=3000, needed=1000))


def test_uploads_are_marked_only_in_folders_of_the_cache(tmp_path):
    (tmp_path / ("e" * 64)).mkdir()
    deep = tmp_path / ("e" * 64) / "inner"
    deep.mkdir()
    files.mark_uploads(tmp_path, [tmp_path / ("e" * 64) / "face.png", deep / "face.png", tmp_path / "x.png"])
    assert (tmp_path / ("e" * 64) / files.UPLOAD_MARK).exists()
    assert not (deep / files.UPLOAD_MARK).exists() and not (tmp_path / files.UPLOAD_MARK).exists()


def test_a_folder_another_holder_locks_is_in_use_with_its_reservation(tmp_path):
    folder = tmp_path / "lganim-other"
    folder.mkdir()
    fd = os.open(folder / files.IN_USE, os.O_CREAT | os.O_WRONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)                                   # as another process's writer would
    os.write(fd, b"4096")
    try:
        assert files.reserved(folder) == 4096
    finally:
        os.close(fd)                                                 # its writer is gone
    assert files.reserved(folder) is None


@pytest.mark.slow                # a subprocess
def test_a_killed_writer_leaves_a_finished_folder_and_no_temporaries(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from ui import files; from lganim.files import temp_beside\n"
        f"folder = files.request_dir({str(tmp_path)!r}, max_age=3600, total=10 ** 9, needed=777)\n"
        "temp_beside(folder / 'clip0.mp4').write_bytes(b'half')\n"
        "print(folder, flush=True); time.sleep(600)")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        folder = tmp_path / os.path.basename(holder.stdout.readline().strip())
        assert files.reserved(folder) == 777
        files.make_room(tmp_path, total=10 ** 9, needed=0)
        assert folder.exists()                                       # in use: never removed for room
    finally:
        holder.kill()
        holder.wait()
    assert files.reserved(folder) is None                           # the writer died: finished
    files.sweep(tmp_path, 3600)
    assert folder.exists() and not [p for p in folder.iterdir() if p.name.startswith(".clip0")]


def test_the_janitor_keeps_the_cap_and_the_retention_while_it_runs(tmp_path):
    stop = files.start_janitor(tmp_path, Settings(disk_bytes=2500, files_seconds=3600), every=0.05)
    try:
        old = stored(tmp_path, "a" * 64, 10, 7200)
        previews = [stored(tmp_path, c * 64, 1000, 100 - i) for i, c in enumerate("bcd")]   # 3000 > 2500
        deadline = time.monotonic() + 30
        while (old.exists() or previews[0].exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not old.exists() and not previews[0].exists() and previews[1].exists() and previews[2].exists()
    finally:
        stop.set()
