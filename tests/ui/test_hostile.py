"""app.py as a real server against the hostile battery of issue 27, a few cases of each class, over raw HTTP as an
attacker would: another client's files by path, URLs where files go (the server's proxy is a local recorder, so any
fetch would show), NUL bytes, empty data lists, floats for whole numbers, lists for text, the disk cap while uploads
and requests pour in, and a kill -9 in the middle of a render."""
import http.server
import json
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from PIL import Image

from tests import ROOT
from tests.ui.browser import chromium
from tests.ui.servers import serve
from ui.files import size_of

pytestmark = pytest.mark.slow                # servers in subprocesses
FILE = {"_type": "gradio.FileData"}
SMILE = "The person is smiling."
FILE_LINE = "image must be an uploaded image file (gradio_client.handle_file(path)), or empty."


def animate(image, seed=3, frames=4, prompt=SMILE):
    return [image, "demo", seed, prompt, frames, 8, 1.0, 1.0, "linear"]


def call(client: httpx.Client, url: str, endpoint: str, data: list) -> tuple[str, object]:
    """("complete" or "error", the outputs or the error line) of a raw /gradio_api/call."""
    event = client.post(url + f"gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
    last = client.get(url + f"gradio_api/call/{endpoint}/{event}", timeout=120).text.strip().split("\n\n")[-1]
    kind, _, payload = last.partition("\n")
    payload = json.loads(payload.removeprefix("data: "))
    return kind.removeprefix("event: "), payload["error"] if kind == "event: error" else payload


def upload(client: httpx.Client, url: str, path: Path) -> httpx.Response:
    with open(path, "rb") as f:
        return client.post(url + "gradio_api/upload", files={"files": (path.name, f)}, timeout=120)


def new_client(server) -> httpx.Client:
    """A client of its own (its cookie comes with its first answer, as gradio_client's does)."""
    client = httpx.Client(timeout=120)
    client.get(server.url + "config")
    return client


class Recorder(http.server.BaseHTTPRequestHandler):
    """An HTTP proxy that only writes down what it was asked."""
    seen: list[str] = []

    def do_GET(self):
        Recorder.seen.append(self.requestline)
        self.send_response(200)
        self.end_headers()

    do_CONNECT = do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def recorder():
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}"
    proxy.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, recorder):
    """The app with every outgoing request of its own sent to the recorder (gradio's downloads honour the proxy
    settings for the Hub's hosts)."""
    proxies = {name: recorder for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    with serve(tmp_path_factory.mktemp("hostile"), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               **proxies) as running:
        yield running


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    """A photo of a face that is none of the app's examples (those any client may name)."""
    path = tmp_path_factory.mktemp("photo") / "mirrored.png"
    Image.open(ROOT / "examples" / "astronaut.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path)
    return path


def test_another_clients_upload_result_and_preview_are_refused_by_their_path(server, photo):
    me, them = new_client(server), new_client(server)
    mine = upload(me, server.url, photo).json()[0]
    kind, outputs = call(me, server.url, "animate", animate({"path": mine, "meta": FILE}))
    assert kind == "complete"                                          # my upload is mine to use
    result, preview = outputs[0]["path"], outputs[2]["path"]          # the MP4, a live frame gradio stored
    for path in (mine, result, preview):
        assert call(them, server.url, "animate", animate({"path": path, "meta": FILE})) == ("error", FILE_LINE)
    assert call(me, server.url, "animate", animate({"path": result, "meta": FILE})) == ("error", FILE_LINE)
    assert all(Path(p).is_file() for p in (mine, result, preview))


@pytest.mark.parametrize("image", [
    {"path": "http://huggingface.co/lganim-probe.png", "meta": FILE},
    {"path": "https://huggingface.co/lganim-probe.png", "meta": FILE},
    {"path": None, "url": "http://huggingface.co/lganim-probe.png", "meta": FILE},
    {"path": "data:image/png;base64,iVBORw0KGgo=", "meta": FILE}, "http://huggingface.co/lganim-probe.png"])
def test_a_url_as_the_photo_is_refused_and_nothing_is_fetched(server, image):
    Recorder.seen.clear()
    assert call(new_client(server), server.url, "animate", animate(image)) == ("error", FILE_LINE)
    assert Recorder.seen == []


def test_the_file_route_fetches_no_url(server):
    Recorder.seen.clear()
    client = new_client(server)
    for url in ("http://huggingface.co/lganim-probe.png", "https://huggingface.co/x.png", "data:text/plain,x"):
        assert client.get(server.url + "gradio_api/file=" + url).status_code == 403
    assert Recorder.seen == []


@pytest.mark.parametrize("endpoint, size", [("animate", 9), ("animate_batch", 8), ("predict", 6), ("rerender", 3),
                                            ("drive", 10), ("talk", 13), ("edit", 21)])
def test_an_empty_data_list_names_the_first_missing_input(server, endpoint, size):
    kind, line = call(new_client(server), server.url, endpoint, [])
    assert kind == "error" and f" is missing: this endpoint takes {size} values (" in line and "\n" not in line


def test_nul_bytes_floats_for_whole_numbers_and_lists_for_text_get_one_line_errors(server):
    client, since = new_client(server), server.log_size()
    for value in ({"path": "/tmp/a\x00b.png", "meta": FILE}, {"path": "\x00", "meta": FILE}):
        assert call(client, server.url, "animate", animate(value)) == ("error", FILE_LINE)
    assert call(client, server.url, "animate", animate(None, prompt="smiling\x00")) == (
        "error", "prompt holds a NUL character: type it again without it.")
    assert call(client, server.url, "predict", ["demo", "1", "", 4.5, 2, 8]) == (
        "error", "samples must be a whole number from 1 to 16, got 4.5.")
    kind, outputs = call(client, server.url, "predict", ["demo", "1", "", 2.0, 6, 8])      # a whole float: 2
    assert kind == "complete" and len(outputs[0]) == 2
    edit = ["demo", 0, None] + [0.0] * 12 + [["a", "b"], 0.5, "", 0.0, "", 0.0]
    assert call(client, server.url, "edit", edit) == ("error", "prompt must be text, got list ['a', 'b'].")
    assert call(client, server.url, "animate", animate(None, prompt=["a"])) == (
        "error", "prompt must be text, got list ['a'].")
    log = server.log.read_text()[since:]
    assert "Traceback" not in log and "Internal error" not in log


def test_a_file_past_the_retention_goes_while_the_server_runs(server):
    stale = server.cache / ("f" * 64)
    stale.mkdir()
    (stale / "image.webp").write_bytes(b"webp")
    then = time.time() - 2 * 3600                                      # past the default hour
    os.utime(stale, (then, then))
    deadline = time.monotonic() + 60
    while stale.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stale.exists()


def test_the_disk_cap_holds_while_uploads_and_requests_pour_in(tmp_path, photo):
    """The acceptance scaled down (50 MB, 20 uploads of 10 MB, 200 requests) to 20 MB, 8 uploads of 10 MB and 40
    requests of four kinds: the server's files stay under the cap all along, and it still answers."""
    cap = 20 * 10 ** 6
    with serve(tmp_path / "server", LGANIM_DISK_CAP="20MB", LGANIM_UPLOAD_MB="20") as server:
        peak, stop = [0], threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], size_of(server.cache))
                stop.wait(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            client = new_client(server)
            big = tmp_path / "big.png"
            statuses = []
            for i in range(8):
                big.write_bytes(os.urandom(10 ** 7))                   # a new file each time: stored each time
                statuses.append(upload(client, server.url, big).status_code)
            answers = []
            for i in range(40):
                if i % 4 == 0:
                    answers.append(call(client, server.url, "animate", animate(None, seed=i, frames=4 + i % 20))[0])
                elif i % 4 == 1:
                    answers.append(call(client, server.url, "animate_batch",
                                        ["demo", f"{i} {i + 1}", SMILE, 6, 8, 1.0, 1.0, "linear"])[0])
                elif i % 4 == 2:
                    answers.append(call(client, server.url, "predict", ["demo", str(i), "", 2, 6, 8])[0])
                else:
                    mine = upload(client, server.url, photo).json()[0]
                    answers.append(call(client, server.url, "animate", animate({"path": mine, "meta": FILE}))[0])
        finally:
            stop.set()
            watcher.join()
        refused = statuses[-1]
        assert httpx.get(server.url, timeout=10).status_code == 200
    print(f"\ndisk cap 20 MB: uploads {statuses}, requests {answers.count('complete')}/40 done, peak "
          f"{peak[0] / 1e6:.1f} MB")
    assert statuses[0] == 200 and refused == 413 and answers.count("complete") == 40
    assert peak[0] <= cap


def test_a_kill_9_leaves_no_half_written_file_that_a_url_reaches(tmp_path):
    folder = tmp_path / "server"
    with serve(folder) as server:
        client = new_client(server)
        event = client.post(server.url + "gradio_api/call/animate",
                            json={"data": animate(None, seed=9, frames=256)}).json()["event_id"]
        with client.stream("GET", server.url + f"gradio_api/call/animate/{event}", timeout=120) as answer:
            next(line for line in answer.iter_lines() if "Rendering" in line)
        temporaries = [p for p in server.cache.glob("lganim-*/.*") if p.is_file()]
        assert any(".clip0.tmp." in p.name for p in temporaries)
        assert [client.get(server.url + f"gradio_api/file={p}").status_code for p in temporaries] == [403] * len(
            temporaries)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
    assert all(p.exists() for p in temporaries)                       # what the kill left
    with serve(folder) as again:                                       # a new server over the same files
        client = new_client(again)
        assert all(client.get(again.url + f"gradio_api/file={p}").status_code == 403 for p in temporaries)
        deadline = time.monotonic() + 60
        while any(".clip0.tmp." in p.name and p.exists() for p in temporaries) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in temporaries if ".clip0.tmp." in p.name and p.exists()]   # swept: its writer is dead


@pytest.mark.browser
def test_a_browser_animates_its_own_upload_and_only_its_own(server, photo):
    """The page's own upload flow (the cookie comes with the page) is accepted; the same path from another
    client is not."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(server.url)
        page.set_input_files("#photo input[type=file]", str(photo))
        page.wait_for_selector("#photo img[src]", timeout=60_000)
        page.click("#animate")
        page.wait_for_selector("#video video[src]", timeout=120_000)
        status = page.inner_text("#status")
        src = page.get_attribute("#photo img", "src")
    assert status.startswith("Done"), status
    uploaded = unquote(src.split("/gradio_api/file=", 1)[1])
    assert call(new_client(server), server.url, "animate", animate({"path": uploaded, "meta": FILE})) == (
        "error", FILE_LINE)
