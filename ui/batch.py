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
from .common import answers, canceller, generate, lines, predict, reporter, tracked
from .models import checked_domain

OUTPUTS = 5                                           # videos, last frames, strip, motion, status
STATUS = 4
CLEARED = (None, None, None, None, "Starting…")         # nothing of the last run is left on the page
EXAMPLES = [["1, 2, 3, 4", DEFAULT_PROMPT], ["7, 8", "The person is smiling.\nThe person is surprised."]]
EXAMPLE_LABELS = ["Four faces · smiling", "Two faces · smiling, surprised"]


def outputs(updates: Iterator[jobs.Update]):
    """(gallery of MP4s with captions, last frames, strip, motion, status) per update; the updates with the results
    hold every value."""
    for u in updates:
        if u.videos:
            yield (list(zip(map(str, u.videos), u.captions)), u.live, u.strip,
                   lines(u.plot), u.status)
        else:
            yield gr.skip(), u.live if u.live is not None else gr.skip(), gr.skip(), gr.skip(), u.status


@answers(OUTPUTS, STATUS)
def animate_batch(domain: str = "demo", seeds: str = "1, 2, 3, 4", prompts: str = DEFAULT_PROMPT,
                  num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
                  truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, progress=gr.Progress(),
                  request: gr.Request = None):
    """Animate several faces and/or sentences in one batched run: one short MP4 per clip.

    Args:
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seeds: the faces, whole numbers from 0 to 4294967295 separated by commas or spaces (at most 16 clips)
        prompts: the motions, one English sentence per line: one line for every seed, or one line per seed
        num_frames: length of each video in frames, a whole number from 1 to 256
        fps: frames per second of the videos, a whole number from 1 to 60
        strength: how much motion, a number from -10 to 10 (0: the still face, negative: the opposite motion)
        truncation: ψ, a number from 0 to 1 (lower: more typical faces); empty: the domain's own ψ
        schedule: how the motion's step size decays over the clip: linear, sqrt, exp, const or cosine

    Returns:
        the videos, one MP4 per clip, each captioned with its face and prompt
        the last frames of all clips, tiled
        a strip of frames per clip
        the motion over time of each clip
        a one-line status
    """
    job = Request(prompts=parse_prompt_lines(prompts), seeds=parse_seed_list(seeds), num_frames=num_frames, fps=fps,
                  strength=strength, truncation=truncation, schedule=schedule)
    spec = checked_domain(domain, job)
    yield CLEARED
    with closing(generate(spec.name, job, False, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "batch"))


@answers(OUTPUTS, STATUS)
def predict_futures(domain: str = "demo", seeds: str = "1", prompts: str = "", samples: int = 4,
                    num_frames: int = 24, fps: int = DEFAULT_FPS, progress=gr.Progress(), request: gr.Request = None):
    """Predict plausible futures of one face: several short MP4s of the first seed's face, each animating another
    sequence of the paper's prompts with blinks and head sway (or every one the given prompt), captioned with it.

    Args:
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seeds: the face, a whole number from 0 to 4294967295 (of a list, the first)
        prompts: empty: each future draws its own sequence of the paper's prompts; else its first line drives them all
        samples: how many futures, a whole number from 1 to 16
        num_frames: length of each video in frames, a whole number from 1 to 256
        fps: frames per second of the videos, a whole number from 1 to 60

    Returns:
        the futures, one MP4 each, captioned with the prompts it animates
        the last frame of the last future
        a strip of frames per future
        the motion over time of each future
        a one-line status
    """
    chosen = parse_prompt_lines(prompts)[0] if isinstance(prompts, str) and prompts.strip() else None
    job = PredictRequest(seed=parse_seed_list(seeds)[0], samples=samples, prompt=chosen, num_frames=num_frames,
                         fps=fps)
    spec = checked_domain(domain, job)
    yield CLEARED
    with closing(predict(spec.name, job, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "batch"))


def build(domain: gr.Dropdown, truncation_default: gr.Number) -> None:
    """The tab (inside the page's Tabs); its ψ follows the domain's (`truncation_default`, the One clip tab's). The
    examples sit above the buttons, in the first screen."""
    with gr.Tab("Batch", id="batch"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                seeds = gr.Textbox("1, 2, 3, 4", label="Seeds (one clip per seed)", elem_id="seeds")
                prompts = gr.Textbox(DEFAULT_PROMPT, lines=3, label="Prompts (one per line: one for all seeds, or "
                                     "one per seed)", elem_id="prompts")
                gr.Examples(EXAMPLES, inputs=[seeds, prompts], example_labels=EXAMPLE_LABELS, elem_id="examples-batch",
                            label="Try these")
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
                                     label="Status", elem_classes="status-line")
                gallery = gr.Gallery(label="Videos (one per clip)", columns=4, height=300, elem_id="gallery")
                live = gr.Image(label="Live frames", type="numpy", interactive=False, height=200,
                                elem_id="batch-live")
                strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="batch-strip")
                plot = gr.LinePlot(x="frame", y="distance", color="curve", label="Motion over time",
                                   caption="How far each clip moved from its frame 0 (RMS of Δw)",
                                   x_title="frame", y_title="distance from frame 0",
                                   color_title="clip", elem_id="batch-plot")

        batch_out = [gallery, live, strip, plot, status]
        batch = go.click(animate_batch, inputs=[domain, seeds, prompts, num_frames, fps, strength, truncation,
                                                schedule], outputs=batch_out, api_name="animate_batch",
                         preprocess=False, show_progress="minimal", show_progress_on=[status])
        futures_prompts = gr.Textbox("", visible=False)          # what /predict gets: the prompt only when ticked
        futures = go_predict.click(lambda p, use: p if use else "", inputs=[prompts, own], outputs=futures_prompts,
                                   queue=False, api_visibility="private").then(
            predict_futures, inputs=[domain, seeds, futures_prompts, samples, num_frames, fps], outputs=batch_out,
            api_name="predict", preprocess=False, show_progress="minimal", show_progress_on=[status])
        # Cancel: gradio stops the request first, then the status says where the server stopped (its own event,
        # after: an event with `cancels` runs its function before it cancels)
        stop.click(None, cancels=[batch, futures], queue=False, api_visibility="private")
        stop.click(canceller("batch"), outputs=[status, live], queue=False, api_visibility="private")
        truncation_default.change(lambda psi: psi, inputs=truncation_default, outputs=truncation, queue=False,
                                  api_visibility="private")


__all__ = ["animate_batch", "predict_futures", "build"]
