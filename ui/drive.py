"""The Drive tab: a face (photo or seed) follows a driving video (upload or webcam) — the FaceAnime row.

API: /drive (image, domain, seed, driving_video, region, pose_scale, expression_scale, smooth, fps, prompt) ->
(video with the driving sound, driving video beside it, live frame, [track.json, track.csv], channels over time,
status). fps 0: the driving video's own frame times (one output frame per driving frame).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import gradio as gr

from lganim.config import MAX_FPS, MAX_SEED, REGIONS
from lganim.request import DriveRequest, Driving

from . import jobs
from .common import answers, cancelled, drive, lines, optional_prompt, reporter, upload
from .handoff import from_edit_note
from .models import checked_domain

EXAMPLE_VIDEO = str(Path(__file__).resolve().parents[1] / "examples" / "driving.mp4")
EXAMPLE_PHOTO = str(Path(__file__).resolve().parents[1] / "examples" / "astronaut.png")
OUTPUTS = 6                                           # video, side by side, live, tracks, curves, status
STATUS = 5


def outputs(updates: Iterator[jobs.Update]):
    """(video, side by side, live frame, track files, curves, status) per update."""
    for u in updates:
        yield (str(u.videos[0]) if u.videos else gr.skip(),
               str(u.side_by_side) if u.side_by_side else gr.skip(),
               u.live if u.live is not None else gr.skip(),
               [str(p) for p in u.tracks] if u.tracks else gr.skip(),
               lines(u.curves, "t", "value", "channel"), u.status)


def driven(domain, request: DriveRequest, progress):
    """Run a driven face (refused before anything loads if the domain cannot serve it); its outputs per update."""
    spec = checked_domain(domain, request.as_request(1, 1))
    yield (None, None, None, None, gr.skip(), "Starting…")
    with closing(drive(spec.name, request, reporter(progress))) as updates:
        yield from outputs(updates)


@answers(OUTPUTS, STATUS)
def drive_face(image=None, domain: str = "demo", seed: int = 0, driving_video=None, region: str = "all",
               pose_scale: float = 1.0, expression_scale: float = 1.0, smooth: float = 0.0, fps: int = 0,
               prompt: str = "", start=None, progress=gr.Progress()):
    """The face follows the driving video's head pose and expression, relative to its first frame; the video's
    sound is kept. fps 0: one output frame per driving frame, at its times. start: an edit to start from (the
    session's, from the Edit tab's "Drive from here"; never an API input) instead of the seed or photo."""
    driving = Driving(kind="video", source=upload(driving_video, "driving_video", "video"), region=region,
                      pose_scale=pose_scale, expression_scale=expression_scale, smooth=smooth)
    request = DriveRequest(driving=driving, seed=seed, image=upload(image), fps=fps or None,
                           prompt=optional_prompt(prompt), start=start)
    yield from driven(domain, request, progress)


def build(domain: gr.Dropdown) -> dict:
    """The tab's widgets and its event (inside the page's Tabs). Returns what the Edit tab hands a face to: "start"
    (the edit this tab starts from, a gr.State; None: the seed or photo) and "note" (says so)."""
    with gr.Tab("Drive", id="drive"):
        start = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                with gr.Row():
                    video = gr.Video(EXAMPLE_VIDEO, sources=["upload", "webcam"], label="Driving video",
                                     height=180, elem_id="drive-video")
                    image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=180,
                                     label="Photo (optional)", elem_id="drive-photo")
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="drive-seed")
                    fps = gr.Slider(0, MAX_FPS, 0, step=1, precision=0, label="Frames per second",
                                    info="0: the driving video's own", elem_id="drive-fps")
                note = from_edit_note(seed, image, start, "drive-from-edit")
                with gr.Row():
                    go = gr.Button("Drive", variant="primary", elem_id="drive-go")
                    stop = gr.Button("Cancel", variant="stop", elem_id="drive-cancel")
                region = gr.Radio(list(REGIONS), value="all", label="What drives the face", elem_id="drive-region")
                with gr.Accordion("Settings", open=False):
                    pose = gr.Slider(0, 2, 1.0, step=0.1, label="Pose scale")
                    expression = gr.Slider(0, 2, 1.0, step=0.1, label="Expression scale")
                    smooth = gr.Slider(0, 1, 0.2, step=0.05, label="Smoothing (against jitter)")
                    prompt = gr.Textbox("", label="Language-guided motion on top (optional)",
                                        placeholder="The person is smiling.")
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("The face follows the driving video's head pose and expression; roll, shift "
                                     "and scale move it. Press **Drive** (an example video is loaded).",
                                     elem_id="drive-status", label="Status")
                with gr.Row(equal_height=False):
                    result = gr.Video(label="Result", interactive=False, autoplay=True,
                                      height=280, elem_id="drive-result")
                    live = gr.Image(label="Live frames", type="numpy", interactive=False, height=280,
                                    elem_id="drive-live")
                beside = gr.Video(label="Driving video | result", interactive=False, height=220,
                                  elem_id="drive-side-by-side")
                tracks = gr.File(label="Motion track (JSON, CSV)", file_count="multiple", interactive=False)
                plot = gr.LinePlot(x="t", y="value", color="channel", label="Channels over time", x_title="time (s)",
                                   color_title="channel", elem_id="drive-plot")
        gr.Examples([[EXAMPLE_VIDEO, None], [EXAMPLE_VIDEO, EXAMPLE_PHOTO]], inputs=[video, image],
                    label="Try these")
        event = go.click(drive_face, inputs=[image, domain, seed, video, region, pose, expression, smooth, fps, prompt,
                                             start],
                         outputs=[result, beside, live, tracks, plot, status], api_name="drive", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        stop.click(cancelled, inputs=[status], outputs=[status], cancels=[event], queue=False,
                   api_visibility="private")
    return {"start": start, "note": note}


__all__ = ["drive_face", "build"]
