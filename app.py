"""Gradio app: type a sentence, watch a face move. Widgets and events only; the work is the `ui` package over the
library.

    python app.py [--host 0.0.0.0] [--port 7860]

Importing this module builds the page and loads no weights: a domain's models load on its first request, once,
and stay. The library's `LganimError` becomes a `gr.Error` in one place (`ui.common.user_errors`). Environment:
LGANIM_DOMAIN (the start domain), LGANIM_DEVICE, LGANIM_DTYPE, LGANIM_MOTION_<DOMAIN> (ui/models.py), and
LGANIM_CONCURRENCY (requests rendered at once, default 1), LGANIM_QUEUE_SIZE (waiting requests, default 16).
"""
from __future__ import annotations

try:  # on ZeroGPU, `spaces` must be imported before anything initialises CUDA (elsewhere its decorator does nothing)
    import spaces
except ImportError:
    spaces = None

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import gradio as gr

from lganim.config import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_PROMPT,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    MAX_FPS,
    MAX_FRAMES,
    MAX_SEED,
    SCHEDULES,
)
from lganim.device import device_line, resolve_device
from lganim.errors import LganimError
from lganim.request import Request, parse_prompt_lines, parse_seed_list
from lganim.weights.registry import DOMAINS
from ui import drive as drive_tab
from ui import files, jobs, settings, text, zerogpu
from ui import live as live_tab
from ui import talk as talk_tab
from ui.common import (
    ANIMATORS,
    generate,
    predict,
    regenerate,
    reporter,
    scatter,
    upload,
    user_errors,
)
from ui.models import checked_domain

EXAMPLE_PHOTO = str(Path(__file__).resolve().parent / "examples" / "astronaut.png")
EXAMPLES = [[EXAMPLE_PHOTO, "The person is smiling."], [EXAMPLE_PHOTO, "The person is surprised."],
            [None, "The person is smiling; then winking."], [None, "The person is angry."]]
CSS = (".lganim-footer {font-size: 0.85em; opacity: 0.85} "
       "#live-frame img {width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated}")
THEME = gr.themes.Soft()
START_DOMAIN, START_NOTICE = text.start_domain()
try:
    CONCURRENCY = settings.env_int("LGANIM_CONCURRENCY", 1, 1)
    QUEUE_SIZE = settings.env_int("LGANIM_QUEUE_SIZE", 16, 1)
except LganimError as e:
    sys.exit(f"error: {e}")
if zerogpu.on_space():                                    # a Space loads its start domain onto the GPU at startup
    ANIMATORS.preload(START_DOMAIN)


def single_outputs(updates: Iterator[jobs.Update]):
    """(MP4, GIF, live frame, strip, plot, status, aligned crop, clip to re-render) per update."""
    aligned = None                                        # kept on screen once the photo's face is found
    for u in updates:
        aligned = u.aligned if u.aligned is not None else aligned
        yield (str(u.videos[0]) if u.videos else None, str(u.gif) if u.gif else None, u.live, u.strip,
               scatter(u.plot, "frame"), u.status, aligned, u.clip if u.clip is not None else gr.skip())


def animate(image=None, domain: str = "demo", seed: int = 0, prompt: str = DEFAULT_PROMPT,
            num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
            truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, progress=gr.Progress()):
    """Animate one face: streams frames while rendering, then returns (MP4, GIF, last frame, strip, plot, status,
    aligned crop of the photo or None)."""
    with user_errors():
        request = Request([prompt], (seed,), upload(image), num_frames, fps, strength, truncation, schedule)
        spec = checked_domain(domain, request)
        with closing(generate(spec.name, request, True, reporter(progress))) as updates:
            yield from single_outputs(updates)


def rerender(clip, strength: float = DEFAULT_STRENGTH, truncation: float | None = None, fps: int = DEFAULT_FPS,
             progress=gr.Progress()):
    """The last clip of this session with another strength, truncation or fps, from its cached motion."""
    if clip is None:                                      # nothing animated yet: the sliders only set values
        yield (gr.skip(),) * 8
        return
    with user_errors():
        with closing(regenerate(clip, strength, truncation, fps, reporter(progress))) as updates:
            yield from single_outputs(updates)


