"""Which files a client may name: its own uploads and the app's own files, nothing else."""
from ui.sessions import Uploads, new_client


def test_a_client_may_name_its_uploads_and_the_apps_own_files_only(tmp_path):
    mine, theirs, example = tmp_path / "mine.png", tmp_path / "theirs.png", tmp_path / "example.png"
    for path in (mine, theirs, example):
        path.write_bytes(b"png")
    uploads, me, them = Uploads(), new_client(), new_client()
    uploads.keep_own([example])
    uploads.record(me, [str(mine)])
    uploads.record(them, [str(theirs)])
    assert uploads.allowed(me, mine) and not uploads.allowed(me, theirs) and uploads.allowed(me, example)
    assert not uploads.allowed(None, mine) and uploads.allowed(None, example)
    uploads.record(me, [str(theirs)])                   # the same file uploaded again: gradio stores it once
    assert uploads.allowed(me, theirs) and uploads.allowed(them, theirs)


def test_uploads_whose_files_are_gone_are_forgotten(tmp_path):
    gone = tmp_path / "gone.png"
    gone.write_bytes(b"png")
    uploads, me = Uploads(), new_client()
    uploads.record(me, [gone])
    gone.unlink()
    uploads.record(me, [])
    gone.write_bytes(b"png")                            # another file at that path later: not the upload
    assert not uploads.allowed(me, gone)
