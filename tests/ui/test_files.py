"""Where a server's files live: old ones swept (earlier processes' uploads too), results capped, oldest first."""
import os
import time

import pytest

from lganim.errors import LganimError
from ui import files


def aged(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_old_request_folders_and_earlier_processes_uploads_are_swept(tmp_path):
    old = aged(files.request_dir(tmp_path, max_age=60, total=10 ** 9, needed=0), 120)
    earlier_upload = tmp_path / "3f2a"
    earlier_upload.mkdir()
    (earlier_upload / "face.png").write_bytes(b"png")
    aged(earlier_upload, time.time() - files.STARTED + 120)   # from before this process started
    own_upload = tmp_path / "9c1d"                            # this process's: gradio's own sweep removes it
    own_upload.mkdir()
    new = files.request_dir(tmp_path, max_age=60, total=10 ** 9, needed=0)
    assert new.exists() and own_upload.exists()
    assert not old.exists() and not earlier_upload.exists()


def test_results_are_capped_the_oldest_going_first(tmp_path):
    folders = []
    for age in (300, 200, 100):
        folder = files.request_dir(tmp_path, max_age=3600, total=10 ** 9, needed=0)
        (folder / "clip0.mp4").write_bytes(b"x" * 1000)
        folders.append(aged(folder, age))
    files.make_room(tmp_path, total=2500, needed=600)          # 3000 + 600 > 2500: the two oldest go
    assert [f.exists() for f in folders] == [False, False, True]
    with pytest.raises(LganimError, match="more than the 0 MB they may take"):
        files.make_room(tmp_path, total=100, needed=600)
