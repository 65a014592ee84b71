"""The Talk tab: a face (photo or seed) talks from audio (upload or microphone) or says a sentence (espeak-ng), in
the style of a reference video if one is given — the ERLNet row. The mouth follows the speech envelope (or the
phonemes of the synthesis): it is not phoneme-exact lip sync.

API: /talk (image, domain, seed, audio, text, voice, style_video, style_mode, pose_scale, expression_scale, still,
fps, prompt) -> (MP4 with the sound, [track.json, track.csv], mouth opening and speech envelope, status).
"""
from __future__ import annotations

import gradio as gr

from lganim.config import MAX_SEED
from lganim.request import DriveRequest, Driving

from .common import upload, user_errors
from .drive import driven, optional_prompt

VOICES = ("en", "en-us", "fr", "de", "es", "it")


def talk(image=None, domain: str = "demo", seed: int = 0, audio=None, text: str = "", voice: str = "en",
         style_video=None, style_mode: str = "stats", pose_scale: float = 1.0, expression_scale: float = 1.0,
         still: bool = False, fps: int = 25, prompt: str = "", progress=gr.Progress()):
    """The face talks along with the audio, or says `text` when it is given. Returns (MP4, track files, mouth
    opening and speech envelope over time, status)."""
    with user_errors():
        text = text.strip() if isinstance(text, str) else ""
        sound = None if text else upload(audio, "audio", "audio")
        driving = Driving("text" if text else "audio", sound, text=text, voice=voice, pose_scale=pose_scale,
                          expression_scale=expression_scale, style=upload(style_video, "style_video", "video"),
                          style_mode=style_mode, still=bool(still))
        request = DriveRequest(driving, seed, upload(image), fps, optional_prompt(prompt))
        yield from driven(domain, request, progress)


def build(domain: gr.Dropdown) -> None:
    """The tab's widgets and its event (inside the page's Tabs)."""
    with gr.Tab("Talk", id="talk"):
        gr.Markdown("The face talks: the mouth follows the speech envelope (or, for typed text, the phonemes of "
                    "espeak-ng's speech), with blinks, nods and head sway — not phoneme-exact lip sync.")
        with gr.Row():
            image = gr.Image(type="filepath", sources=["upload", "clipboard"], height=180, label="Photo (optional)",
                             elem_id="talk-photo")
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech (≤ 5 minutes)",
                             elem_id="talk-audio")
        with gr.Row():
            text = gr.Textbox("", label="…or text to say (espeak-ng)", placeholder="Hello there, how are you?",
                              elem_id="talk-text", scale=3)
            voice = gr.Dropdown(list(VOICES), value="en", label="Voice", allow_custom_value=True, scale=1)
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)", elem_id="talk-seed",
                             scale=1)
        with gr.Row():
            style = gr.Video(sources=["upload", "webcam"], label="Style video (optional)", height=150)
            style_mode = gr.Radio(["stats", "copy"], value="stats", label="Style",
                                  info="stats: its amplitudes, rhythm, blinks; copy: its head pose")
        with gr.Row():
            pose = gr.Slider(0, 2, 1.0, step=0.1, label="Pose scale")
            expression = gr.Slider(0, 2, 1.0, step=0.1, label="Expression scale")
            still = gr.Checkbox(False, label="Still head")
            fps = gr.Slider(1, 60, 25, step=1, label="Frames per second")
        prompt = gr.Textbox("", label="Language-guided motion on top (optional)",
                            placeholder="The person is smiling.")
        with gr.Row():
            go = gr.Button("Talk", variant="primary", elem_id="talk-go")
            stop = gr.Button("Cancel", variant="stop")
        status = gr.Markdown("", elem_id="talk-status")
        with gr.Row():
            result = gr.Video(label="Result (with sound)", interactive=False, elem_id="talk-result")
            tracks = gr.File(label="Motion track (JSON, CSV)", file_count="multiple", interactive=False)
        plot = gr.LinePlot(x="t", y="value", color="channel", label="Mouth and speech over time", height=220)
        event = go.click(talk, inputs=[image, domain, seed, audio, text, voice, style, style_mode, pose, expression,
                                       still, fps, prompt],
                         outputs=[result, tracks, plot, status], api_name="talk", preprocess=False,
                         show_progress="minimal", show_progress_on=[status])
        stop.click(None, cancels=[event])
