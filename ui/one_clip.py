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
from .common import (
    Kept,
    answers,
    canceller,
    generate,
    lines,
    regenerate,
    reporter,
    session_of,
    tracked,
    upload,
)
from .models import checked_domain

EXAMPLE_PHOTO = str(Path(__file__).resolve().parents[1] / "examples" / "astronaut.png")
EXAMPLES = [[EXAMPLE_PHOTO, "The person is smiling."], [EXAMPLE_PHOTO, "The person is surprised."],
            [None, "The person is smiling; then winking."], [None, "The person is angry."]]
EXAMPLE_LABELS = ["Photo · smiling", "Photo · surprised", "Seed · smiling; then winking", "Seed · angry"]
OUTPUTS = 7                                           # video, gif, live, strip, motion, status, aligned
STATUS = 5
CLEARED = (None, None, None, None, None, "Starting…", None)   # nothing of the last clip is left on the page


def outputs(updates: Iterator[jobs.Update], last: Kept | None):
    """(video, GIF, live frame, strip, motion, status, aligned crop) per update; the updates with the results hold
    every value (None where there is none), so that an API caller's final answer is all values. The finished clip is
    kept in `last`, for re-rendering (None: not kept)."""
    aligned = None
    for u in updates:
        aligned = u.aligned if u.aligned is not None else aligned
        if u.clip is not None and last is not None:
            last.value = u.clip
        if u.videos:
            yield (str(u.videos[0]), str(u.gif) if u.gif else None, u.live, u.strip,
                   lines(u.plot), u.status, aligned)
            continue
        yield (gr.skip(), gr.skip(), u.live if u.live is not None else gr.skip(), gr.skip(), gr.skip(), u.status,
               u.aligned if u.aligned is not None else gr.skip())


def kept_by(request: gr.Request | None, last: Kept | None) -> Kept | None:
    """Where a call keeps its clip: its session's; none for a call through MCP, whose session is shared."""
    return last if session_of(request) is not None else None


@answers(OUTPUTS, STATUS)
def animate(image=None, domain: str = "demo", seed: int = 0, prompt: str = DEFAULT_PROMPT,
            num_frames: int = DEFAULT_FRAMES, fps: int = DEFAULT_FPS, strength: float = DEFAULT_STRENGTH,
            truncation: float | None = None, schedule: str = DEFAULT_SCHEDULE, last: Kept | None = None,
            progress=gr.Progress(), request: gr.Request = None):
    """Animate one face from a sentence: a short video of the face moving as the prompt says (frames stream while
    they render, then the MP4, then the GIF).

    Args:
        image: optional photo of a face uploaded to this app, by its URL here (human and demo domains)
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seed: the face when no photo is given, a whole number from 0 to 4294967295 (each seed is another face)
        prompt: the motion, one English sentence ("The person is smiling.") or a sequence ("...; then winking.")
        num_frames: length of the video in frames, a whole number from 1 to 256
        fps: frames per second of the video, a whole number from 1 to 60
        strength: how much motion, a number from -10 to 10 (0: the still face, negative: the opposite motion)
        truncation: ψ, a number from 0 to 1 (lower: more typical faces); empty: the domain's own ψ
        schedule: how the motion's step size decays over the clip: linear, sqrt, exp, const or cosine

    Returns:
        the MP4 video
        the same clip as a GIF
        its last frame
        a strip of frames
        the motion over time (how far each layer group of W+ moved from frame 0)
        a one-line status
        the aligned face crop that was animated (a photo's; empty for a seed)
    """
    job = Request(prompts=[prompt], seeds=(seed,), image=upload(image), num_frames=num_frames, fps=fps,
                  strength=strength, truncation=truncation, schedule=schedule)
    spec = checked_domain(domain, job)
    yield CLEARED
    with closing(generate(spec.name, job, True, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "single"), kept_by(request, last))


