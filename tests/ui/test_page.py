"""ui/page.py: gradio's refusals of file values become the app's one-line message naming the input."""
import gradio as gr

from ui.page import refusal


def drive(image=None, domain="demo", seed=0, driving_video=None):
    pass


def test_the_one_file_given_is_named_with_its_kind():
    with gr.Blocks():
        components = [gr.Image(), gr.Textbox(), gr.Number(), gr.Video()]
    assert refusal(drive, components, [None, "demo", 1, 5]) == (
        "driving_video must be an uploaded video file (gradio_client.handle_file(path)), or empty.")
    assert refusal(drive, components, [{"path": "/x"}, "demo", 1, None]).startswith("image must be an uploaded image")


def test_several_files_given_are_all_named():
    with gr.Blocks():
        components = [gr.Image(), gr.Textbox(), gr.Number(), gr.Video()]
    assert refusal(drive, components, ["a", "demo", 1, "b"]).startswith("image, driving_video: each must be")
