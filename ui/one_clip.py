"""The One clip tab: a face (a seed's, or a photo's) and a sentence → a video; strength, ψ and fps re-render it.

API: /animate (image, domain, seed, prompt, num_frames, fps, strength, truncation, schedule) -> (video, gif, live
frame, strip, motion, status, aligned face); /rerender (strength, truncation, fps) -> the same, for the session's
last clip.
"""
from __future__ import annotations

import secrets
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
    MAX_STRENGTH,
    SCHEDULES,
)
from lganim.errors import LganimError
from lganim.request import Request

from . import jobs, text
from .common import answers, cancelled, generate, lines, regenerate, reporter, upload
from .models import checked_domain

EXAMPLE_PHOTO = str(Path(__file__).resolve().parents[1] / "examples" / "astronaut.png")
EXAMPLES = [[EXAMPLE_PHOTO, "The person is smiling."], [EXAMPLE_PHOTO, "The person is surprised."],
            [None, "The person is smiling; then winking."], [None, "The person is angry."]]
OUTPUTS = 8                                           # video, gif, live, strip, motion, status, aligned, clip
STATUS = 5


def outputs(updates: Iterator[jobs.Update]):
    """(video, GIF, live frame, strip, motion, status, aligned crop, clip to re-render) per update; the updates
    with the results repeat the aligned crop, so that an API caller's final answer holds every value."""
    aligned = None
    for u in updates:
        aligned = u.aligned if u.aligned is not None else aligned
        yield (str(u.videos[0]) if u.videos else gr.skip(), str(u.gif) if u.gif else gr.skip(),
               u.live if u.live is not None else gr.skip(), u.strip if u.strip is not None else gr.skip(),
               lines(u.plot, "frame", "distance", "curve"), u.status,
               aligned if u.videos or u.aligned is not None else gr.skip(),
               u.clip if u.clip is not None else gr.skip())


@answers(OUTPUTS, STATUS)
def animate(image=None, domain: str = "demo", seed: int = 0, prompt: str = DEFAULT_PROMPT,
            num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
            truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, progress=gr.Progress()):
    """Animate one face: frames stream while they render, then the MP4, then the GIF. truncation None: the domain's
    ψ."""
    request = Request(prompts=[prompt], seeds=(seed,), image=upload(image), num_frames=num_frames, fps=fps,
                      strength=strength, truncation=truncation, schedule=schedule)
    spec = checked_domain(domain, request)
    yield (None, None, None, None, gr.skip(), "Starting…", None, gr.skip())   # clear the last clip's results
    with closing(generate(spec.name, request, True, reporter(progress))) as updates:
        yield from outputs(updates)


@answers(OUTPUTS, STATUS)
def rerender(clip=None, strength: float = DEFAULT_STRENGTH, truncation: float | None = None,
             fps: int = DEFAULT_FPS, progress=gr.Progress()):
    """The session's last clip with another strength, truncation ψ or fps, from its motion (no CLIP, fitting or
    motion model)."""
    if clip is None:
        raise LganimError("Nothing to re-render yet: animate a clip first (the sliders then re-render it).")
    with closing(regenerate(clip, strength, truncation, fps, reporter(progress))) as updates:
        yield from outputs(updates)


