"""The Edit tab on a real server (tests/ui/servers.py): /edit through gradio_client follows the sliders (two yaw
values, two images; the same values twice, the same image; a left-out control is 0), pastes a photo back, refuses a
value out of range in one line; and in a real browser the image follows a dragged slider and Reset brings the start
face back."""

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from tests import FACE_PHOTO
from tests.ui.browser import chromium

pytestmark = pytest.mark.slow                # a server in a subprocess


@pytest.fixture(scope="module")
def server(app_server):
    """The session's app server (tests/conftest.py)."""
    return app_server


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_edit_endpoint_follows_the_sliders(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/edit"]
    names = [p["parameter_name"] for p in api["parameters"]]
    assert names[:6] == ["domain", "seed", "image", "yaw", "pitch", "roll"] and "mouth_open" in names
    assert names.index("prompt") + 1 == names.index("amount")
    assert all(p["parameter_has_default"] for p in api["parameters"][1:])
    assert api["parameters"][1]["python_type"]["type"] == "int"                        # the seed is an integer
    left, status = client.predict(domain="demo", seed=5, yaw=-10.0, api_name="/edit")
    right, _ = client.predict(domain="demo", seed=5, yaw=10.0, api_name="/edit")
    again, _ = client.predict(domain="demo", seed=5, yaw=10.0, api_name="/edit")
    assert left.endswith(".png") and pixels(left).shape == (128, 128, 3) and "yaw -10" in status
    assert not np.array_equal(pixels(left), pixels(right)) and np.array_equal(pixels(right), pixels(again))
    plain, _ = client.predict(domain="demo", seed=5, api_name="/edit")                     # left out: 0
    zeros, _ = client.predict(domain="demo", seed=5, yaw=0.0, mouth_open=0.0, smile=0.0, api_name="/edit")
    assert np.array_equal(pixels(plain), pixels(zeros))
    with pytest.raises(Exception) as err:
        client.predict(domain="demo", seed=5, yaw=90.0, api_name="/edit")
    assert "yaw must be from -20 to 20" in str(err.value) and "\n" not in str(err.value).strip()


def test_edit_endpoint_pastes_a_photo_back(client):
    photo = handle_file(str(FACE_PHOTO))
    still, status = client.predict(domain="demo", image=photo, api_name="/edit")
    turned, _ = client.predict(domain="demo", image=photo, yaw=10.0, api_name="/edit")
    assert pixels(still).shape == (512, 512, 3) and "photo" in status
    assert not np.array_equal(pixels(still), pixels(turned))


@pytest.mark.browser
def test_browser_edit_follows_a_dragged_slider_and_resets(server):
    """The image changes while the yaw slider is still held down (live), the last value is the one shown, and
    Reset brings every slider back to 0 and the start face back."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.get_by_role("tab", name="Edit", exact=True).click()
        track = page.locator("#edit-yaw input[type=range]")
        track.wait_for()
        page.evaluate("""() => {
            window.shown = [];
            new MutationObserver(() => {
                const img = document.querySelector('#edit-image img');
                if (img && img.src && window.shown[window.shown.length - 1] !== img.src) window.shown.push(img.src);
            }).observe(document.body, {subtree: true, childList: true, attributes: true});
        }""")
        box = track.bounding_box()
        y, x0 = box["y"] + box["height"] / 2, box["x"] + box["width"] / 2
        page.mouse.move(x0, y)
        page.mouse.down()
        for k in range(60):                                        # 3 s across the right half of the slider
            page.mouse.move(x0 + k * box["width"] / 130, y)
            page.wait_for_timeout(50)
        while_held = len(page.evaluate("window.shown"))
        page.mouse.up()
        value = float(page.input_value("#edit-yaw input[type=number]"))
        page.wait_for_function(f"document.querySelector('#edit-status').innerText.includes('yaw {value:g}')",
                               timeout=30_000)
        assert while_held >= 2, "the image did not follow the slider while it was held"
        assert page.evaluate("() => { const r = document.querySelector('#edit-image').getBoundingClientRect();"
                             " return r.top >= 0 && r.bottom <= window.innerHeight; }"), "the image is not in view"
        page.click("#edit-reset")
        page.wait_for_function("document.querySelector('#edit-status').innerText.includes('no edit')",
                               timeout=30_000)
        assert float(page.input_value("#edit-yaw input[type=number]")) == 0


@pytest.mark.browser
def test_browser_drive_from_here_opens_drive_on_the_edited_face(server):
    """"Drive from here" opens the Drive tab saying its face is the edit; Drive then animates it; a seed typed
    there forgets the edit."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.get_by_role("tab", name="Edit", exact=True).click()
        page.wait_for_function("document.querySelector('#edit-status').innerText.includes('seed 0')",
                               timeout=60_000)                   # the tab shows its face
        page.click("#edit-to-drive")
        page.wait_for_selector("#drive-from-edit", state="visible", timeout=10_000)
        assert page.get_by_role("tab", name="Drive", exact=True).get_attribute("aria-selected") == "true"
        page.click("#drive-go")
        page.wait_for_function("document.querySelector('#drive-status').innerText.includes('Done')",
                               timeout=120_000)
        assert "rror" not in page.inner_text("#drive-status")
        page.fill("#drive-seed input", "7")
        page.press("#drive-seed input", "Tab")
        page.wait_for_selector("#drive-from-edit", state="hidden", timeout=10_000)