@answers(OUTPUTS, STATUS)
def rerender(last: Kept | None = None, strength: float = DEFAULT_STRENGTH, truncation: float | None = None,
             fps: int = DEFAULT_FPS, progress=gr.Progress(), request: gr.Request = None):
    """Re-render this session's last clip (of the page, or of one gradio_client) with another strength, ψ or fps,
    from its motion: no CLIP, fitting or motion model runs again. Not over MCP: call animate again there.

    Args:
        strength: how much motion, a number from -10 to 10 (0: the still face, negative: the opposite motion)
        truncation: ψ, a number from 0 to 1 (lower: more typical faces); empty: the clip's own ψ
        fps: frames per second of the video, a whole number from 1 to 60

    Returns:
        the same values as animate: the MP4, the GIF, the last frame, the strip, the motion, the status, the crop
    """
    if session_of(request) is None:
        raise LganimError("Re-rendering needs the clip of your own session, which MCP calls do not have: call "
                          "animate again with the new strength, ψ or fps.")
    if last is None or last.value is None:
        raise LganimError("Nothing to re-render yet: animate a clip first (the sliders then re-render it).")
    with closing(regenerate(last.value, strength, truncation, fps, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "single"), last)


def rerender_if_any(last: Kept, strength, truncation, fps, progress=gr.Progress(), request: gr.Request = None):
    """What a released slider runs: a re-render when there is a clip, else nothing."""
    if last.value is None:
        yield (gr.skip(),) * OUTPUTS
        return
    yield from rerender(last, strength, truncation, fps, progress, request)


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def build(domain: gr.Dropdown) -> dict:
    """The tab (inside the page's Tabs); returns the components other tabs and the page wire to. The examples sit
    above the button, in the first screen, so that pressing one leaves the page where the results are."""
    with gr.Tab("One clip", id="single"):
        last = gr.State(Kept())                               # the last clip of this session (each its own copy)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=170, elem_id="photo",
                                 label="Photo of a face (optional)")
                with gr.Row(equal_height=False, elem_classes="seed-row"):
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="seed", scale=4)
                    dice = gr.Button("Random face", scale=1, size="sm", min_width=110)
                prompt = gr.Textbox(DEFAULT_PROMPT, label="Prompt", lines=2, elem_id="prompt",
                                    info='A sentence, or a sequence: "The person is smiling; then winking."')
                gr.Examples(EXAMPLES, inputs=[image, prompt], example_labels=EXAMPLE_LABELS, elem_id="examples-single",
                            label="Try these (one click fills the face and the prompt)")
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
                                     label="Status", elem_classes="status-line")
                with gr.Row(equal_height=False):
                    video = gr.Video(label="Video (MP4)", interactive=False, autoplay=True, loop=True, height=300,
                                     elem_id="video")
                    live = gr.Image(label="Live frames", type="numpy", interactive=False, height=300,
                                    elem_id="live-frame")
                with gr.Row(equal_height=False):
                    aligned = gr.Image(label="Aligned face (what is animated)", type="numpy", interactive=False,
                                       height=160, elem_id="aligned", min_width=240)
                    gif = gr.File(label="GIF", interactive=False, elem_id="gif", height=160, min_width=240)
                strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="strip")
                plot = gr.LinePlot(x="frame", y="distance", color="curve", label="Motion over time",
                                   caption="How far the face moved from frame 0, per layer group (RMS of Δw)",
                                   x_title="frame",
                                   y_title="distance from frame 0", color_title="layer group", elem_id="plot")

        single_out = [video, gif, live, strip, plot, status, aligned]
        single = go.click(animate, inputs=[image, domain, seed, prompt, num_frames, fps, strength, truncation,
                                           schedule, last], outputs=single_out, api_name="animate", preprocess=False,
                          show_progress="minimal", show_progress_on=[status])
        api = gr.Button(visible=False)                        # /rerender for API clients: says when there is no clip
        again = [api.click(rerender, inputs=[last, strength, truncation, fps], outputs=single_out,
                           api_name="rerender", preprocess=False, show_progress="minimal", show_progress_on=[status])]
        again += [event(rerender_if_any, inputs=[last, strength, truncation, fps], outputs=single_out,
                        preprocess=False, show_progress="minimal", show_progress_on=[status],
                        trigger_mode="always_last", api_visibility="private")
                  for event in (strength.release, truncation.submit, fps.release)]
        # Cancel: gradio stops the request first, then the status says where the server stopped (its own event,
        # after: an event with `cancels` runs its function before it cancels)
        stop.click(None, cancels=[single, *again], queue=False, api_visibility="private")
        stop.click(canceller("single"), outputs=[status, live], queue=False, api_visibility="private")
        dice.click(random_seed, outputs=seed, queue=False, api_visibility="private")
        paper.input(lambda chosen: chosen or gr.skip(), inputs=paper, outputs=prompt, queue=False,
                    api_visibility="private")
    return {"truncation": truncation, "seed": seed, "image": image, "prompt": prompt}


__all__ = ["animate", "rerender", "build"]
