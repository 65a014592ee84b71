"""The server's door (ui/guard.py) in front of a stand-in for gradio's routes: the client's cookie, uploads within
the disk cap recorded as their client's, a file route that serves only whole files of the cache, no URL."""
import hashlib
import json

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from ui import files
from ui.guard import Guard
from ui.sessions import CLIENT_COOKIE, Uploads


@pytest.fixture
def door(tmp_path):
    """(a client factory, the uploads record, what reached the stand-in's routes) for a door on `tmp_path`."""
    reached, uploads = [], Uploads()

    async def upload(request):
        reached.append("upload")
        stored = []
        for _, part in (await request.form()).multi_items():
            data = await part.read()
            folder = tmp_path / hashlib.sha256(data).hexdigest()
            folder.mkdir(exist_ok=True)
            (folder / part.filename).write_bytes(data)
            stored.append(str(folder / part.filename))
        return JSONResponse(stored)

    async def served(request):
        reached.append(request.url.path)
        return PlainTextResponse("served")

    app = Starlette(routes=[Route("/gradio_api/upload", upload, methods=["POST"]),
                            Route("/gradio_api/file={path:path}", served),
                            Route("/gradio_api/file/{path:path}", served),
                            Route("/gradio_api/proxy={path:path}", served), Route("/", served)],
                    middleware=[Middleware(Guard, root=tmp_path, disk_bytes=10 ** 6, upload_bytes=300_000,
                                           uploads=uploads)])
    return (lambda: TestClient(app, base_url="http://testserver")), uploads, reached


def test_every_client_gets_its_cookie_with_its_first_answer(door):
    client = door[0]()
    first = client.get("/")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{CLIENT_COOKIE}=") and "HttpOnly; SameSite=Lax" in cookie
    assert "set-cookie" not in client.get("/").headers                 # it holds it now
    behind_https = door[0]().get("/", headers={"x-forwarded-proto": "https"}).headers["set-cookie"]
    assert "Secure; SameSite=None; Partitioned" in behind_https        # a Space: the page is in an https iframe


def test_an_upload_is_its_clients_alone(door, tmp_path):
    make, uploads, _ = door
    me, them = make(), make()
    me.get("/"), them.get("/")
    path = me.post("/gradio_api/upload", files={"files": ("face.png", b"my face")}).json()[0]
    stored = tmp_path / hashlib.sha256(b"my face").hexdigest() / "face.png"
    assert path == str(stored) and (stored.parent / files.UPLOAD_MARK).exists()
    assert uploads.allowed(me.cookies[CLIENT_COOKIE], stored)
    assert not uploads.allowed(them.cookies[CLIENT_COOKIE], stored)


def test_an_upload_that_cannot_fit_is_refused_before_it_is_stored(door, tmp_path):
    make, _, reached = door
    client = make()
    client.post("/gradio_api/upload", files={"files": ("a.bin", b"a" * 290_000)})
    client.post("/gradio_api/upload", files={"files": ("b.bin", b"b" * 290_000)})
    client.post("/gradio_api/upload", files={"files": ("c.bin", b"c" * 290_000)})   # 870 kB kept: uploads stay
    reached.clear()
    full = client.post("/gradio_api/upload", files={"files": ("d.bin", b"d" * 290_000)})
    assert full.status_code == 413 and full.text.startswith("The server is out of room for files")
    large = client.post("/gradio_api/upload", files={"files": ("e.bin", b"e" * 400_000)})
    assert large.status_code == 413 and "larger than the 0 MB one file may be" in large.text
    unsized = client.post("/gradio_api/upload", content=iter([b"--x\r\n"]),
                          headers={"content-type": "multipart/form-data; boundary=x"})
    assert unsized.status_code == 411
    assert reached == [] and files.size_of(tmp_path) < 900_000
    assert all("\n" not in r.text for r in (full, large, unsized))


@pytest.mark.parametrize("target", [
    "http://huggingface.co/x.png", "https://example.com/x.png", "data:image/png;base64,AA", "//example.com/x.png",
    "file:///etc/passwd", "{root}/tmpupload", "{root}/lganim-x/.clip0.tmp.1-abcdef01.k2j4h5g6.mp4",
    "{root}/lganim-x/.lganim-in-use", "{root}/lganim-x/../lganim-y/.clip0.mp4", "{root}/a%00b/x.png"])
def test_the_file_route_serves_no_url_no_hidden_file_and_nothing_being_received(door, tmp_path, target):
    client, _, reached = door[0](), *door[1:]
    for route in ("/gradio_api/file=", "/gradio_api/file/"):
        answer = client.get(route + target.format(root=tmp_path))
        assert answer.status_code == 403 and answer.text == "File not allowed."
    assert reached == []


def test_the_file_route_passes_whole_files_on_and_the_proxy_route_nothing(door, tmp_path):
    client, _, reached = door[0](), *door[1:]
    assert client.get(f"/gradio_api/file={tmp_path}/{'a' * 64}/image.webp").text == "served"
    assert client.get(f"/gradio_api/file={tmp_path}/lganim-x/clip0.mp4").text == "served"
    assert client.get("/gradio_api/proxy=http://127.0.0.1:1/x").status_code == 403
    assert len(reached) == 2 and json.dumps(reached)
