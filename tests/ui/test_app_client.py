"""app.py as a real server (`python app.py --port P` in a subprocess) on the demo domain: the /animate API through
gradio_client, bad values, 20 concurrent requests, Cancel, its MCP server (the tools' schema, the `mcp` client SDK),
and a real browser (Playwright + Debian chromium), also with a fake camera playing the rolling face into the Live
tab."""
import asyncio
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from lganim.media.audio import has_audio
from lganim.media.video_reader import read_video
from tests import ROOT
from tests.conftest import SHARED_SERVER
from tests.synth import camera_clip, rolling_face_video, write_camera_clip, write_speech, write_y4m
from tests.ui.browser import chromium
from tests.videos import count_frames

QUEUE_SIZE = int(SHARED_SERVER["LGANIM_QUEUE_SIZE"])
pytestmark = pytest.mark.slow                # a server in a subprocess
GOOD = dict(image=None, domain="demo", seed=3, prompt="The person is smiling.", num_frames=10, fps=10, strength=1.0)


@pytest.fixture(scope="module")
def server(app_server):
    """The session's app server (tests/conftest.py)."""
    return app_server


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def test_api_names_its_parameters(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    params = api["/animate"]["parameters"]
    names = [p["parameter_name"] for p in params]
    assert names[:7] == ["image", "domain", "seed", "prompt", "num_frames", "fps", "strength"]
    assert all(p["parameter_has_default"] for p in params[7:])          # extras only with defaults
    assert "/animate_batch" in api


def test_animate_returns_an_mp4_of_exactly_the_frames_asked_for(client, server):
    times = []
    for seed in (3, 4):                                                 # first (loads the models) and repeated
        start = time.perf_counter()
        result = client.predict(**{**GOOD, "seed": seed}, api_name="/animate")
        times.append(time.perf_counter() - start)
        assert count_frames(result[0]) == 10 and result[0].endswith(".mp4")
        assert count_frames(result[1]) == 10 and result[1].endswith(".gif")
    print(f"\n/animate on the demo domain, 10 frames, CPU: first {times[0]:.2f} s, repeated {times[1]:.2f} s")
    assert len(server.request_dirs()) >= 2


@pytest.mark.parametrize("bad, message", [
    ({"num_frames": 100000}, "num_frames must be a whole number from 1 to 256, got 100000."),
    ({"strength": "nan"}, "strength must be a number from -10 to 10, got 'nan'."),
    ({"strength": 50.0}, "strength must be a number from -10 to 10, got 50.0."),
    ({"prompt": ""}, "prompt is empty"),
    ({"domain": "cats"}, "Unknown domain 'cats': choose one of human, art, dog, anime, demo."),
    ({"seed": "abc"}, "seed must be a whole number from 0 to 4294967295, got 'abc'."),
    ({"fps": [12]}, "fps must be a whole number from 1 to 60, got [12]."),
    ({"image": {"path": "/etc/hostname"}}, "image must be an uploaded image file"),
])
def test_bad_values_get_one_line_errors_and_the_server_keeps_serving(client, bad, message):
    with pytest.raises(Exception) as err:
        client.predict(**{**GOOD, **bad}, api_name="/animate")
    assert message in str(err.value) and "\n" not in str(err.value).strip()
    assert count_frames(client.predict(**{**GOOD, "num_frames": 2}, api_name="/animate")[0]) == 2


@pytest.mark.parametrize("endpoint, values, message", [
    ("/animate", {**GOOD, "image": "face.png"}, "image must be an uploaded image file"),
    ("/drive", {"image": None, "domain": "demo", "seed": 1, "driving_video": 5},
     "driving_video must be an uploaded video file"),
    ("/drive", {"image": None, "domain": "demo", "seed": 1, "driving_video": {"path": "/etc/passwd"}},
     "driving_video must be an uploaded video file"),
    ("/drive", {"image": None, "domain": "demo", "seed": 1, "driving_video": None},
     "Give the driving video"),
    ("/talk", {"image": {"path": "/etc/passwd"}, "domain": "demo", "seed": 1, "audio": None, "text": "Hi."},
     "image must be an uploaded image file"),
])
def test_other_endpoints_refuse_bad_values_in_one_line(client, endpoint, values, message):
    with pytest.raises(Exception) as err:
        client.predict(**values, api_name=endpoint)
    text = str(err.value).strip()
    assert message in text and "\n" not in text and "/etc" not in text and "Traceback" not in text, text


def test_rerender_before_any_clip_says_so(server):
    fresh = Client(server.url, verbose=False)                           # a session with no clip yet
    with pytest.raises(Exception, match="Nothing to re-render yet"):
        fresh.predict(strength=0.5, truncation=None, fps=8, api_name="/rerender")


def test_an_uploaded_photo_is_animated(client):
    photo = handle_file(str(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png"))
    mp4, gif, last, strip, plot, status, aligned = client.predict(**{**GOOD, "image": photo, "num_frames": 4},
                                                                  api_name="/animate")
    assert count_frames(mp4) == 4 and "512×512 px" in status          # the whole photo, face pasted back
    from lganim.face.align import align_face
    from lganim.face.photo import load_photo
    crop = np.asarray(Image.open(aligned).convert("RGB"), dtype=float)  # the aligned face the user is shown
    expected = align_face(load_photo(ROOT / "tests" / "fixtures" / "faces" / "astronaut.png"), size=128).image
    assert crop.shape == (128, 128, 3) and np.abs(crop - expected).mean() < 6  # gradio sends lossy WebP


def test_nan_strength_in_raw_json_is_refused(server):
    body = '{"data": [null, "demo", 3, "The person is smiling.", 4, 10, NaN, 1.0, "linear"]}'
    event = httpx.post(server.url + "gradio_api/call/animate", content=body,
                       headers={"content-type": "application/json"}).json()["event_id"]
    answer = httpx.get(server.url + f"gradio_api/call/animate/{event}", timeout=60).text
    assert "event: error" in answer and "strength must be a number from -10 to 10, got nan." in answer


def test_a_lone_surrogate_in_a_prompt_is_refused(server):
    body = '{"data": [null, "demo", 3, "smile \\ud800", 4, 10, 1.0, 1.0, "linear"]}'    # JSON can carry one
    event = httpx.post(server.url + "gradio_api/call/animate", content=body,
                       headers={"content-type": "application/json"}).json()["event_id"]
    answer = httpx.get(server.url + f"gradio_api/call/animate/{event}", timeout=60).text
    assert "event: error" in answer and "lone surrogate" in answer, answer


@pytest.mark.parametrize("endpoint, body, message", [
    ("animate", '[{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "demo", 3, "Hi.", 4, 10, 1.0, 1.0, '
                '"linear"]', "image must be an uploaded image file"),
    ("drive", '[null, "demo", 1, {"video": {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}}, "all", '
              '1.0, 1.0, 0.0, 0, ""]', "driving_video must be an uploaded video file"),
])
def test_a_path_on_the_server_that_was_never_uploaded_is_refused(server, endpoint, body, message):
    """Raw HTTP: a path of the server itself (gradio_client would upload a local file of that name first)."""
    since = server.log_size()
    event = httpx.post(server.url + f"gradio_api/call/{endpoint}", content='{"data": ' + body + '}',
                       headers={"content-type": "application/json"}).json()["event_id"]
    answer = httpx.get(server.url + f"gradio_api/call/{endpoint}/{event}", timeout=60).text
    assert "event: error" in answer and message in answer and "root:" not in answer, answer
    assert "Traceback" not in server.log.read_text()[since:]


def test_drive_refuses_a_prompt_that_is_not_text_before_tracking(client, server):
    since = server.log_size()
    with pytest.raises(Exception, match="prompt must be text"):
        client.predict(image=None, domain="demo", seed=1, driving_video=handle_file(str(ROOT / "examples" /
                                                                                        "driving.mp4")),
                       prompt=5, api_name="/drive")
    assert "Tracking" not in server.log.read_text()[since:] and "Traceback" not in server.log.read_text()[since:]


def test_twenty_concurrent_requests_are_answered_or_refused(client, server):
    rss_before = server.rss_mb()

    def one(seed: int):
        try:
            return count_frames(client.predict(**{**GOOD, "seed": seed, "num_frames": 3}, api_name="/animate")[0])
        except Exception as e:                                          # refused: must say so clearly
            return str(e)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(one, range(100, 120)))
    done = [a for a in answers if a == 3]
    refused = [a for a in answers if isinstance(a, str) and "queue is full" in a.lower()]
    rss_after = server.rss_mb()
    print(f"\n20 concurrent: {len(done)} answered, {len(refused)} refused (queue full); "
          f"server RSS {rss_before:.0f} MB -> {rss_after:.0f} MB")
    assert len(done) + len(refused) == 20, answers                      # none lost, no other failure
    assert len(done) >= 1 + QUEUE_SIZE - 1 and refused                  # the queue filled up and still served
    assert rss_after - rss_before < 300                                 # bounded: frames are not kept


def test_cancel_stops_the_render_between_chunks(client, server):
    dirs_before, since = server.request_dirs(), server.log_size()
    job = client.submit(**{**GOOD, "num_frames": 256, "seed": 7}, api_name="/animate")
    deadline = time.monotonic() + 60
    while not any(o[2] is not None for o in job.outputs()):            # until frames are streaming
        assert time.monotonic() < deadline, "no frames streamed within 60 s"
        time.sleep(0.05)
    job.cancel()
    stopped = server.wait_for_log(r"demo: stopped after (\d+)/256 frames", since)
    assert int(stopped.group(1)) < 256
    assert server.request_dirs() == dirs_before                         # the cancelled request left no files
    assert count_frames(client.predict(**{**GOOD, "num_frames": 2}, api_name="/animate")[0]) == 2


def updates_in(answer) -> list:
    """gradio's "leave it as it is" where an API answer should hold a value."""
    return [v for v in answer if isinstance(v, dict) and v.get("__type__") == "update"]


def test_rerender_endpoint_reuses_the_session_clip(client):
    client.predict(**{**GOOD, "num_frames": 4, "seed": 11}, api_name="/animate")
    answer = client.predict(strength=0.0, truncation=1.0, fps=8, api_name="/rerender")
    assert not updates_in(answer), answer                              # every value, the GIF's included
    mp4, gif, *_, status, aligned = answer
    assert count_frames(mp4) == 4 and count_frames(gif) == 4 and "8 fps" in status
    frames = read_video(mp4).frames.astype(int)
    assert np.abs(frames - frames[:1]).mean() < 0.5                  # the still face (up to H.264 noise)


def test_talk_and_drive_endpoints(client, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", seconds=1.0, bursts=((0.2, 0.7),))
    mp4, live, tracks, plot, status = client.predict(image=None, domain="demo", seed=2,
                                                     audio=handle_file(str(speech)), fps=12, api_name="/talk")
    mp4 = mp4["video"] if isinstance(mp4, dict) else mp4
    assert count_frames(mp4) == 12 and has_audio(mp4) and len(tracks) == 2
    driving = tmp_path / "roll.mp4"
    rolling_face_video(driving, seconds=0.5, fps=12, size=512)
    mp4, *_ = client.predict(image=None, domain="demo", seed=2, driving_video=handle_file(str(driving)),
                             fps=12, api_name="/drive")
    mp4 = mp4["video"] if isinstance(mp4, dict) else mp4
    assert count_frames(mp4) == 6 and has_audio(mp4)


def test_edit_video_endpoint_returns_the_edited_mp4(client, tmp_path):
    clip = tmp_path / "clip.mp4"
    write_camera_clip(clip, seconds=1.0, fps=12, size=(320, 320), sound=True)
    mp4, beside, live, status = client.predict(video=handle_file(str(clip)), domain="demo", prompt="", smile=0.1,
                                               api_name="/edit_video")
    mp4 = mp4["video"] if isinstance(mp4, dict) else mp4
    assert mp4.endswith(".mp4") and count_frames(mp4) == 12 and has_audio(mp4) and status.startswith("Done")
    with pytest.raises(Exception, match="Give a prompt"):
        client.predict(video=handle_file(str(clip)), domain="demo", prompt="", api_name="/edit_video")


def test_batch_endpoint_returns_one_video_per_clip(client):
    gallery, *_ , status = client.predict(domain="demo", seeds="1 2 3", prompts="The person is smiling.",
                                          num_frames=3, fps=5, strength=1.0, api_name="/animate_batch")
    assert [count_frames(item["video"]["video"] if isinstance(item["video"], dict) else item["video"])
            for item in gallery] == [3, 3, 3]
    assert "3 clips" in status


@pytest.mark.browser
def test_browser_sees_frames_before_the_video(server, tmp_path):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(server.url)
        page.fill("#prompt textarea", "The person is winking.")
        page.get_by_text("Settings (strength").click()          # the accordion with the video length
        # the page is ready once its load event has filled ψ in (a value typed earlier is reset)
        page.wait_for_function("document.querySelector('#truncation input')?.value")
        frames = page.locator("#frames input[type=number]")
        frames.fill("48")
        frames.press("Enter")
        page.wait_for_function("document.querySelector('#frames input[type=range]').value == '48'")
        # Note when the first streamed frame and the video first appear in the page.
        page.evaluate("""() => {
            window.seen = {};
            const mark = () => {
                const t = performance.now();
                if (!window.seen.frame && document.querySelector('#live-frame img[src]')) window.seen.frame = t;
                if (!window.seen.video && document.querySelector('#video video[src]')) window.seen.video = t;
            };
            new MutationObserver(mark).observe(document.body, {subtree: true, childList: true, attributes: true});
        }""")
        page.click("#animate")
        page.wait_for_selector("#video video[src]", timeout=90_000)
        seen = page.evaluate("window.seen")
        assert "frame" in seen and seen["frame"] < seen["video"], seen
        src = page.get_attribute("#video video", "src")
        mp4 = tmp_path / "browser.mp4"
        mp4.write_bytes(httpx.get(httpx.URL(server.url).join(src), timeout=30).content)
        assert count_frames(mp4) == 48, (page.input_value("#frames input[type=number]"), page.inner_text("#status"))
        assert "48 frames" in page.inner_text("#status")
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        print(f"\nbrowser: first frame at {seen['frame']:.0f} ms, video at {seen['video']:.0f} ms; "
              f"screenshot {tmp_path / 'app.png'}")

        frames.fill("256")
        frames.press("Enter")
        page.wait_for_function("document.querySelector('#frames input[type=range]').value == '256'")
        since = server.log_size()
        page.click("#animate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('Rendering')",
                               timeout=60_000)
        page.click("#cancel")
        stopped = server.wait_for_log(r"demo: stopped after (\d+)/256 frames", since)
        assert int(stopped.group(1)) < 256


@pytest.mark.browser
def test_browser_live_tab_follows_a_fake_camera(server, tmp_path):
    """Chromium's fake camera plays a 2 s loop of the face tilting by ±15 degrees (a .y4m written here) into the Live
    tab: puppet frames come back while it streams, they change as the face rolls, and a recording holds the roll."""
    frames, _ = camera_clip(50, 25, (640, 480), period=2.0)
    camera = write_y4m(tmp_path / "camera.y4m", frames, 25)
    with chromium(camera) as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 1600}, permissions=["camera"]).new_page()
        page.goto(server.url)
        page.get_by_role("tab", name="Live").click()
        page.click("#live-camera div[title='grant webcam access'] button")
        page.click("#live-camera button.capture-button")                 # start streaming
        page.wait_for_selector("#live-puppet img[src]", timeout=90_000)  # the first frame loads the models
        page.click("#live-record")
        sources, deadline = [], time.monotonic() + 60
        while len(sources) < 30 and time.monotonic() < deadline:       # distinct frames, as they come back
            src = page.get_attribute("#live-puppet img", "src")
            if src and (not sources or src != sources[-1]):
                sources.append(src)
            page.wait_for_timeout(20)
        speed = page.inner_text("#live-speed")
        page.click("#live-record")                                       # stop and save
        page.wait_for_selector("#live-files a", timeout=30_000)
        page.screenshot(path=str(tmp_path / "live.png"))
    assert len(sources) >= 30, f"only {len(sources)} puppet frames came back in 60 s"
    shown = np.stack([np.asarray(Image.open(io.BytesIO(httpx.get(httpx.URL(server.url).join(s), timeout=30).content))
                                 .convert("RGB"), dtype=float) for s in sources[-25:]])
    change = np.abs(shown - shown.mean(0)).mean(axis=(1, 2, 3))
    assert change.max() > 5, change                                          # the puppet moves
    assert "frames/s" in speed and "face found" in speed, speed
    track = json.loads(next(server.cache.rglob("live.json")).read_text())
    roll = np.array(track["channels"]["roll"])[np.array(track["valid"])]
    print(f"\nlive tab: {len(sources)} frames back; {speed}; recorded roll {roll.min():.1f} to {roll.max():.1f} deg")
    assert len(roll) >= 10 and roll.max() - roll.min() > 10                 # it followed the face's ±15° roll


def test_predict_answers_with_domain_seeds_and_samples_only(client):
    futures, *_, status = answer = client.predict(domain="demo", seeds="7", samples=2, api_name="/predict")
    assert len(futures) == 2 and status.startswith("Done: 2 clips") and not updates_in(answer)


def test_the_mcp_schema_has_a_described_tool_per_endpoint(server, client):
    tools = httpx.get(server.url + "gradio_api/mcp/schema", timeout=60).json()
    by_endpoint = {tool["meta"]["endpoint_name"]: tool for tool in tools}
    named = {name.lstrip("/") for name in client.view_api(return_format="dict", print_info=False)["named_endpoints"]}
    assert set(by_endpoint) == named and {"animate", "edit", "drive", "talk"} <= named
    for endpoint, tool in by_endpoint.items():
        assert len(tool["description"]) > 40 and "Returns:" in tool["description"], endpoint
        inputs = tool["inputSchema"]["properties"]
        undescribed = [name for name, schema in inputs.items() if not schema.get("description")]
        assert not undescribed, (endpoint, undescribed)
    video = by_endpoint["drive"]["inputSchema"]["properties"]["driving_video"]
    assert "URL" in video["description"] and "url" in video["format"] and "default" not in video   # files: URLs


def test_an_mcp_client_lists_the_tools_and_animates_a_demo_face(server):
    """The `mcp` client SDK over streamable HTTP: the tools, a seed's face, and a photo named by its URL on the app
    after this client uploaded it (with its cookie, as every client's uploads are its own); a URL elsewhere is never
    fetched: refused in one line."""
    async def use():
        async with httpx.AsyncClient(timeout=300) as http:
            await http.get(server.url)                                    # the app's cookie: this client's own
            uploaded = (await http.post(server.url + "gradio_api/upload",
                                        files={"files": (ROOT / "examples" / "astronaut.png").open("rb")})).json()
            async with streamable_http_client(server.url + "gradio_api/mcp/", http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    listed = (await session.list_tools()).tools
                    seed = await session.call_tool("animate", {"domain": "demo", "seed": 3, "prompt": "The person is "
                                                               "smiling.", "num_frames": 4, "fps": 4})
                    photo = await session.call_tool("animate", {"domain": "demo", "num_frames": 2, "fps": 4, "image":
                                                                server.url + "gradio_api/file=" + uploaded[0]})
                    elsewhere = await session.call_tool("animate", {"domain": "demo", "image": "https://example.com/a.png"})
                    return listed, seed, photo, elsewhere

    since = server.log_size()
    tools, seed, photo, elsewhere = asyncio.run(use())
    assert {"animate", "edit_face", "drive_face", "talk"} <= {tool.name for tool in tools}
    for done, size in ((seed, "128×128"), (photo, "512×512")):                 # a photo: pasted back into it
        said = " ".join(c.text for c in done.content if c.type == "text")
        assert not done.isError and "clip0.mp4" in said and f"· {size} px" in said, said
    assert elsewhere.isError and "image must be an uploaded image file" in elsewhere.content[0].text
    assert "Traceback" not in server.log.read_text()[since:]
