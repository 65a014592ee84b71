"""Request folders: old ones are swept."""
import os

from ui import files

SMILE = "The person is smiling."


def quiet(fraction, text):
    pass


def test_old_request_folders_are_swept(tmp_path):
    old = files.request_dir(tmp_path)
    os.utime(old, (0, 0))
    new = files.request_dir(tmp_path)
    assert new.exists() and not old.exists()