def animate_batch(domain: str = "demo", seeds: str = "1, 2, 3, 4", prompts: str = DEFAULT_PROMPT,
                  num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
                  truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, progress=gr.Progress()):
    """Several seeds and/or prompts in one batched run: returns (gallery of MP4s, last frames, strip, plot, status)."""
    with user_errors():
        request = Request(parse_prompt_lines(prompts), parse_seed_list(seeds), None, num_frames, fps, strength,
                          truncation, schedule)
        spec = checked_domain(domain, request)
        with closing(generate(spec.name, request, False, reporter(progress))) as updates:
            yield from batch_outputs(updates)


def batch_outputs(updates: Iterator[jobs.Update]):
    """(gallery of MP4s, last frames, strip, plot, status) per update."""
    for u in updates:
        gallery = [(str(v), f"clip {i}") for i, v in enumerate(u.videos)] if u.videos else None
        yield gallery, u.live, u.strip, scatter(u.plot, "clip"), u.status


def predict_futures(domain: str = "demo", seeds: str = "1", prompts: str = DEFAULT_PROMPT,
                    samples: int = 4, num_frames: int = 24, fps: int = DEFAULT_FPS, progress=gr.Progress()):
    """K plausible futures of the first seed's face (face video prediction): sequences of the paper's prompts (or
    the first prompt, if not the default) with idle motion. Returns (gallery of MP4s, last frames, strip, plot,
    status)."""
    with user_errors():
        request = Request(parse_prompt_lines(prompts)[:1], parse_seed_list(seeds)[:1], None, num_frames, fps)
        spec = checked_domain(domain, request)
        with closing(predict(spec.name, request, samples, reporter(progress))) as updates:
            yield from batch_outputs(updates)


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


