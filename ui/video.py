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
from .common import answers, canceller, optional_prompt, reporter, tracked, upload

EXAMPLE_VIDEO = str(Path(__file__).resolve().parents[1] / "examples" / "driving.mp4")
OUTPUTS, STATUS = 4, 3                  # (edited video, side by side, live frame, status) and where the status is
CLEARED = (None, None, None, "Starting…")   # nothing of the last video is left on the page
EXAMPLES = [[EXAMPLE_VIDEO, DEFAULT_PROMPT], [EXAMPLE_VIDEO, "The person is surprised; then smiling."]]
EXAMPLE_LABELS = ["Example clip · smiling", "Example clip · surprised, then smiling"]
SLIDER_STEPS = 100                      # steps across a channel's range


def outputs(updates: Iterator[jobs.Update]):
    """(edited video, original | edited video, live frame, status) per update; the updates with the results hold
    every value (None where there is none)."""
    for u in updates:
        if u.videos:
            yield str(u.videos[0]), str(u.side_by_side) if u.side_by_side else None, u.live, u.status
        else:
            yield gr.skip(), gr.skip(), u.live if u.live is not None else gr.skip(), u.status


@answers(OUTPUTS, STATUS)
def edit_video(video=None, domain: str = "demo", prompt: str = DEFAULT_PROMPT, strength: float = 1.0,
               start: float | None = None, end: float | None = None, face: int = 0, yaw: float = 0.0,
               pitch: float = 0.0, mouth_open: float = 0.0, mouth_wide: float = 0.0, smile: float = 0.0,
               eye_l: float = 0.0, eye_r: float = 0.0, brow: float = 0.0, progress=gr.Progress(),
               request: gr.Request = None):
    """Edit the face of a video with a sentence: every frame's face takes the sentence's expression (and the
    controls' constant offsets), pasted back into the frame; the head motion, mouth, blinks, background, frame times
    and sound stay. A one-frame preview (original | edited) comes before the whole video.

    Args:
        video: a video with a face (at most 600 s) uploaded to this app, by its URL here
        domain: which faces: human (FFHQ) or demo (untrained, offline); the others have no photo encoder
        prompt: an English sentence whose fitted expression the face takes ("The person is smiling."; "A; then B")
        strength: how much of the edit, a number from -10 to 10 (1: the full expression, 0: the video as it is)
        start: where the edit begins, seconds from the first frame, a number from 0 to 600; empty: the first frame
        end: where the edit ends, seconds from the first frame, a number from 0 to 600; empty: the last frame
        face: which face to follow when several are in view, a whole number from 0 to 1000 (0: the clearest)
        yaw: head turn in degrees, + toward the image's right; the domain's range, typically about -20 to 20
        pitch: head tilt up and down in degrees, + chin up; the domain's range, typically about -15 to 15
        mouth_open: lips apart, in inter-ocular distances from the neutral face; the domain's range, about ±0.4
        mouth_wide: mouth width, in inter-ocular distances from the neutral face; the domain's range, about ±0.2
        smile: mouth corners up, in inter-ocular distances from the neutral face; the domain's range, about ±0.1
        eye_l: left eye opening, in inter-ocular distances from the neutral face; the domain's range, about ±0.25
        eye_r: right eye opening, in inter-ocular distances from the neutral face; the domain's range, about ±0.25
        brow: brows raised, in inter-ocular distances from the neutral face; the domain's range, about ±0.1

    Returns:
        the edited video (MP4) with the video's own sound, every frame at its time
        the original and the edited video side by side (MP4)
        the last frame shown: original | edited
        a one-line status: frames, size, frame rate, and any scaling or frames without the face
    """
    controls = dict(yaw=yaw, pitch=pitch, mouth_open=mouth_open, mouth_wide=mouth_wide, smile=smile, eye_l=eye_l,
                    eye_r=eye_r, brow=brow)
    job = VideoEditRequest(video=upload(video, "video", "video"), prompt=optional_prompt(prompt),
                           controls={c: v for c, v in controls.items() if v}, strength=strength, start=start, end=end,
                           face_index=face)
    spec = get_domain(domain)
    if not spec.supports_photos:
        raise LganimError(f"The {spec.name} domain has no photo encoder, so it cannot edit the faces of a video: "
                          f"pick {', '.join(n for n, d in DOMAINS.items() if d.supports_photos)}.")
    yield CLEARED
    with closing(common.edit_video(spec.name, job, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "video"))


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
    """The tab's widgets and its event (inside the page's Tabs): inputs left, results right; the examples sit above
    the buttons, in the first screen."""
    with gr.Tab("Video", id="video"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                video = gr.Video(EXAMPLE_VIDEO, sources=["upload", "webcam"], label="Video with a face", height=180,
                                 elem_id="video-input")
                prompt = gr.Textbox(DEFAULT_PROMPT, label="Sentence (empty: the sliders only)",
                                    placeholder="The person is smiling; then surprised.", elem_id="video-prompt")
                gr.Examples(EXAMPLES, inputs=[video, prompt], example_labels=EXAMPLE_LABELS, elem_id="examples-video",
                            label="Try these")
                with gr.Row():
                    go = gr.Button("Edit the video", variant="primary", elem_id="video-go")
                    stop = gr.Button("Cancel", variant="stop", elem_id="video-cancel")
                strength = gr.Slider(-2.0, 2.0, 1.0, step=0.1, label="Strength", info="0: the video as it is",
                                     elem_id="video-strength")
                with gr.Accordion("Time range, face, sliders: constant offsets over the clip", open=False):
                    with gr.Row():
                        start = gr.Number(None, minimum=0, maximum=MAX_VIDEO_SECONDS, label="From (s)",
                                          info="empty: the start", elem_id="video-start", min_width=100)
                        end = gr.Number(None, minimum=0, maximum=MAX_VIDEO_SECONDS, label="To (s)",
                                        info="empty: the end", elem_id="video-end", min_width=100)
                        face = gr.Number(0, precision=0, minimum=0, maximum=1000, label="Face",
                                         info="0: the clearest", elem_id="video-face", min_width=100)
                    controls = [gr.Slider(lo, hi, 0.0, step=step, label=c, info=CHANNELS[c], elem_id=f"video-{c}")
                                for c, (lo, hi, step) in ranges(domain.value).items()]
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("The face of the video takes the sentence's expression in every frame; its head "
                                     "motion, mouth, blinks, background and sound stay. Press **Edit the video** (an "
                                     "example clip is loaded).", elem_id="video-status", label="Status",
                                     elem_classes="status-line")
                with gr.Row(equal_height=False):
                    result = gr.Video(label="Edited video", interactive=False, autoplay=True, height=280,
                                      elem_id="video-result")
                    live = gr.Image(label="Original | edited (a preview first, then every frame)", type="numpy",
                                    interactive=False, height=280, elem_id="video-live")
                beside = gr.Video(label="Original | edited", interactive=False, height=220,
                                  elem_id="video-side-by-side")
        event = go.click(edit_video, inputs=[video, domain, prompt, strength, start, end, face, *controls],
                         outputs=[result, beside, live, status], api_name="edit_video", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        # Cancel: gradio stops the request first, then the status says where the server stopped (its own event,
        # after: an event with `cancels` runs its function before it cancels)
        stop.click(None, cancels=[event], queue=False, api_visibility="private")
        stop.click(canceller("video"), outputs=[status, live], queue=False, api_visibility="private")
        domain.change(new_domain, inputs=domain, outputs=controls, queue=False, api_visibility="private")


__all__ = ["edit_video", "ranges", "new_domain", "build"]