def rerender_if_any(clip, strength, truncation, fps, progress=gr.Progress()):
    """What a released slider runs: a re-render when there is a clip, else nothing."""
    if clip is None:
        yield (gr.skip(),) * OUTPUTS
        return
    yield from rerender(clip, strength, truncation, fps, progress)


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def build(domain: gr.Dropdown) -> dict:
    """The tab (inside the page's Tabs); returns the components other tabs and the page wire to."""
    with gr.Tab("One clip", id="single"):
        clip = gr.State(None)                                 # the last clip of this session, for re-rendering
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=170, elem_id="photo",
                                 label="Photo of a face (optional)")
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="seed", scale=4)
                    dice = gr.Button("Random face", scale=1, size="sm")
                prompt = gr.Textbox(DEFAULT_PROMPT, label="Prompt", lines=2, elem_id="prompt",
                                    info='A sentence, or a sequence: "The person is smiling; then winking."')
                with gr.Row():
                    go = gr.Button("Animate", variant="primary", elem_id="animate")
                    stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
                paper = gr.Dropdown(list(text.PAPER_PROMPTS), value=None, label="…or one of the paper's 28 prompts",
                                    elem_id="paper-prompts")
                with gr.Accordion("Settings (strength, ψ and fps re-render the last clip)", open=False):
                    num_frames = gr.Slider(1, MAX_FRAMES, DEFAULT_FRAMES, step=1, precision=0,
                                           label="Video length (frames)", elem_id="frames")
                    fps = gr.Slider(1, MAX_FPS, DEFAULT_FPS, step=1, precision=0, label="Frames per second",
                                    elem_id="fps")
                    strength = gr.Slider(-4, 4, DEFAULT_STRENGTH, step=0.1, label="Strength", elem_id="strength",
                                         info=f"How much motion; 0 the still face, negative the opposite (API: "
                                              f"±{MAX_STRENGTH:g})")
                    # no value in the page's config: an API caller that leaves ψ out gets the domain's own (None);
                    # the page shows the domain's value from its load and domain events (a slider cannot hold
                    # "none")
                    truncation = gr.Number(None, minimum=0, maximum=1, step=0.05, label="Truncation ψ",
                                           elem_id="truncation",
                                           info="Lower: more typical faces; higher: more varied; empty: the domain's")
                    schedule = gr.Radio(list(SCHEDULES), value=DEFAULT_SCHEDULE, label="Motion schedule",
                                        info="How the step size decays over the clip")
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("Pick a face, describe the motion, press **Animate**.", elem_id="status",
                                     label="Status")
                with gr.Row(equal_height=False):
                    video = gr.Video(label="Video (MP4)", interactive=False, autoplay=True, loop=True, height=300,
                                     elem_id="video")
                    live = gr.Image(label="Live frames", type="numpy", interactive=False, height=300,
                                    elem_id="live-frame")
                with gr.Row(equal_height=False):
                    aligned = gr.Image(label="Aligned face (what is animated)", type="numpy", interactive=False,
                                       height=140, elem_id="aligned")
                    gif = gr.File(label="GIF", interactive=False, elem_id="gif", height=140)
                strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="strip")
                plot = gr.LinePlot(x="frame", y="distance", color="curve", label="Motion over time",
                                   caption="How far the face moved from frame 0, per layer group (RMS of Δw)",
                                   x_title="frame",
                                   y_title="distance from frame 0", color_title="layer group", elem_id="plot")
        gr.Examples(EXAMPLES, inputs=[image, prompt], label="Try these (one click fills the face and the prompt)")

        single_out = [video, gif, live, strip, plot, status, aligned, clip]
        single = go.click(animate, inputs=[image, domain, seed, prompt, num_frames, fps, strength, truncation,
                                           schedule], outputs=single_out, api_name="animate", preprocess=False,
                          show_progress="minimal", show_progress_on=[status])
        api = gr.Button(visible=False)                        # /rerender for API clients: says when there is no clip
        again = [api.click(rerender, inputs=[clip, strength, truncation, fps], outputs=single_out,
                           api_name="rerender", preprocess=False, show_progress="minimal", show_progress_on=[status])]
        again += [event(rerender_if_any, inputs=[clip, strength, truncation, fps], outputs=single_out,
                        preprocess=False, show_progress="minimal", show_progress_on=[status],
                        trigger_mode="always_last", api_visibility="private")
                  for event in (strength.release, truncation.submit, fps.release)]
        stop.click(cancelled, inputs=[status], outputs=[status], cancels=[single, *again], queue=False,
                   api_visibility="private")
        dice.click(random_seed, outputs=seed, queue=False, api_visibility="private")
        paper.input(lambda chosen: chosen or gr.skip(), inputs=paper, outputs=prompt, queue=False,
                    api_visibility="private")
    return {"truncation": truncation, "seed": seed, "image": image, "prompt": prompt}


__all__ = ["animate", "rerender", "build"]
