"""The Talk tab: a face (photo or seed) talks from audio (upload or microphone) or says a sentence (espeak-ng), in
the style of a reference video if one is given — the ERLNet row. The mouth follows the speech envelope (or the
phonemes of the synthesis): it is not phoneme-exact lip sync.

API: /talk (image, domain, seed, audio, text, voice, style_video, style_mode, pose_scale, expression_scale, still,
fps, prompt) -> (video with the sound, live frame, [track.json, track.csv], mouth opening and speech envelope,
status).
"""
from __future__ import annotations

from contextlib import closing
from pathlib import Path

import gradio as gr

from lganim.config import DEFAULT_DRIVEN_FPS, MAX_FPS, MAX_SEED, STYLE_MODES
from lganim.request import DriveRequest, Driving

from .common import answers, canceller, drive, lines, optional_prompt, reporter, tracked, upload
from .handoff import from_edit_note
from .models import checked_domain

EXAMPLE_SPEECH = str(Path(__file__).resolve().parents[1] / "examples" / "speech.wav")
VOICES = ("en", "en-us", "fr", "de", "es", "it")
OUTPUTS = 5                                           # video, live, tracks, curves, status
STATUS = 4
CLEARED = (None, None, None, None, "Starting…")         # nothing of the last clip is left on the page
EXAMPLES = [[EXAMPLE_SPEECH, ""], [None, "Hello there, how are you? I am a face that talks."]]
EXAMPLE_LABELS = ["Speech · seed's face", "Text to say · seed's face"]


def outputs(updates):
    """(video, live frame, track files, curves, status) per update; the updates with the results hold every
    value."""
    for u in updates:
        if u.videos:
            yield (str(u.videos[0]), u.live, [str(p) for p in u.tracks] if u.tracks else None,
                   lines(u.curves), u.status)
        else:
            yield gr.skip(), u.live if u.live is not None else gr.skip(), gr.skip(), gr.skip(), u.status


@answers(OUTPUTS, STATUS)
def talk(image=None, domain: str = "demo", seed: int = 0, audio=None, text: str = "", voice: str = "en",
         style_video=None, style_mode: str = "stats", pose_scale: float = 1.0, expression_scale: float = 1.0,
         still: bool = False, fps: int = DEFAULT_DRIVEN_FPS, prompt: str = "", start=None, progress=gr.Progress(),
         request: gr.Request = None):
    """Make a face talk: the face talks along with speech, or says typed text (espeak-ng), with blinks, nods and head
    sway; the mouth follows the speech envelope (not phoneme-exact lip sync). start: an edit to start from (the
    session's, from the Edit tab's "Talk from here"; never an API input) instead of the seed or photo.

    Args:
        image: optional photo of a face uploaded to this app, by its URL here (human and demo domains)
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seed: the face when no photo is given, a whole number from 0 to 4294967295 (each seed is another face)
        audio: speech (a sound file, at most 300 s) uploaded to this app, by its URL here; unused with text
        text: words to say instead of audio, at most 1000 characters (spoken by espeak-ng in the voice's language)
        voice: espeak-ng's voice for the text: en, en-us, fr, de, es or it (or another espeak-ng voice name)
        style_video: optional video of a person talking (at most 600 s) uploaded to this app, by its URL here
        style_mode: what the style video gives: stats (its amplitudes, rhythm, blinks) or copy (its head pose)
        pose_scale: how much head motion, a number from 0 to 10 (1: as the speech or style gives it)
        expression_scale: how much mouth and face motion, a number from 0 to 10 (1: as the speech gives it)
        still: true: the head stays still, only the face moves
        fps: frames per second of the video, a whole number from 1 to 60
        prompt: optional English sentence whose motion is added on top ("The person is smiling.")

    Returns:
        the MP4 of the talking face, with the sound
        the last frame
        the motion track that drove the face, as JSON and CSV files
        the mouth opening and the speech envelope over time
        a one-line status
    """
    text = text.strip() if isinstance(text, str) else ""
    sound = None if text else upload(audio, "audio", "audio")
    driving = Driving(kind="text" if text else "audio", source=sound, text=text, voice=voice, pose_scale=pose_scale,
                      expression_scale=expression_scale, style=upload(style_video, "style_video", "video"),
                      style_mode=style_mode, still=bool(still))
    job = DriveRequest(driving=driving, seed=seed, image=upload(image), fps=fps, prompt=optional_prompt(prompt),
                       start=start)
    spec = checked_domain(domain, job.as_request(1, 1))
    yield CLEARED
    with closing(drive(spec.name, job, reporter(progress))) as updates:
        yield from outputs(tracked(updates, request, "talk"))


