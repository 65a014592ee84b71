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
from .common import answers, canceller, drive, lines, optional_prompt, reporter, tracked, upload
from .handoff import from_edit_note
from .models import checked_domain

EXAMPLE_VIDEO = str(Path(__file__).resolve().parents[1] / "examples" / "driving.mp4")
EXAMPLE_PHOTO = str(Path(__file__).resolve().parents[1] / "examples" / "astronaut.png")
OUTPUTS = 6                                           # video, side by side, live, tracks, curves, status
STATUS = 5
CLEARED = (None, None, None, None, None, "Starting…")   # nothing of the last clip is left on the page
EXAMPLES = [[EXAMPLE_VIDEO, None], [EXAMPLE_VIDEO, EXAMPLE_PHOTO]]
EXAMPLE_LABELS = ["Driving video · seed's face", "Driving video · photo"]


def outputs(updates: Iterator[jobs.Update]):
    """(video, side by side, live frame, track files, curves, status) per update; the updates with the results hold
    every value (None where there is none)."""
    for u in updates:
        if u.videos:
            yield (str(u.videos[0]), str(u.side_by_side) if u.side_by_side else None, u.live,
                   [str(p) for p in u.tracks] if u.tracks else None, lines(u.curves),
                   u.status)
        else:
            yield gr.skip(), gr.skip(), u.live if u.live is not None else gr.skip(), gr.skip(), gr.skip(), u.status


def driven(domain, job: DriveRequest, progress, request: gr.Request | None):
    """Run a driven face (refused before anything loads if the domain cannot serve it); its outputs per update."""
    spec = checked_domain(domain, job.as_request(1, 1))
    yield CLEARED
    with closing(drive(spec.name, job, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "drive"))


@answers(OUTPUTS, STATUS)
def drive_face(image=None, domain: str = "demo", seed: int = 0, driving_video=None, region: str = "all",
               pose_scale: float = 1.0, expression_scale: float = 1.0, smooth: float = 0.0, fps: int = 0,
               prompt: str = "", start=None, progress=gr.Progress(), request: gr.Request = None):
    """Drive a face with a video: the face follows the driving video's head pose and expression (relative to its
    first frame), with the video's sound. start: an edit to start from (the session's, from the Edit tab's "Drive
    from here"; never an API input) instead of the seed or photo.

    Args:
        image: optional photo of a face uploaded to this app, by its URL here (human and demo domains)
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seed: the face when no photo is given, a whole number from 0 to 4294967295 (each seed is another face)
        driving_video: a video of a face (at most 600 s) or a track file, uploaded to this app, by its URL here
        region: what drives the face: all, pose (yaw, pitch), expression, lips, or eyes (eyes and brows)
        pose_scale: how much of the head's turns the face copies, a number from -10 to 10 (1: as they are)
        expression_scale: how much of the expression the face copies, a number from -10 to 10 (1: as it is)
        smooth: smoothing against jitter, a number from 0 to 1 (0: none, 1: the steadiest, but later)
        fps: frames per second of the result, a whole number from 1 to 60; 0: the driving video's own frame times
        prompt: optional English sentence whose motion is added on top ("The person is smiling.")

    Returns:
        the MP4 of the driven face, with the driving video's sound
        the driving video and the result side by side (MP4)
        the last frame
        the motion track that drove the face, as JSON and CSV files
        the track's channels over time
        a one-line status
    """
    driving = Driving(kind="video", source=upload(driving_video, "driving_video", "video"), region=region,
                      pose_scale=pose_scale, expression_scale=expression_scale, smooth=smooth)
    job = DriveRequest(driving=driving, seed=seed, image=upload(image), fps=fps or None,
                       prompt=optional_prompt(prompt), start=start)
    yield from driven(domain, job, progress, request)


def build(domain: gr.Dropdown) -> dict:
    """The tab's widgets and its event (inside the page's Tabs). Returns what the Edit tab hands a face to: "start"
    (the edit this tab starts from, a gr.State; None: the seed or photo) and "note" (says so). The examples sit
    above the buttons, in the first screen."""
    with gr.Tab("Drive", id="drive"):
        start = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                with gr.Row():                            # side by side; on a phone one above the other
                    video = gr.Video(EXAMPLE_VIDEO, sources=["upload", "webcam"], label="Driving video",
                                     height=180, elem_id="drive-video", min_width=240)
                    image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=180,
                                     label="Photo (optional)", elem_id="drive-photo", min_width=240)
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="drive-seed")
                    fps = gr.Slider(0, MAX_FPS, 0, step=1, precision=0, label="Frames per second",
                                    info="0: the driving video's own", elem_id="drive-fps")
                note = from_edit_note(seed, image, start, "drive-from-edit")
                gr.Examples(EXAMPLES, inputs=[video, image], example_labels=EXAMPLE_LABELS, elem_id="examples-drive",
                            label="Try these")
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
                                     elem_id="drive-status", label="Status", elem_classes="status-line")
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
        event = go.click(drive_face, inputs=[image, domain, seed, video, region, pose, expression, smooth, fps, prompt,
                                             start],
                         outputs=[result, beside, live, tracks, plot, status], api_name="drive", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        # Cancel: gradio stops the request first, then the status says where the server stopped (its own event,
        # after: an event with `cancels` runs its function before it cancels)
        stop.click(None, cancels=[event], queue=False, api_visibility="private")
        stop.click(canceller("drive"), outputs=[status, live], queue=False, api_visibility="private")
    return {"start": start, "note": note}


__all__ = ["drive_face", "build"]
