"""ui/page.py: what a request may carry, checked before gradio touches its values — files the client uploaded (or
the app's own) by their path, never a URL; text where text goes; enough values — each refusal one line naming the
input; and gradio's own refusals of file values get the same line."""
import asyncio
import socket

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from ui.page import Page, refusal, refused
from ui.sessions import Uploads

META = {"_type": "gradio.FileData"}


def drive(image=None, domain="demo", seed=0, driving_video=None):
    pass


def animate(image=None, prompt="", camera=None):
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


@pytest.fixture
def inputs():
    with gr.Blocks():
        return [gr.Image(type="filepath"), gr.Textbox(), gr.Image(sources=["webcam"], streaming=True)]


@pytest.fixture
def world(tmp_path):
    """(uploads, my client, my upload, their upload, a result, an app's own file)."""
    made = {}
    for name in ("mine", "theirs", "result", "example"):
        made[name] = tmp_path / name / "face.png"
        made[name].parent.mkdir()
        made[name].write_bytes(b"png")
    uploads = Uploads()
    uploads.keep_own([made["example"]])
    uploads.record("me", [made["mine"]])
    uploads.record("them", [made["theirs"]])
    return uploads, made


IMAGE_LINE = "image must be an uploaded image file (gradio_client.handle_file(path)), or empty."


def test_a_client_names_only_its_uploads_and_the_apps_own_files(inputs, world):
    uploads, made = world

    def check(image, client="me"):
        return refused(animate, inputs, [image, "Hi.", None], client, uploads)

    assert check(None) is None and check({"path": str(made["mine"]), "meta": META}) is None
    assert check({"path": str(made["example"])}, client=None) is None
    url = f"http://127.0.0.1:7860/gradio_api/file={made['mine']}"                 # what a browser sends back
    assert check({"path": str(made["mine"]), "url": url}) is None
    for path in (made["theirs"], made["result"], made["mine"].parent / ".." / "theirs" / "face.png"):
        assert check({"path": str(path), "meta": META}) == IMAGE_LINE
    assert check({"path": str(made["mine"])}, client="them") == IMAGE_LINE
    assert check({"path": str(made["mine"])}, client=None) == IMAGE_LINE


@pytest.mark.parametrize("image", [
    {"path": "http://huggingface.co/x.png", "meta": META}, {"path": "https://127.0.0.1:1/x.png"},
    {"path": "data:image/png;base64,iVBORw0KGgo="}, {"path": "//example.com/x.png"}, {"path": "file:///etc/passwd"},
    {"path": None, "url": "http://huggingface.co/x.png", "meta": META}, "http://huggingface.co/x.png",
    {"path": "/tmp/a\x00b.png"}, {"path": 5}, {}, 42, [],
    {"video": {"path": "http://huggingface.co/x.mp4"}}, [{"path": "http://huggingface.co/x.png"}]])
def test_urls_nul_bytes_and_what_is_not_a_file_are_refused(inputs, world, image):
    assert refused(animate, inputs, [image, "Hi.", None], "me", world[0]) == IMAGE_LINE


def test_a_url_beside_an_uploaded_path_must_be_its_own_address(inputs, world):
    uploads, made = world
    value = {"path": str(made["mine"]), "url": "http://127.0.0.1:9/probe.png", "meta": META}
    assert refused(animate, inputs, [value, "Hi.", None], "me", uploads) == IMAGE_LINE


def test_the_camera_takes_pictures_from_the_browser_never_a_path(inputs, world):
    uploads, made = world
    frame = {"url": "data:image/jpeg;base64,/9j/4AAQ"}
    assert refused(animate, inputs, [None, "Hi.", frame], "me", uploads) is None
    for value in ({"path": str(made["mine"])}, {"url": "http://huggingface.co/x.jpg"}, "data:image/jpeg;base64,AA",
                  {"path": str(made["mine"]), "url": "data:image/jpeg;base64,AA"}):
        assert refused(animate, inputs, [None, "Hi.", value], "me", uploads) == (
            "camera must be a picture from the browser's camera.")


def test_text_inputs_take_text(inputs, world):
    uploads = world[0]
    assert refused(animate, inputs, [None, ["a", "b"], None], "me", uploads) == (
        "prompt must be text, got list ['a', 'b'].")
    assert refused(animate, inputs, [None, 5, None], "me", uploads) == "prompt must be text, got int 5."
    assert refused(animate, inputs, [None, "a\x00b", None], "me", uploads) == (
        "prompt holds a NUL character: type it again without it.")


def test_too_few_values_name_the_first_missing_input(inputs, world):
    assert refused(animate, inputs, [], "me", world[0]) == (
        "image is missing: this endpoint takes 3 values (image, prompt, camera), got 0.")
    assert refused(animate, inputs, [None], "me", world[0]).startswith("prompt is missing")


def test_a_url_is_refused_before_gradio_would_fetch_it(monkeypatch):
    """gradio's preprocessing downloads a file value's http(s) path; the page refuses it first: no name is looked
    up, no connection made (a plain gr.Blocks, checked first, does look the host up)."""
    looked_up = []

    def no_network(*args, **kwargs):
        looked_up.append(args[:2])
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    value = {"path": "http://huggingface.co/lganim-probe.png", "meta": META}
    for blocks_class in (gr.Blocks, Page):
        with blocks_class() as blocks:
            image = gr.Image(type="filepath")
            image.change(lambda image: image, inputs=image, outputs=None)
        with pytest.raises(Exception) as err:
            asyncio.run(blocks.process_api(0, [value], state=SessionState(blocks)))
        if blocks_class is gr.Blocks:
            assert looked_up, "gradio no longer fetches URLs while preprocessing: this test checks nothing"
            looked_up.clear()
    assert isinstance(err.value, gr.Error) and err.value.message == IMAGE_LINE and looked_up == []
