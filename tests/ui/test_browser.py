"""The page in a real browser (Playwright + Debian chromium), tab by tab, as a first-time user meets it: press the
tab's main button with what the tab starts with (its example; the Edit tab's edited face; the Live tab's camera,
Chromium's fake one playing a face) and the result shows in view without scrolling, with no panel of another tab
on screen; at a desktop's 1400×1000 and a phone's 412 px. Screenshots are kept as test artefacts
(LGANIM_SCREENSHOTS: a folder to write them to; the README's picture is made this way)."""
import os
from pathlib import Path

import pytest

from tests.synth import camera_clip, write_y4m
from tests.ui.browser import chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]
# tab label → (main button, the tab's result, every output panel of the tab: its status last)
TABS = {
    "One clip": ("#animate", "#video", ["#video", "#live-frame", "#aligned", "#gif", "#strip", "#plot", "#status"]),
    "Batch": ("#animate-batch", "#gallery", ["#gallery", "#batch-live", "#batch-strip", "#batch-plot",
                                             "#batch-status"]),
    "Drive": ("#drive-go", "#drive-result", ["#drive-result", "#drive-live", "#drive-side-by-side", "#drive-plot",
                                             "#drive-status"]),
    "Talk": ("#talk-go", "#talk-result", ["#talk-result", "#talk-live", "#talk-plot", "#talk-status"]),
    "Edit": ("#edit-animate", "#edit-clip", ["#edit-clip", "#edit-image", "#edit-status", "#edit-clip-status"]),
    "Live": ("#live-camera button.capture-button", "#live-puppet", ["#live-puppet", "#live-speed", "#live-files",
                                                                     "#live-status"]),
}
# what a user does or waits for before the main button: the Edit tab shows its face first, the camera is allowed
BEFORE = {"Edit": lambda page: page.wait_for_selector("#edit-image img[src]", timeout=60_000),
          "Live": lambda page: page.click("#live-camera div[title='grant webcam access'] button")}
PLAYING = """sel => [...document.querySelectorAll(sel + ' video')].some(v => v.currentSrc && !v.paused
                    && v.readyState >= 2)"""
SHOWN = """sel => !!document.querySelector(sel + ' img[src]')"""
LOADED = """sel => [...document.querySelectorAll(sel + ' video')].some(v => v.currentSrc && v.readyState >= 2)"""
IN_VIEW = """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }"""


@pytest.fixture(scope="module")
def server(app_server):
    """The session's app server (tests/conftest.py)."""
    return app_server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", camera_clip(50, 25, (640, 480))[0], 25)
    with chromium(camera) as launched:
        yield launched


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LGANIM_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("width, height", [(1400, 1000), (412, 915)])
def test_every_tab_shows_its_result_in_view_and_nothing_of_another_tab(server, browser, tmp_path, width, height):
    page = browser.new_context(viewport={"width": width, "height": height}, permissions=["camera"]).new_page()
    try:
        page.goto(server.url)
        page.wait_for_selector("#animate")
        print(f"\npage height at {width} px: {page.evaluate('document.documentElement.scrollHeight')} px")
        for tab, (button, result, panels) in TABS.items():
            page.get_by_role("tab", name=tab, exact=True).click()
            if tab in BEFORE:
                BEFORE[tab](page)
            page.locator(button).scroll_into_view_if_needed()      # where a user's eyes are when they press it
            page.click(button)
            # a gallery's videos wait for a click; the others play by themselves; the live puppet is an image
            ready = {"Batch": LOADED, "Live": SHOWN}.get(tab, PLAYING)
            page.wait_for_function(ready, arg=result, timeout=120_000)
            at = page.evaluate("window.scrollY")
            if width >= 1000:                       # a desktop: the result is on screen without scrolling at all
                assert at == 0, f"{tab}: the page scrolled to {at}"
                assert page.evaluate(IN_VIEW, result), \
                    f"{tab}: the result is not in view: {page.locator(result).bounding_box()}"
            else:                                   # a phone: right under the button (inside one screen of it)
                below = page.evaluate("([a, b]) => document.querySelector(b).getBoundingClientRect().top - "
                                      "document.querySelector(a).getBoundingClientRect().bottom", [button, result])
                assert 0 <= below < height, f"{tab}: the result is {below:.0f} px below the button"
            others = [p for name, (_, _, ps) in TABS.items() if name != tab for p in ps]
            shown = [p for p in others if page.locator(p).first.is_visible()]
            assert not shown, f"{tab}: panels of other tabs on screen: {shown}"
            assert "rror" not in page.inner_text(panels[-1]), page.inner_text(panels[-1])
            name = tab.lower().replace(" ", "-")
            page.screenshot(path=str(shots(tmp_path) / f"{name}-{width}.png"), full_page=width < 1000)
    finally:
        page.context.close()


def test_cancel_and_errors_are_shown_in_the_tab_status(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server.url)
        page.get_by_text("Settings (strength").click()              # the accordion with the video length
        # the page is ready once its load event has filled ψ in (a value typed earlier is reset)
        page.wait_for_function("document.querySelector('#truncation input')?.value")
        frames = page.locator("#frames input[type=number]")
        frames.fill("256")
        frames.press("Enter")
        page.wait_for_function("document.querySelector('#frames input[type=range]').value == '256'")
        page.click("#animate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('Rendering')",
                               timeout=60_000)
        # the page ignores Animate until gradio's /cancel has answered (the render stops at its next chunk)
        with page.expect_response(lambda r: r.url.endswith("/cancel"), timeout=60_000):
            page.click("#cancel")
        page.wait_for_function("document.querySelector('#status').innerText.includes('Cancelled after')",
                               timeout=30_000)
        assert "of 256 frames" in page.inner_text("#status")
        page.fill("#prompt textarea", "")
        page.click("#animate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('prompt')", timeout=30_000)
        status = page.inner_text("#status")
        assert "empty" in status and "Rendering" not in status and "Starting" not in status, status
    finally:
        page.close()
