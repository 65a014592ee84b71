"""The Drive tab: a face (photo or seed) follows a driving video (upload or webcam) — the FaceAnime row.

API: /drive (image, domain, seed, driving_video, region, pose_scale, expression_scale, smooth, fps, prompt) ->
(MP4 with the driving sound, [track.json, track.csv], channels over time, status).
"""
from __future__ import annotations

from contextlib import closing

import gradio as gr

from lganim.config import MAX_SEED, REGIONS
from lganim.request import DriveRequest, Driving

from .common import drive, lines, reporter, upload, user_errors
from .models import checked_domain


def outputs(updates):
    """(MP4, track files, curves, status) per update."""
    for u in updates:
        yield (str(u.videos[0]) if u.videos else None, [str(p) for p in u.tracks] if u.tracks else None,
               lines(u.curves), u.status)


def optional_prompt(prompt):
    """A prompt field: empty means none (anything that is not text is left for the request to refuse)."""
    return None if prompt is None or (isinstance(prompt, str) and not prompt.strip()) else prompt


def driven(domain, request: DriveRequest, progress):
    """Run a driven face (refused before anything loads if the domain cannot serve it); its outputs per update."""
    spec = checked_domain(domain, request.face(1, 1))
    with closing(drive(spec.name, request, reporter(progress))) as updates:
        yield from outputs(updates)


def drive_face(image=None, domain: str = "demo", seed: int = 0, driving_video=None, region: str = "all",
               pose_scale: float = 1.0, expression_scale: float = 1.0, smooth: float = 0.0, fps: int = 25,
               prompt: str = "", progress=gr.Progress()):
    """The face follows the driving video's head pose and expression, relative to its first frame; the video's
    sound is kept. Returns (MP4, track files, channels over time, status)."""
    with user_errors():
        driving = Driving("video", upload(driving_video, "driving_video", "video"), region=region,
                          pose_scale=pose_scale, expression_scale=expression_scale, smooth=smooth)
        request = DriveRequest(driving, seed, upload(image), fps, optional_prompt(prompt))
        yield from driven(domain, request, progress)


def build(domain: gr.Dropdown) -> None:
    """The tab's widgets and its event (inside the page's Tabs)."""
    with gr.Tab("Drive", id="drive"):
        gr.Markdown("The face follows a driving video: head pose and expression through control directions found "
                    "in the generator itself; roll, shift and scale move the face. The driving sound is kept.")
        with gr.Row():
            image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=180, label="Photo (optional)",
                             elem_id="drive-photo")
            video = gr.Video(sources=["upload", "webcam"], label="Driving video (one face)", height=180,
                             elem_id="drive-video")
        with gr.Row():
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)", elem_id="drive-seed")
            region = gr.Radio(list(REGIONS), value="all", label="What drives the face", elem_id="drive-region")
        with gr.Row():
            pose = gr.Slider(0, 2, 1.0, step=0.1, label="Pose scale")
            expression = gr.Slider(0, 2, 1.0, step=0.1, label="Expression scale")
            smooth = gr.Slider(0, 1, 0.2, step=0.05, label="Smoothing (against jitter)")
            fps = gr.Slider(1, 60, 25, step=1, label="Frames per second")
        prompt = gr.Textbox("", label="Language-guided motion on top (optional)", placeholder="The person is smiling.")
        with gr.Row():
            go = gr.Button("Drive", variant="primary", elem_id="drive-go")
            stop = gr.Button("Cancel", variant="stop")
        status = gr.Markdown("", elem_id="drive-status")
        with gr.Row():
            result = gr.Video(label="Result (with sound)", interactive=False, elem_id="drive-result")
            tracks = gr.File(label="Motion track (JSON, CSV)", file_count="multiple", interactive=False)
        plot = gr.LinePlot(x="t", y="value", color="channel", label="Channels over time", height=220)
        event = go.click(drive_face, inputs=[image, domain, seed, video, region, pose, expression, smooth, fps, prompt],
                         outputs=[result, tracks, plot, status], api_name="drive", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        stop.click(None, cancels=[event])
