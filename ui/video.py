"""The Video tab: a sentence (or control offsets: the Edit tab's sliders) on the face of an existing video — the
same frames, times and sound, the face edited in every frame and pasted back, the background untouched.

Tracking and the prompt's fit report their progress, a one-frame preview (original | edited) comes first, then the
frames stream beside their originals while the MP4 is written, then the original and the edited video side by side.

API: /edit_video (video, domain, prompt, strength, start, end, face, yaw, pitch, mouth_open, mouth_wide, smile,
eye_l, eye_r, brow) -> (edited video with the video's sound, original | edited video, live frame: original |
edited, status). start/end: seconds from the first frame (empty: the whole video); a control left out is 0.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import gradio as gr

from lganim.config import CHANNELS, DEFAULT_PROMPT, DRIVEN_CHANNELS, MAX_VIDEO_SECONDS
from lganim.edit import cached_ranges
from lganim.errors import LganimError
from lganim.request import VideoEditRequest
from lganim.weights.registry import DOMAINS, get_domain

from . import common, jobs
from .common import answers, cancelled, optional_prompt, reporter, upload

EXAMPLE_VIDEO = str(Path(__file__).resolve().parents[1] / "examples" / "driving.mp4")
OUTPUTS, STATUS = 4, 3                  # (edited video, side by side, live frame, status) and where the status is
SLIDER_STEPS = 100                      # steps across a channel's range


def outputs(updates: Iterator[jobs.Update]):
    """(edited video, original | edited video, live frame, status) per update."""
    for u in updates:
        yield (str(u.videos[0]) if u.videos else gr.skip(), str(u.side_by_side) if u.side_by_side else gr.skip(),
               u.live if u.live is not None else gr.skip(), u.status)


@answers(OUTPUTS, STATUS)
def edit_video(video=None, domain: str = "demo", prompt: str = DEFAULT_PROMPT, strength: float = 1.0,
               start: float | None = None, end: float | None = None, face: int = 0, yaw: float = 0.0,
               pitch: float = 0.0, mouth_open: float = 0.0, mouth_wide: float = 0.0, smile: float = 0.0,
               eye_l: float = 0.0, eye_r: float = 0.0, brow: float = 0.0, progress=gr.Progress()):
    """The video's face edited in every frame by the prompt's fitted expression (empty: none) and the controls'
    constant offsets (each in its unit, 0 leaves it), `strength` times, between `start` and `end` seconds (empty:
    the whole video); `face`: which face when several are in view (0: the clearest). The sound is kept."""
    controls = dict(yaw=yaw, pitch=pitch, mouth_open=mouth_open, mouth_wide=mouth_wide, smile=smile, eye_l=eye_l,
                    eye_r=eye_r, brow=brow)
    request = VideoEditRequest(video=upload(video, "video", "video"), prompt=optional_prompt(prompt),
                               controls={c: v for c, v in controls.items() if v}, strength=strength, start=start,
                               end=end, face_index=face)
    spec = get_domain(domain)
    if not spec.supports_photos:
        raise LganimError(f"The {spec.name} domain has no photo encoder, so it cannot edit the faces of a video: "
                          f"pick {', '.join(n for n, d in DOMAINS.items() if d.supports_photos)}.")
    yield (None, None, None, "Starting…")
    with closing(common.edit_video(spec.name, request, reporter(progress))) as updates:
        yield from outputs(updates)


def ranges(domain: str) -> dict[str, tuple[float, float, float]]:
    """(lo, hi, step) of each channel a video's face is edited with, in the domain's range (its cached
    calibration; no model loads)."""
    found = cached_ranges(get_domain(domain))
    return {c: (found[c].lo, found[c].hi, float(f"{(found[c].hi - found[c].lo) / SLIDER_STEPS:.1g}") or 1e-3)
            for c in DRIVEN_CHANNELS}


def new_domain(domain: str) -> list:
    """Another domain: its ranges, every slider at 0."""
    return [gr.update(minimum=lo, maximum=hi, step=step, value=0.0) for lo, hi, step in ranges(domain).values()]


def build(domain: gr.Dropdown) -> None:
    """The tab's widgets and its event (inside the page's Tabs): inputs left, results right."""
    with gr.Tab("Video", id="video"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                video = gr.Video(EXAMPLE_VIDEO, sources=["upload", "webcam"], label="Video with a face", height=200,
                                 elem_id="video-input")
                prompt = gr.Textbox(DEFAULT_PROMPT, label="Sentence (empty: the sliders only)",
                                    placeholder="The person is smiling; then surprised.", elem_id="video-prompt")
                with gr.Row():
                    go = gr.Button("Edit the video", variant="primary", elem_id="video-go")
                    stop = gr.Button("Cancel", variant="stop", elem_id="video-cancel")
                strength = gr.Slider(-2.0, 2.0, 1.0, step=0.1, label="Strength", info="0: the video as it is",
                                     elem_id="video-strength")
                with gr.Row():
                    start = gr.Number(None, minimum=0, maximum=MAX_VIDEO_SECONDS, label="From (s)",
                                      info="empty: the start", elem_id="video-start")
                    end = gr.Number(None, minimum=0, maximum=MAX_VIDEO_SECONDS, label="To (s)",
                                    info="empty: the end", elem_id="video-end")
                    face = gr.Number(0, precision=0, minimum=0, maximum=1000, label="Face",
                                     info="0: the clearest", elem_id="video-face")
                with gr.Accordion("Sliders: constant offsets over the clip", open=False):
                    controls = [gr.Slider(lo, hi, 0.0, step=step, label=c, info=CHANNELS[c], elem_id=f"video-{c}")
                                for c, (lo, hi, step) in ranges(domain.value).items()]
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("The face of the video takes the sentence's expression in every frame; its head "
                                     "motion, mouth, blinks, background and sound stay. Press **Edit the video** (an "
                                     "example clip is loaded).", elem_id="video-status", label="Status")
                live = gr.Image(label="Original | edited (a preview first, then every frame)", type="numpy",
                                interactive=False, height=260, elem_id="video-live")
                result = gr.Video(label="Edited video", interactive=False, autoplay=True, height=260,
                                  elem_id="video-result")
                beside = gr.Video(label="Original | edited", interactive=False, height=200,
                                  elem_id="video-side-by-side")
        gr.Examples([[EXAMPLE_VIDEO, DEFAULT_PROMPT], [EXAMPLE_VIDEO, "The person is surprised; then smiling."]],
                    inputs=[video, prompt], label="Try these")
        event = go.click(edit_video, inputs=[video, domain, prompt, strength, start, end, face, *controls],
                         outputs=[result, beside, live, status], api_name="edit_video", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        stop.click(cancelled, inputs=[status], outputs=[status], cancels=[event], queue=False,
                   api_visibility="private")
        domain.change(new_domain, inputs=domain, outputs=controls, queue=False, api_visibility="private")


__all__ = ["edit_video", "ranges", "new_domain", "build"]
