"""What the tabs share: only files uploaded for the request are read."""
import pytest

from lganim.errors import LganimError
from ui.common import uploaded_file


def test_only_uploaded_files_are_accepted(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "x").mkdir(parents=True)
    inside = uploads / "x" / "face.png"
    inside.write_bytes(b"png")
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"png")
    assert uploaded_file(None, uploads) is None
    assert uploaded_file({"path": str(inside)}, uploads) == inside
    for payload in ({"path": str(outside)}, {"path": str(uploads / "x" / ".." / ".." / "secret.png")}, "face.png",
                    42, {"path": str(uploads / "missing.png")}, {"path": "http://127.0.0.1:9/face.png"},
                    {"path": str(inside) + "\x00"}, {"path": "data:image/png;base64,AA"}):
        with pytest.raises(LganimError, match="image must be an uploaded image file"):
            uploaded_file(payload, uploads)
