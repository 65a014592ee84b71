"""The page in a real browser (Playwright + Debian chromium), tab by tab, as a first-time user meets it: press the
tab's first example (the Edit tab shows its edited face first; the Live tab's camera is Chromium's fake one playing a
face), then its main button, and the result shows in view without scrolling, with no panel of another tab on screen;
at a desktop's 1400×1000 and a phone's 412×915. Errors and Cancel are said in the tab's own status line, readable.
Screenshots are kept as test artefacts (LGANIM_SCREENSHOTS: a folder to write them to; docs/screenshots are made this
way)."""
import os
from pathlib import Path

import pytest

from tests.synth import camera_clip, write_y4m
from tests.ui.browser import chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]
# tab label → (its examples, main button, the tab's result, every output panel of the tab: its status last)
TABS = {
    "One clip": ("#examples-single", "#animate", "#video", ["#video", "#live-frame", "#aligned", "#gif", "#strip",
                                                            "#plot", "#status"]),
    "Batch": ("#examples-batch", "#animate-batch", "#gallery", ["#gallery", "#batch-live", "#batch-strip",
                                                                 "#batch-plot", "#batch-status"]),
    "Drive": ("#examples-drive", "#drive-go", "#drive-result", ["#drive-result", "#drive-live",
                                                                "#drive-side-by-side", "#drive-plot",
                                                                "#drive-status"]),
    "Talk": ("#examples-talk", "#talk-go", "#talk-result", ["#talk-result", "#talk-live", "#talk-plot",
                                                            "#talk-status"]),
    "Edit": (None, "#edit-animate", "#edit-clip", ["#edit-clip", "#edit-image", "#edit-status", "#edit-clip-status"]),
    "Video": ("#examples-video", "#video-go", "#video-result", ["#video-result", "#video-live",
                                                               "#video-side-by-side", "#video-status"]),
    "Live": (None, "#live-camera button.capture-button", "#live-puppet", ["#live-puppet", "#live-speed",
                                                                          "#live-files", "#live-status"]),
}
# what the first example fills in, shown once it has arrived
FILLED = {"One clip": "#photo img[src]", "Batch": "#seeds textarea, #seeds input", "Drive": "#drive-video video[src]",
          "Talk": "#talk-audio audio[src]", "Video": "#video-input video[src]"}
# what a user does or waits for before the main button: the Edit tab shows its face first, the camera is allowed
BEFORE = {"Edit": lambda page: page.wait_for_selector("#edit-image img[src]", timeout=60_000),
          "Live": lambda page: page.click("#live-camera div[title='grant webcam access'] button")}
PLAYING = """sel => [...document.querySelectorAll(sel + ' video')].some(v => v.currentSrc && !v.paused
                    && v.readyState >= 2)"""
SHOWN = """sel => !!document.querySelector(sel + ' img[src]')"""
LOADED = """sel => [...document.querySelectorAll(sel + ' video')].some(v => v.currentSrc && v.readyState >= 2)"""
IN_VIEW = """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }"""
# whether the text of an element's paragraphs is uncovered: on top at each line's middle, and no visible part of
# gradio's status tracker (its "Error" badge, its timer; they let clicks through, so are not "on top") over a line
UNCOVERED = """sel => { const el = document.querySelector(sel);
    const range = document.createRange(); range.selectNodeContents(el.querySelector('p') || el);
    const lines = [...range.getClientRects()];
    const drawn = [...el.querySelectorAll('[data-testid=status-tracker] *')]
        .filter(e => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
    const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    return lines.every(r => { const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                              return hit !== null && el.contains(hit) && !drawn.some(d => overlap(r, d)); }); }"""


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
        for tab, (examples, button, result, panels) in TABS.items():
            page.get_by_role("tab", name=tab, exact=True).click()
            if examples is not None:                # the first example, where a user's eyes are when they press it
                page.locator(f"{examples} .gallery-item").first.click()
                page.wait_for_selector(FILLED[tab], state="attached", timeout=30_000)
            if tab in BEFORE:
                BEFORE[tab](page)
            if width < 1000:                        # a phone: the user scrolls to the button
                page.locator(button).scroll_into_view_if_needed()
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
            others = [p for name, (_, _, _, ps) in TABS.items() if name != tab for p in ps]
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
        for length in ("4", "256"):                                 # a clip, then a long one to cancel
            frames.fill(length)
            frames.press("Enter")
            page.wait_for_function(f"document.querySelector('#frames input[type=range]').value == '{length}'")
            since = server.log_size()
            page.click("#animate")
            if length == "4":
                page.wait_for_selector("#plot .vega-embed", timeout=60_000)       # its motion plot
        page.wait_for_function("document.querySelector('#status').innerText.includes('Rendering')",
                               timeout=60_000)
        # the page ignores Animate until gradio's /cancel has answered (the render stops at its next chunk)
        with page.expect_response(lambda r: r.url.endswith("/cancel"), timeout=60_000):
            page.click("#cancel")
        page.wait_for_function("document.querySelector('#status').innerText.includes('Cancelled after')",
                               timeout=30_000)
        stopped = server.wait_for_log(r"demo: stopped after (\d+)/256 frames", since)
        assert page.inner_text("#status") == f"Cancelled after {stopped.group(1)} of 256 frames."   # the server's
        assert not page.locator("#plot .vega-embed").count() and not page.locator("#live-frame img[src]").count()
        page.fill("#prompt textarea", "")
        page.click("#animate")
        page.wait_for_function("document.querySelector('#status').innerText.includes('prompt')", timeout=30_000)
        status = page.inner_text("#status")
        assert "empty" in status and "Rendering" not in status and "Starting" not in status, status
        assert page.evaluate(UNCOVERED, "#status"), "something is drawn over the error's text"
        assert page.locator(".toast-body").count() == 1                     # and the toast says it
        page.get_by_role("tab", name="Batch", exact=True).click()
        page.wait_for_function("!document.querySelector('.toast-body')", timeout=5_000)   # it goes with its tab
    finally:
        page.close()


def test_the_live_tab_says_an_error_in_its_speed_line(server, browser):
    """The human domain's weights are not on this machine: the camera's first frame fails, and the Live tab says why
    in its own line as well as the toast."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"]).new_page()
    try:
        page.goto(server.url)
        page.click("#domain input")
        page.get_by_role("option", name="Human faces (FFHQ 1024)").click()
        page.get_by_role("tab", name="Live", exact=True).click()
        page.click("#live-camera div[title='grant webcam access'] button")
        page.click("#live-camera button.capture-button")
        page.wait_for_function("document.querySelector('#live-speed').innerText.includes('⚠️')", timeout=60_000)
        said = page.inner_text("#live-speed")
        assert "stylegan2-ffhq-config-f.pt is missing" in said and page.locator(".toast-body").count() >= 1, said
        page.get_by_role("tab", name="Batch", exact=True).click()          # the toasts go with their tab ...
        page.get_by_role("tab", name="Live", exact=True).click()
        page.wait_for_function("!document.querySelector('.toast-body')", timeout=5_000)
        assert page.inner_text("#live-speed") == said                      # ... the tab's line keeps the error
        assert page.evaluate(UNCOVERED, "#live-speed"), "something is drawn over the error's text"
    finally:
        page.context.close()