def build(domain: gr.Dropdown) -> dict:
    """The tab's widgets and its event (inside the page's Tabs). Returns what the Edit tab hands a face to, as
    ui.drive.build does."""
    with gr.Tab("Talk", id="talk"):
        start = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                audio = gr.Audio(EXAMPLE_SPEECH, sources=["upload", "microphone"], type="filepath",
                                 label="Speech (≤ 5 minutes)", elem_id="talk-audio")
                text = gr.Textbox("", label="…or text to say (espeak-ng)", placeholder="Hello there, how are you?",
                                  elem_id="talk-text")
                with gr.Row():
                    image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=150,
                                     label="Photo (optional)", elem_id="talk-photo")
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="talk-seed")
                note = from_edit_note(seed, image, start, "talk-from-edit")
                gr.Examples(EXAMPLES, inputs=[audio, text], example_labels=EXAMPLE_LABELS, elem_id="examples-talk",
                            label="Try these")
                with gr.Row():
                    go = gr.Button("Talk", variant="primary", elem_id="talk-go")
                    stop = gr.Button("Cancel", variant="stop", elem_id="talk-cancel")
                with gr.Accordion("Settings", open=False):
                    voice = gr.Dropdown(list(VOICES), value="en", label="Voice", allow_custom_value=True)
                    fps = gr.Slider(1, MAX_FPS, DEFAULT_DRIVEN_FPS, step=1, precision=0, label="Frames per second")
                    style = gr.Video(sources=["upload", "webcam"], label="Style video (optional)", height=150)
                    style_mode = gr.Radio(list(STYLE_MODES), value="stats", label="Style",
                                          info="stats: its amplitudes, rhythm, blinks; copy: its head pose")
                    pose = gr.Slider(0, 2, 1.0, step=0.1, label="Pose scale")
                    expression = gr.Slider(0, 2, 1.0, step=0.1, label="Expression scale")
                    still = gr.Checkbox(False, label="Still head")
                    prompt = gr.Textbox("", label="Language-guided motion on top (optional)",
                                        placeholder="The person is smiling.")
            with gr.Column(scale=6, min_width=320):
                status = gr.Markdown("The face talks: the mouth follows the speech envelope (or, for typed text, the "
                                     "phonemes of espeak-ng's speech), with blinks, nods and head sway — not "
                                     "phoneme-exact lip sync. Press **Talk** (an example speech is loaded).",
                                     elem_id="talk-status", label="Status", elem_classes="status-line")
                with gr.Row(equal_height=False):
                    result = gr.Video(label="Result", interactive=False, autoplay=True,
                                      height=280, elem_id="talk-result")
                    live = gr.Image(label="Live frames", type="numpy", interactive=False, height=280,
                                    elem_id="talk-live")
                tracks = gr.File(label="Motion track (JSON, CSV)", file_count="multiple", interactive=False)
                plot = gr.LinePlot(x="t", y="value", color="channel", label="Mouth opening and speech envelope",
                                   x_title="time (s)", color_title="curve", elem_id="talk-plot")
        event = go.click(talk, inputs=[image, domain, seed, audio, text, voice, style, style_mode, pose, expression,
                                       still, fps, prompt, start],
                         outputs=[result, live, tracks, plot, status], api_name="talk", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        # Cancel: gradio stops the request first, then the status says where the server stopped (its own event,
        # after: an event with `cancels` runs its function before it cancels)
        stop.click(None, cancels=[event], queue=False, api_visibility="private")
        stop.click(canceller("talk"), outputs=[status, live], queue=False, api_visibility="private")
    return {"start": start, "note": note}


__all__ = ["talk", "build"]