with gr.Blocks(title="lganim: animate a face from a sentence", delete_cache=(900, files.FILES_MAX_AGE)) as demo:
    gr.Markdown("# lganim — animate a face from a sentence\nPick a domain, sample a face from a seed (or drop in a "
                "photo), describe the motion, and watch the frames arrive.")
    gr.Markdown(START_NOTICE, visible=bool(START_NOTICE), elem_id="notice")
    clip = gr.State(None)                                 # the last clip of the single tab, for live re-rendering
    with gr.Row():
        with gr.Column(scale=5):
            domain = gr.Dropdown([(text.domain_label(n), n) for n in DOMAINS], value=START_DOMAIN, label="Domain",
                                 elem_id="domain")
            info_text, _ = text.domain_info(START_DOMAIN)
            info = gr.Markdown(info_text)
            with gr.Tabs():
                with gr.Tab("One clip", id="single"):
                    with gr.Row():
                        image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=200, elem_id="photo",
                                         label="Photo of a face (optional: replaces the seed's face)", scale=3)
                        aligned = gr.Image(label="Aligned face (what is animated)", type="numpy", interactive=False,
                                           height=200, elem_id="aligned", scale=2)
                    with gr.Row():
                        seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                         elem_id="seed", scale=4)
                        dice = gr.Button("Random seed", scale=1, size="sm")
                    prompt = gr.Textbox(text.PAPER_PROMPTS[0], label="Prompt", lines=2, elem_id="prompt",
                                        info='A sentence, or a sequence: "The person is smiling; then winking."')
                    gr.Examples(EXAMPLES, inputs=[image, prompt], label="Try these")
                    gr.Examples([[p] for p in text.PAPER_PROMPTS], inputs=[prompt],
                                examples_per_page=len(text.PAPER_PROMPTS), label="The paper's 28 training prompts")
                    with gr.Row():
                        go = gr.Button("Animate", variant="primary", elem_id="animate")
                        stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
                with gr.Tab("Batch", id="batch"):
                    seeds = gr.Textbox("1, 2, 3, 4", label="Seeds (one clip per seed)", elem_id="seeds")
                    prompts = gr.Textbox(text.PAPER_PROMPTS[0], lines=3, label="Prompts (one per line; one prompt "
                                         "for all seeds, or one per seed)", elem_id="prompts")
                    with gr.Row():
                        go_batch = gr.Button("Animate batch", variant="primary", elem_id="animate-batch")
                        stop_batch = gr.Button("Cancel", variant="stop")
                    with gr.Row():
                        samples = gr.Slider(1, 8, 4, step=1, label="Futures of the first seed's face", scale=3)
                        go_predict = gr.Button("Predict futures", elem_id="predict", scale=1)
                drive_tab.build(domain)
                talk_tab.build(domain)
                live_tab.build(domain)
            with gr.Accordion("Motion settings (strength, ψ and fps re-render the last clip when released)", open=True):
                num_frames = gr.Slider(1, MAX_FRAMES, DEFAULT_FRAMES, step=1, label="Video length (frames)",
                                       elem_id="frames")
                fps = gr.Slider(1, MAX_FPS, DEFAULT_FPS, step=1, label="Frames per second", elem_id="fps")
                strength = gr.Slider(-4, 4, DEFAULT_STRENGTH, step=0.1, label="Strength", elem_id="strength",
                                     info="How much motion; 0 the still face, negative the opposite motion")
                # no value in the page's config: an API caller that leaves ψ out gets the domain's own (None); the
                # page shows the domain's value from its load and domain events (a slider cannot hold "none")
                truncation = gr.Number(None, minimum=0, maximum=1, step=0.05, label="Truncation ψ",
                                       elem_id="truncation",
                                       info="Lower: more typical faces; higher: more varied; empty: the domain's")
                schedule = gr.Radio(list(SCHEDULES), value=DEFAULT_SCHEDULE, label="Motion schedule",
                                    info="How the step size decays over the clip")
        with gr.Column(scale=6):
            status = gr.Markdown("Ready.", elem_id="status")
            with gr.Row():
                live = gr.Image(label="Frames as they render", type="numpy", interactive=False, height=280,
                                elem_id="live-frame")
                video = gr.Video(label="Video (MP4)", interactive=False, autoplay=True, loop=True, height=280,
                                 elem_id="video")
            gif = gr.File(label="GIF download", interactive=False, elem_id="gif")
            gallery = gr.Gallery(label="Batch: one video per clip", columns=4, height=260, elem_id="gallery")
            strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="strip")
            plot = gr.ScatterPlot(x="pc1", y="pc2", color="frame", label="Motion: 2-D PCA of the W+ offsets Δw[t]",
                                  height=240, elem_id="plot")
    gr.Markdown(text.footer(), elem_classes="lganim-footer")

    settings = [num_frames, fps, strength, truncation, schedule]
    single_out = [video, gif, live, strip, plot, status, aligned, clip]
    single = go.click(animate, inputs=[image, domain, seed, prompt, *settings], outputs=single_out,
                      api_name="animate", preprocess=False, show_progress="minimal", show_progress_on=[status])
    batch = go_batch.click(animate_batch, inputs=[domain, seeds, prompts, *settings],
                           outputs=[gallery, live, strip, plot, status], api_name="animate_batch", preprocess=False,
                           show_progress="minimal", show_progress_on=[status])
    # re-render the last clip when a setting of its rendering is released (ψ: when its number is entered)
    again = [event(rerender, inputs=[clip, strength, truncation, fps], outputs=single_out, preprocess=False,
                   show_progress="minimal", show_progress_on=[status], trigger_mode="always_last",
                   **({"api_name": "rerender"} if event == strength.release else {"api_visibility": "private"}))
             for event in (strength.release, truncation.submit, fps.release)]
    futures = go_predict.click(predict_futures, inputs=[domain, seeds, prompts, samples, num_frames, fps],
                               outputs=[gallery, live, strip, plot, status], api_name="predict", preprocess=False,
                               show_progress="minimal", show_progress_on=[status])
    for button in (stop, stop_batch):
        button.click(None, cancels=[single, batch, futures, *again])
    dice.click(random_seed, outputs=seed, queue=False, api_visibility="private")
    domain.change(text.domain_info, inputs=domain, outputs=[info, truncation], queue=False,
                  api_visibility="private")
    demo.load(text.domain_info, inputs=domain, outputs=[info, truncation], queue=False, api_visibility="private")

demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


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
    demo.launch(server_name=args.host, server_port=args.port, theme=THEME, css=CSS, show_error=False)


if __name__ == "__main__":
    main()
