"""ui/page.py: gradio's refusals of file values (and of file URLs it could not download) become the app's one-line
message naming the input."""
import gradio as gr

from ui.page import refusal, unfetched


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


def test_a_file_url_that_could_not_be_downloaded_is_named():
    with gr.Blocks():
        components = [gr.Image(), gr.Textbox(), gr.Number(), gr.Video()]
    url = {"video": {"path": "http://127.0.0.1/v.mp4", "meta": {"_type": "gradio.FileData"}}, "subtitles": None}
    assert unfetched(drive, components, [None, "demo", 1, url]).startswith(
        "driving_video: the file at the URL could not be downloaded; give a public http(s) URL")
    assert unfetched(drive, components, [{"path": "/x.png"}, "demo", 1, None]) is None      # no URL: another error
