"""The Batch tab: several seeds and/or prompts in one batched run (one video per clip), and plausible futures of one
face (face video prediction: sequences of the paper's prompts with idle motion).

API: /animate_batch (domain, seeds, prompts, num_frames, fps, strength, truncation, schedule) -> (videos, last
frames, strip, motion, status); /predict (domain, seeds, prompts, samples, num_frames, fps) -> the same, the videos
captioned with the prompt each future animates.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import gradio as gr

from lganim.config import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_PROMPT,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    MAX_FPS,
    MAX_FRAMES,
    SCHEDULES,
)
from lganim.request import PredictRequest, Request, parse_prompt_lines, parse_seed_list

from . import jobs
from .common import answers, cancelled, generate, lines, predict, reporter
from .models import checked_domain

OUTPUTS = 5                                           # videos, last frames, strip, motion, status
STATUS = 4
EXAMPLES = [["1, 2, 3, 4", DEFAULT_PROMPT], ["7, 8", "The person is smiling.\nThe person is surprised."]]


def outputs(updates: Iterator[jobs.Update]):
    """(gallery of MP4s with captions, last frames, strip, motion, status) per update."""
    for u in updates:
        gallery = list(zip(map(str, u.videos), u.captions)) if u.videos else gr.skip()
        yield (gallery, u.live if u.live is not None else gr.skip(), u.strip if u.strip is not None else gr.skip(),
               lines(u.plot, "frame", "distance", "curve"), u.status)


@answers(OUTPUTS, STATUS)
def animate_batch(domain: str = "demo", seeds: str = "1, 2, 3, 4", prompts: str = DEFAULT_PROMPT,
                  num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
                  truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, progress=gr.Progress()):
    """Several seeds and/or prompts in one batched run: one MP4 per clip."""
    request = Request(prompts=parse_prompt_lines(prompts), seeds=parse_seed_list(seeds), num_frames=num_frames, fps=fps,
                      strength=strength, truncation=truncation, schedule=schedule)
    spec = checked_domain(domain, request)
    yield (None, None, None, gr.skip(), "Starting…")
    with closing(generate(spec.name, request, False, reporter(progress))) as updates:
        yield from outputs(updates)


@answers(OUTPUTS, STATUS)
def predict_futures(domain: str = "demo", seeds: str = "1", prompts: str = "", samples: int = 4,
                    num_frames: int = 24, fps: int = DEFAULT_FPS, progress=gr.Progress()):
    """K plausible futures of the first seed's face. prompts empty: each future is a sequence of the paper's
    prompts drawn from the seed; else the first prompt drives every future. The videos are captioned with what
    they animate."""
    chosen = parse_prompt_lines(prompts)[0] if isinstance(prompts, str) and prompts.strip() else None
    request = PredictRequest(seed=parse_seed_list(seeds)[0], samples=samples, prompt=chosen, num_frames=num_frames,
                             fps=fps)
    spec = checked_domain(domain, request)
    yield (None, None, None, gr.skip(), "Starting…")
    with closing(predict(spec.name, request, reporter(progress))) as updates:
        yield from outputs(updates)


def build(domain: gr.Dropdown, truncation_default: gr.Number) -> None:
    """The tab (inside the page's Tabs); its ψ follows the domain's (`truncation_default`, the One clip tab's)."""
    with gr.Tab("Batch", id="batch"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                seeds = gr.Textbox("1, 2, 3, 4", label="Seeds (one clip per seed)", elem_id="seeds")
                prompts = gr.Textbox(DEFAULT_PROMPT, lines=3, label="Prompts (one per line: one for all seeds, or "
                                     "one per seed)", elem_id="prompts")
                with gr.Row():
                    go = gr.Button("Animate batch", variant="primary", elem_id="animate-batch")
                    stop = gr.Button("Cancel", variant="stop", elem_id="cancel-batch")
                with gr.Accordion("Settings", open=False):
                    num_frames = gr.Slider(1, MAX_FRAMES, DEFAULT_FRAMES, step=1, precision=0,
                                           label="Video length (frames)", elem_id="batch-frames")
                    fps = gr.Slider(1, MAX_FPS, DEFAULT_FPS, step=1, precision=0, label="Frames per second",
                                    elem_id="batch-fps")
                    strength = gr.Slider(-4, 4, DEFAULT_STRENGTH, step=0.1, label="Strength")
                    truncation = gr.Number(None, minimum=0, maximum=1, step=0.05, label="Truncation ψ",
                                           info="empty: the domain's")
                    schedule = gr.Radio(list(SCHEDULES), value=DEFAULT_SCHEDULE, label="Motion schedule")
                with gr.Group():
                    gr.Markdown("**Futures of the first seed's face** — sequences of the paper's prompts (or the "
                                "first prompt above, if you tick it), with blinks and head sway.")
                    with gr.Row():
                        samples = gr.Slider(1, 8, 4, step=1, precision=0, label="Futures", scale=3)
                        go_predict = gr.Button("Predict futures", elem_id="predict", scale=1)
                    own = gr.Checkbox(False, label="Every future animates the first prompt above")
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("Give seeds and prompts, press **Animate batch**.", elem_id="batch-status",
                                     label="Status")
                gallery = gr.Gallery(label="Videos (one per clip)", columns=4, height=300, elem_id="gallery")
                live = gr.Image(label="Live frames", type="numpy", interactive=False, height=200,
                                elem_id="batch-live")
                strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="batch-strip")
                plot = gr.LinePlot(x="frame", y="distance", color="curve", label="Motion over time",
                                   caption="How far each clip moved from its frame 0 (RMS of Δw)",
                                   x_title="frame", y_title="distance from frame 0",
                                   color_title="clip", elem_id="batch-plot")
        gr.Examples(EXAMPLES, inputs=[seeds, prompts], label="Try these")

        batch_out = [gallery, live, strip, plot, status]
        batch = go.click(animate_batch, inputs=[domain, seeds, prompts, num_frames, fps, strength, truncation,
                                                schedule], outputs=batch_out, api_name="animate_batch",
                         preprocess=False, show_progress="minimal", show_progress_on=[status])
        futures_prompts = gr.Textbox("", visible=False)          # what /predict gets: the prompt only when ticked
        futures = go_predict.click(lambda p, use: p if use else "", inputs=[prompts, own], outputs=futures_prompts,
                                   queue=False, api_visibility="private").then(
            predict_futures, inputs=[domain, seeds, futures_prompts, samples, num_frames, fps], outputs=batch_out,
            api_name="predict", preprocess=False, show_progress="minimal", show_progress_on=[status])
        stop.click(cancelled, inputs=[status], outputs=[status], cancels=[batch, futures], queue=False,
                   api_visibility="private")
        truncation_default.change(lambda psi: psi, inputs=truncation_default, outputs=truncation, queue=False,
                                  api_visibility="private")


__all__ = ["animate_batch", "predict_futures", "build"]
