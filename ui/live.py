"""The Live tab: the browser's webcam puppeteers a face (photo or seed) frame by frame (lganim.live), with the region
and the scales of the Drive tab; the frames per second and the latency measured on the server beside the puppet;
"Start a clip" / "Stop and save" keeps what the puppet shows as an MP4 and the session's motion track (JSON, CSV,
replayable in the Drive tab).

Transport: Gradio's own streaming webcam (`gr.Image(sources=["webcam"], streaming=True)` + `.stream(...)`): the
page grabs a JPEG from the camera every LIVE_STREAM_EVERY seconds, but only once the previous frame has come back,
so a slow machine gets fewer frames, never a growing backlog; a stream ends after LIVE_TIME_LIMIT seconds (the
camera's own ● Record button starts it again: gradio's name for starting the view; the tab's own button is named for
what it does, "Start a clip"). docs/driving.md ("Live") says why not FastRTC's WebRTC component.

ZeroGPU lends its GPU one call at a time, to a forked worker: a stream of frames cannot hold it, so there the tab
says so and refuses to start (never a silent failure). No API endpoints: a stream belongs to one page.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from lganim.config import (
    DEFAULT_LIVE_SMOOTH,
    LIVE_RECORD_FPS,
    LIVE_STREAM_EVERY,
    LIVE_TIME_LIMIT,
    MAX_SEED,
    REGIONS,
)
from lganim.errors import LganimError
from lganim.live import LiveSession
from lganim.media.writers import Mp4Recorder
from lganim.request import LiveRequest

from . import zerogpu
from .common import ANIMATORS, FILES, answers, message_of, session_of, settings, upload
from .files import release, request_dir
from .models import checked_domain

ZERO_GPU_NOTE = ("Live puppeteering does not run on this ZeroGPU Space: ZeroGPU lends its GPU for one call at a time, "
                 "and a live camera is a call every few tens of milliseconds. Run the app on a machine of your own "
                 "(`python app.py`; 30 frames a second at 1024² wants a GPU), or record yourself with the webcam in "
                 "the Drive tab.")
ABOUT = ("Your webcam drives the face: head pose and expression through the control directions, roll, shift and "
         "scale move it. The first frame where your face is found is the neutral pose (**Re-centre** takes the "
         "next one); when it is lost, the pose is held, then eases back within a second. Frames per second and "
         "latency are measured on the server.")


@dataclass
class LiveState:
    """One page's live session and its recording (kept in the page's gr.State)."""

    key: tuple | None = None                   # what the session was made for: domain, face, smoothing
    session: LiveSession | None = None
    recorder: Mp4Recorder | None = None
    folder: Path | None = None                 # the recording's request folder
    after: float | None = None                 # the session time the recording started after
    started: float = 0.0                       # the clock when the recording started
    lock: threading.Lock = field(default_factory=threading.Lock)


def speed_line(session: LiveSession) -> str:
    """What the page shows beside the puppet: frames per second, latency, whether the face is found."""
    stats = session.stats()
    if stats["latency_ms"] is None or stats["fps"] is None:
        return "Starting…"
    face = "face found" if session.found else "no face: holding the pose, then easing back to neutral"
    return (f"**{stats['fps']:.1f} frames/s** · latency {stats['latency_ms']['p50']:.0f} ms (median), "
            f"{stats['latency_ms']['p95']:.0f} ms (95 %) · {face} · {session.anim.domain.name} on "
            f"{session.anim.device}")


FAILED: dict[str | None, str] = {}      # session -> the error its camera's frames last met (a toast once)


def live_frame(frame, state: LiveState | None, domain: str = "demo", seed: int = 0, photo=None, region: str = "all",
               pose_scale: float = 1.0, expression_scale: float = 1.0, smooth: float = DEFAULT_LIVE_SMOOTH,
               request: gr.Request = None):
    """One camera frame (uint8 [H, W, 3]) -> (the puppet's frame, the speed line, the state). A plain function, not a
    generator (a stream's frame returns at once). An error is one `gr.Error` line, the speed line says it
    (`stream_failed`); the camera goes on sending frames, so the same error again is said in the speed line only,
    not as a toast a frame."""
    session = session_of(request)
    try:
        answer = puppet_frame(frame, state, domain, seed, photo, region, pose_scale, expression_scale, smooth)
    except Exception as e:
        message = message_of(e, live_frame)
        if FAILED.get(session) == message:
            return gr.skip(), f"⚠️ {message}", state
        FAILED[session] = message
        raise gr.Error(message, print_exception=False) from None
    FAILED.pop(session, None)
    return answer


def stream_failed(request: gr.Request = None) -> str:
    """The speed line once a frame failed: the error's line (the toast says it too)."""
    return f"⚠️ {FAILED.get(session_of(request), 'The live view stopped.')}"


def puppet_frame(frame, state: LiveState | None, domain: str, seed: int, photo, region: str, pose_scale: float,
                 expression_scale: float, smooth: float):
    """`live_frame`'s work: the session (a new one for another face) steps one frame."""
    if zerogpu.on_zero_gpu():
        raise LganimError(ZERO_GPU_NOTE)
    if frame is None:
        return gr.skip(), gr.skip(), state
    request = LiveRequest(seed=seed, image=upload(None if photo is None else {"path": photo}, "photo"),
                          region=region, pose_scale=pose_scale, expression_scale=expression_scale, smooth=smooth)
    spec = checked_domain(domain, request.as_request())
    state = state or LiveState()
    with state.lock:
        key = (spec.name, request.seed, str(request.image), request.smooth)
        if state.key != key:                    # another face: a new session (a recording of the old one ends)
            if state.recorder is not None:
                state.recorder.abort()
                state.recorder = None
                release(state.folder)
            state.session, state.key = ANIMATORS.get(spec.name).live(request), key
        else:
            state.session.set_drive(region=request.region, pose_scale=request.pose_scale,
                                    expression_scale=request.expression_scale)
        shown = state.session.step(frame)
        if state.recorder is not None:
            state.recorder.add(shown, time.monotonic())
        return shown, speed_line(state.session), state


START_CLIP, STOP_CLIP = "Start a clip", "Stop and save the clip"


@answers(4, 2)
def record(state: LiveState | None):
    """Start a clip, or stop and save it: (the button's label, the files, the status, the state)."""
    if state is None or state.session is None:
        raise LganimError("Start the camera first: a recording saves what the Live view shows.")
    with state.lock:
        if state.recorder is None:
            limits = settings()
            state.folder = request_dir(FILES, max_age=limits.files_seconds, total=limits.disk_bytes,
                                       needed=limits.request_bytes)
            state.recorder = Mp4Recorder(state.folder / "live.mp4", LIVE_RECORD_FPS, max_bytes=limits.request_bytes)
            state.after, state.started = state.session.last_time, time.monotonic()
            return gr.update(value=STOP_CLIP), None, f"Keeping what the puppet shows… ({STOP_CLIP} ends it)", state
        recorder, state.recorder = state.recorder, None
        try:
            mp4, frames = recorder.close()
            track = state.session.track(after=state.after)
            files = [mp4, track.save(state.folder / "live.json"), track.save(state.folder / "live.csv")]
        finally:
            release(state.folder)
        status = (f"Saved {frames} frames ({frames / LIVE_RECORD_FPS:.1f} s at {LIVE_RECORD_FPS} fps) and the "
                  f"track ({len(track)} samples): replay it in the Drive tab.")
        return gr.update(value=START_CLIP), [str(f) for f in files], status, state


def recentre(state: LiveState | None):
    """The next frame where the face is found becomes the neutral pose."""
    if state is not None and state.session is not None:
        state.session.recentre()
    return "Re-centred: the next frame with your face is the neutral pose."


def build(domain: gr.Dropdown) -> None:
    """The tab's widgets and events (inside the page's Tabs): the camera and the face's settings on the left, the
    puppet, its speed and the recording on the right."""
    with gr.Tab("Live", id="live"):
        gr.Markdown(f"⚠️ {ZERO_GPU_NOTE}", visible=zerogpu.on_zero_gpu(), elem_id="live-zerogpu")
        state = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Your camera", height=260,
                                  webcam_options=gr.WebcamOptions(mirror=True,
                                                                  constraints={"video": {"width": 640,
                                                                                         "height": 480}}),
                                  elem_id="live-camera")
                with gr.Row():
                    photo = gr.Image(type="filepath", sources=["upload", "clipboard"], height=150,
                                     label="Photo (optional)", elem_id="live-photo", min_width=160)
                    with gr.Column(min_width=160):
                        seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                         elem_id="live-seed")
                        centre = gr.Button("Re-centre", elem_id="live-recentre")
                region = gr.Radio(list(REGIONS), value="all", label="What drives the face", elem_id="live-region")
                with gr.Accordion("Scales and smoothing", open=False):
                    pose = gr.Slider(0, 2, 1.0, step=0.1, label="Pose scale")
                    expression = gr.Slider(0, 2, 1.0, step=0.1, label="Expression scale")
                    smooth = gr.Slider(0, 1, DEFAULT_LIVE_SMOOTH, step=0.05, label="Smoothing (steadier, but later)")
            with gr.Column(scale=6, min_width=320):
                speed = gr.Markdown("Start the camera: allow it, then press ● Record under its picture (that starts "
                                    "the puppet; **Start a clip** keeps what it shows). " + ABOUT, elem_id="live-speed",
                                    elem_classes="status-line")
                puppet = gr.Image(label="The puppet", type="numpy", format="jpeg", interactive=False, height=300,
                                  elem_id="live-puppet")
                go = gr.Button(START_CLIP, variant="primary", elem_id="live-record")
                status = gr.Markdown("", elem_id="live-status", elem_classes="status-line")
                files = gr.File(label="Recording: MP4 and motion track (JSON, CSV)", file_count="multiple",
                                interactive=False, elem_id="live-files", height=140)
        camera.stream(live_frame, inputs=[camera, state, domain, seed, photo, region, pose, expression, smooth],
                      outputs=[puppet, speed, state], stream_every=LIVE_STREAM_EVERY, time_limit=LIVE_TIME_LIMIT,
                      show_progress="hidden", api_visibility="private").failure(
            stream_failed, outputs=[speed], queue=False, api_visibility="private", show_progress="hidden")
        go.click(record, inputs=[state], outputs=[go, files, status, state], api_visibility="private",
                 show_progress="minimal", show_progress_on=[status])
        centre.click(recentre, inputs=[state], outputs=[status], api_visibility="private")


__all__ = ["LiveState", "live_frame", "stream_failed", "record", "recentre", "speed_line", "build",
           "ZERO_GPU_NOTE", "START_CLIP", "STOP_CLIP"]
