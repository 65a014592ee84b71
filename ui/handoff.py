"""An edited face handed from the Edit tab to the tabs that animate a face ("Drive from here", "Talk from here"): the
handler of the hand-off, and the note a receiving tab shows while its face is the edit."""
from __future__ import annotations

import gradio as gr

from lganim.edit import Edit
from lganim.errors import LganimError

from .common import Kept, answers

NO_EDIT = "Edit a face first: the clip starts from the edited face."


FROM_EDIT = ("Starts from **the edited face** of the Edit tab (its code, photo and crop move); give a seed or a "
             "photo here to start from that instead.")


def from_edit_note(seed: gr.Number, image: gr.Image, start: gr.State, elem_id: str) -> gr.Markdown:
    """In a tab a face can be handed to ("Drive from here"): the note that its face is the edit; giving a seed or a
    photo there forgets the edit (and hides the note)."""
    note = gr.Markdown(FROM_EDIT, visible=False, elem_id=elem_id)
    gr.on([seed.input, image.upload, image.clear], lambda: (None, gr.update(visible=False)), outputs=[start, note],
          queue=False, api_visibility="private")
    return note


def hand_off(tab: str):
    """The handler of "<Drive|Talk> from here": the session's last edit (kept by the Edit tab) becomes the `tab`'s
    start, which it opens. Outputs: (the tab's start, its note, the page's Tabs, the Edit tab's status line, where an
    error is said)."""
    @answers(4, 3)
    def to_tab(last: Kept | None):
        start: Edit | None = None if last is None else last.value
        if start is None:
            raise LganimError(NO_EDIT)
        return start, gr.update(visible=True), gr.Tabs(selected=tab), ""
    return to_tab


__all__ = ["NO_EDIT", "FROM_EDIT", "from_edit_note", "hand_off"]
