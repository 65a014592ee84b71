"""Gradio app: type a sentence, watch a face move. It builds the page from the `ui` package and launches; the work
is the library's.

    python app.py [--host 0.0.0.0] [--port 7860]

Importing this module builds the page and loads no weights: a domain's models load on its first request, once,
and stay (a Space loads its start domain at startup). Environment: LGANIM_DOMAIN (the start domain),
LGANIM_DEVICE, LGANIM_DTYPE, LGANIM_MOTION_<DOMAIN> (ui/models.py), LGANIM_PRESETS (bundles of prompts fitted
ahead, lganim/motion/presets.py: each loads with its domain), and the server's settings (ui/settings.py).

What reaches gradio is checked first: every HTTP request by the guard (ui/guard.py: cookies, uploads within the disk
cap, the file route), every call's values by the page (ui/page.py); the janitor keeps the files within the
retention and the disk cap while the server runs (ui/files.py).
"""
from __future__ import annotations

try:  # on ZeroGPU, `spaces` must be imported before anything initialises CUDA (elsewhere its decorator does nothing)
    import spaces
except ImportError:
    spaces = None

import argparse
import logging
import os
import sys

import gradio as gr
from starlette.middleware import Middleware

from lganim.device import device_line, resolve_device
from lganim.errors import LganimError
from lganim.motion.presets import configured_bundles
from lganim.weights.registry import DOMAINS
from ui import batch, drive, edit, files, handoff, jobs, live, one_clip, talk, text, video, zerogpu
from ui.common import ANIMATORS, FILES, settings
from ui.guard import Guard
from ui.page import Page
from ui.sessions import UPLOADS

# The page's rules: a label sits above its picture or video (never on it) and wraps instead of being cut; a status
# line shows its own text and nothing over it (not gradio's "Error" badge, nor its timer: the line says each step,
# the error is the line itself, and the toast); a domain's name stops short of the dropdown's arrow; buttons beside a
# field keep their own height.
CSS = """
.lganim-footer {font-size: 0.85em; opacity: 0.85}
#live-frame img, #drive-live img, #talk-live img, #video-live img {object-fit: contain; image-rendering: pixelated}
.gradio-container label span, .gradio-container .label-wrap span {white-space: normal; overflow-wrap: anywhere}
.gradio-container label[data-testid="block-label"].float {position: static; max-width: 100%; margin-bottom: 4px}
.status-line [data-testid="status-tracker"] {display: none}
#domain input {text-overflow: ellipsis; padding-right: 28px}
.seed-row {align-items: flex-end}
@media (max-width: 480px) {.tab-container button {padding-left: 6px; padding-right: 6px}}
"""
# Closes the toasts when another tab is picked: an error belongs to the tab it happened in (its status line keeps it).
CLOSE_TOASTS = "() => document.querySelectorAll('.toast-close').forEach(button => button.click())"
THEME = gr.themes.Soft()
START_DOMAIN, START_NOTICE = text.start_domain()
try:
    SETTINGS = settings()
    configured_bundles()                                  # LGANIM_PRESETS: a bundle it names wrongly stops the start
except LganimError as e:
    sys.exit(f"error: {e}")
if zerogpu.on_space():                                    # a Space loads its start domain onto the GPU at startup,
    ANIMATORS.preload(START_DOMAIN)                       # with its presets (its other domains: on first use)

with Page(title="lganim: animate a face from a sentence") as demo:     # ui/files.py keeps the cache, not gradio
    gr.Markdown("# lganim — animate a face from a sentence\nPick a domain, give a face (a seed, or a photo), "
                "describe the motion — or drive the face with a video, speech or text, or edit the face of a video — "
                "and watch the frames arrive.")
    gr.Markdown(START_NOTICE, visible=bool(START_NOTICE), elem_id="notice")
    with gr.Row(equal_height=True):
        domain = gr.Dropdown([(text.domain_label(n), n) for n in DOMAINS], value=START_DOMAIN, label="Domain",
                             elem_id="domain", scale=2, min_width=320)
        with gr.Column(scale=3, min_width=320):         # a column: on a phone it wraps under the dropdown
            info = gr.Markdown(text.domain_info(START_DOMAIN)[0], elem_id="domain-info")
    with gr.Tabs() as tabs:
        single = one_clip.build(domain)
        batch.build(domain, single["truncation"])
        driving = drive.build(domain)
        talking = talk.build(domain)
        editing = edit.build(domain)
        video.build(domain)
        live.build(domain)
    tabs.change(None, js=CLOSE_TOASTS, queue=False, api_visibility="private")
    for button, tab, target in ((editing["to_drive"], "drive", driving), (editing["to_talk"], "talk", talking)):
        button.click(handoff.hand_off(tab), inputs=editing["start"],
                     outputs=[target["start"], target["note"], tabs, editing["clip_status"]], queue=False,
                     api_visibility="private", show_progress="minimal", show_progress_on=[editing["clip_status"]])
    gr.Markdown(text.footer(), elem_classes="lganim-footer")
    domain.change(text.domain_info, inputs=domain, outputs=[info, single["truncation"]], queue=False,
                  api_visibility="private")
    demo.load(text.domain_info, inputs=domain, outputs=[info, single["truncation"]], queue=False,
              api_visibility="private")

demo.queue(default_concurrency_limit=SETTINGS.concurrency, max_size=SETTINGS.queue_size)
UPLOADS.keep_own(demo.own_files())                         # the examples: any client may name them


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the lganim app.")
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1, or GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860, or GRADIO_SERVER_PORT)")
    args = parser.parse_args(argv)
    try:
        print(device_line(resolve_device(os.environ.get("LGANIM_DEVICE", "auto"))), flush=True)
    except LganimError as e:
        sys.exit(f"error: LGANIM_DEVICE: {e}")
    logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
    jobs.log.setLevel(logging.INFO)
    files.start_janitor(FILES, SETTINGS)
    guard = Middleware(Guard, root=FILES, disk_bytes=SETTINGS.disk_bytes, upload_bytes=SETTINGS.upload_bytes)
    demo.launch(server_name=args.host, server_port=args.port, theme=THEME, css=CSS + edit.CSS, show_error=False,
                mcp_server=True, max_file_size=SETTINGS.upload_bytes, app_kwargs={"middleware": [guard]})


if __name__ == "__main__":
    main()
