"""The tabs' handlers run in-process, as the tests of ui/ call them: a stand-in for gr.Progress, gradio's "leave
it as it is", and the One clip handler with good defaults."""
import gradio as gr

from ui import one_clip

SMILE = "The person is smiling."


class NoProgress:
    """Stands in for gr.Progress outside a running server."""

    def __call__(self, *args, **kwargs):
        pass


def skipped(value) -> bool:
    """Whether an output is gradio's "leave it as it is"."""
    return isinstance(value, type(gr.skip()))


def single(**overrides):
    """Run the /animate handler to the end with good defaults; returns every streamed output tuple."""
    kwargs = dict(image=None, domain="demo", seed=3, prompt=SMILE, num_frames=6, fps=6, strength=1.0,
                  truncation=1.0, schedule="linear")
    kwargs.update(overrides)
    return list(one_clip.animate(**kwargs, progress=NoProgress()))
