"""The Edit tab: a still face (a seed, "Random face", or a photo) edited live — one slider per control channel in
its own unit and range, language sliders (a sentence and how much of its fitted expression) — with Reset, the
image as PNG, and "Animate from here" (a clip that starts from the edited face), "Drive from here" and "Talk from
here" (the Drive or Talk tab starts from it).

Live: every slider's `.input` (it fires while the slider is dragged) runs one event with
`trigger_mode="always_last"`: while an edit renders, only the newest value waits, never a queue of stale ones. The
handler also lets the newest edit of a session win over older ones still waiting for the renderer (`LatestWins`),
so an API client that sends several at once gets only the last one rendered. The editor keeps each face's start code
and each prompt's direction, so a drag renders one frame at the domain's size (and pastes it back into a photo).

API: /edit (domain, seed, image, yaw, pitch, roll, tx, ty, scale, mouth_open, mouth_wide, smile, eye_l, eye_r, brow,
prompt, amount, prompt_2, amount_2, prompt_3, amount_3) -> (edited image, status). A control left out is 0; units and
ranges: `python -m lganim edit --domain D --list-controls`.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import closing

import gradio as gr

from lganim.config import CHANNELS, DEFAULT_PROMPT, MAX_EDIT_AMOUNT, MAX_SEED
from lganim.edit import ControlRange, Edit, cached_ranges, control_ranges
from lganim.errors import LganimError
from lganim.request import EditRequest, Request
from lganim.weights.registry import get_domain

from . import zerogpu
from .common import ANIMATORS, Kept, answers, generate, on_gpu, reporter, session_of, upload
from .handoff import NO_EDIT
from .models import checked_domain

LANGUAGE_SLIDERS = 3                 # sentence boxes on the page (the API's prompt, amount, prompt_2, amount_2, ...)
SLIDER_STEPS = 100                   # steps across a channel's range
HEAD = ("yaw", "pitch", "roll", "tx", "ty", "scale")
OUTPUTS, STATUS = 2, 1               # (image, status) and where the status is
CLIP_OUTPUTS, CLIP_STATUS = 2, 1     # (video, status) of "Animate from here"


class LatestWins:
    """The newest call of each session wins: a session's calls run one at a time (other sessions' beside them, as
    the queue allows), and one that a newer call of its session overtook while it waited returns None unrun."""

    def __init__(self):
        self._guard = threading.Lock()            # guards the tickets and the locks
        self._tickets = itertools.count()
        self.newest: dict[str, int] = {}          # session -> its newest ticket
        self._running: dict[str, threading.Lock] = {}   # session -> held while one of its calls runs

    def run(self, session: str, work: Callable[[], object]):
        with self._guard:
            ticket = self.newest[session] = next(self._tickets)
            running = self._running.setdefault(session, threading.Lock())
        with running:
            with self._guard:
                if self.newest.get(session) != ticket:
                    return None                   # overtaken: a newer value of this session is waiting
            try:
                return work()
            finally:
                with self._guard:
                    if self.newest.get(session) == ticket:    # nothing of this session waits: forget it
                        del self.newest[session], self._running[session]


LATEST = LatestWins()
CALLS = itertools.count()                # numbers the calls that have no session of their own (MCP)


def edit_seconds(domain: str, request: EditRequest) -> int:
    """ZeroGPU time of one edit: one frame, plus loading, new prompts' fits and the photo (`zerogpu.gpu_seconds`)."""
    face = Request(prompts=tuple(request.prompts), seeds=(request.seed or 0,), image=request.image,
                   refine_steps=request.refine_steps)
    return zerogpu.gpu_seconds(ANIMATORS, domain, face, frames=1)


@on_gpu(duration=edit_seconds)
def edit_work(domain: str, request: EditRequest) -> Edit:
    """The GPU work of one edit: the domain's editor (its start codes and prompt directions kept between edits)."""
    return ANIMATORS.get(domain).edit(request)


def language(*pairs) -> dict[str, float]:
    """(prompt, amount, prompt_2, amount_2, ...) as sentence -> amount; an empty box is no slider."""
    out = {}
    for prompt, amount in zip(pairs[::2], pairs[1::2]):
        if isinstance(prompt, str) and not prompt.strip():
            continue
        out[prompt.strip() if isinstance(prompt, str) else prompt] = amount
    return out


def status_line(edit: Edit, seconds: float, untrained: bool) -> str:
    """What the image shows: the face, the values that moved it, its size and how long it took."""
    moved = [f"{c} {v:g}" for c, v in edit.controls.items() if v]
    moved += [f"“{p}” {a:+g}" for p, a in edit.prompts.items() if a]
    h, w = edit.image.shape[:2]
    face = "photo" if edit.seed is None else f"seed {edit.seed}"
    return (f"{face} · {', '.join(moved) or 'no edit: the start face'} · {w}×{h} px · {1e3 * seconds:.0f} ms · "
            f"domain {edit.domain}" + (" (untrained: a check of the plumbing, not a result)" if untrained else ""))


@answers(OUTPUTS, STATUS)
def edit_face(domain: str = "demo", seed: int = 0, image=None, yaw: float = 0.0, pitch: float = 0.0,
              roll: float = 0.0, tx: float = 0.0, ty: float = 0.0, scale: float = 0.0, mouth_open: float = 0.0,
              mouth_wide: float = 0.0, smile: float = 0.0, eye_l: float = 0.0, eye_r: float = 0.0, brow: float = 0.0,
              prompt: str = "", amount: float = 0.0, prompt_2: str = "", amount_2: float = 0.0, prompt_3: str = "",
              amount_3: float = 0.0, last: Kept | None = None, request: gr.Request = None):
    """Edit a still face: head pose, expression and sentences, each by a value (0 leaves it as it is); one PNG. The
    channels' ranges are the domain's (`python -m lganim edit --domain D --list-controls`); a value outside is
    refused. Of a session's calls waiting at once only the newest is rendered (a slider's drag): the others answer
    nothing new (calls through MCP are each answered).

    Args:
        domain: which faces: human (FFHQ), art (MetFaces), dog (AFHQ), anime (TADNE), or demo (untrained, offline)
        seed: the face when no photo is given, a whole number from 0 to 4294967295 (each seed is another face)
        image: optional photo of a face uploaded to this app, by its URL here (human and demo domains)
        yaw: head turn in degrees, + toward the image's right; the domain's range, typically about -20 to 20
        pitch: head tilt up and down in degrees, + chin up; the domain's range, typically about -15 to 15
        roll: head roll in degrees, + counter-clockwise in the image, from -30 to 30 (moves the face's crop)
        tx: sideways shift in face widths, + right, from -0.25 to 0.25 (moves the face's crop)
        ty: vertical shift in face widths, + down, from -0.25 to 0.25 (moves the face's crop)
        scale: size as ln(face width / its width), from -0.2 to 0.2 (moves the face's crop)
        mouth_open: lips apart, in inter-ocular distances from the neutral face; the domain's range, about ±0.4
        mouth_wide: mouth width, in inter-ocular distances from the neutral face; the domain's range, about ±0.2
        smile: mouth corners up, in inter-ocular distances from the neutral face; the domain's range, about ±0.1
        eye_l: left eye opening, in inter-ocular distances from the neutral face; the domain's range, about ±0.25
        eye_r: right eye opening, in inter-ocular distances from the neutral face; the domain's range, about ±0.25
        brow: brows raised, in inter-ocular distances from the neutral face; the domain's range, about ±0.1
        prompt: an English sentence whose fitted expression the face takes ("The person is surprised."), or empty
        amount: how much of the first sentence, a number from -1 to 1 (1: its full expression, -1: its opposite)
        prompt_2: a second sentence, or empty
        amount_2: how much of the second sentence, a number from -1 to 1
        prompt_3: a third sentence, or empty
        amount_3: how much of the third sentence, a number from -1 to 1

    Returns:
        the edited face as a PNG
        a one-line status: the face, the values that moved it, its size and how long it took
    """
    values = dict(yaw=yaw, pitch=pitch, roll=roll, tx=tx, ty=ty, scale=scale, mouth_open=mouth_open,
                  mouth_wide=mouth_wide, smile=smile, eye_l=eye_l, eye_r=eye_r, brow=brow)
    photo = upload(image)
    edit_request = EditRequest(seed=seed, image=photo, controls=values,
                               prompts=language(prompt, amount, prompt_2, amount_2, prompt_3, amount_3))
    spec = checked_domain(domain, Request(seeds=(edit_request.seed or 0,), image=photo))
    start = time.perf_counter()
    session = session_of(request)
    edit = LATEST.run(session or f"mcp-{next(CALLS)}", lambda: edit_work(spec.name, edit_request))
    if edit is None:
        yield (gr.skip(),) * OUTPUTS
        return
    if session is not None and last is not None:          # kept for "Animate from here" (MCP calls keep nothing)
        last.value = edit
    yield edit.image, status_line(edit, time.perf_counter() - start, spec.untrained)


@answers(CLIP_OUTPUTS, CLIP_STATUS)
def animate_from(last: Kept | None, prompt: str = DEFAULT_PROMPT, progress=gr.Progress()):
    """A clip of the prompt's motion that starts from the session's last edit (its code, photo and crop move): (MP4,
    status)."""
    start: Edit | None = None if last is None else last.value
    if start is None:
        raise LganimError(NO_EDIT)
    request = Request(prompts=[prompt], start=start)
    spec = checked_domain(start.domain, request)
    yield None, "Starting…"
    with closing(generate(spec.name, request, False, reporter(progress))) as updates:
        for u in updates:
            yield (str(u.videos[0]) if u.videos else gr.skip()), u.status


# The edited face stays in view while the sliders scroll: on a desktop its column sticks to the top; on a phone
# (one column) the two columns dissolve into one list, the status and the face first, the face sticking to the top
# above the sliders, the clip from the edited face last.
# (gradio's container hides its overflow, which stops anything sticking: `clip` clips the same without scrolling.)
CSS = """
.gradio-container {overflow: clip}
#edit-result {position: sticky; top: 0; align-self: flex-start}
@media (max-width: 640px) {
  #edit-row {flex-direction: column}
  #edit-inputs, #edit-result {display: contents}
  #edit-inputs > * {order: 3}
  #edit-result > * {order: 4}
  #edit-status {order: 1}
  #edit-image {order: 2; position: sticky; top: 0; z-index: 100; background: var(--body-background-fill)}
}
"""


def slider_step(r: ControlRange) -> float:
    """A round step of about 1/SLIDER_STEPS of the range."""
    return float(f"{(r.hi - r.lo) / SLIDER_STEPS:.1g}") or 1e-3


def slider(r: ControlRange) -> gr.Slider:
    return gr.Slider(r.lo, r.hi, 0.0, step=slider_step(r), label=r.channel, info=r.unit, elem_id=f"edit-{r.channel}")


def domain_ranges(domain: str, reset: bool = False) -> list:
    """Every channel slider set to the domain's range (its cached calibration; no model loads), and with `reset` to
    0 (another domain: another face)."""
    ranges = cached_ranges(get_domain(domain))
    at_zero = {"value": 0.0} if reset else {}
    return [gr.update(minimum=r.lo, maximum=r.hi, step=slider_step(r), **at_zero) for r in ranges.values()]


def new_domain(domain: str) -> list:
    """Another domain: its ranges, every slider at 0."""
    return domain_ranges(domain, reset=True)


def random_seed() -> int:
    """"Random face": a new seed."""
    return secrets.randbelow(MAX_SEED + 1)


def zeros() -> list[float]:
    """Reset: every channel and every amount back to 0."""
    return [0.0] * (len(CHANNELS) + LANGUAGE_SLIDERS)


def build(domain: gr.Dropdown) -> dict:
    """The tab (inside the page's Tabs): inputs left, the image right. Returns the components the page wires to:
    "start", the session's last edit (a gr.State of a `Kept`, its value None before the first), which a clip can start
    from (`Request(..., start=edit)`, `DriveRequest(..., start=edit)`); "image", "seed", "photo"; the hand-off
    buttons "to_drive" and "to_talk"; and "clip_status", where a hand-off's error is said."""
    ranges = control_ranges(None)                       # until the tab opens: the typical ranges, nothing loaded
    with gr.Tab("Edit", id="edit") as tab:
        start = gr.State(Kept())                        # the last edit of this session: what a clip starts from
        with gr.Row(equal_height=False, elem_id="edit-row"):
            with gr.Column(scale=6, min_width=320, elem_id="edit-inputs"):
                with gr.Row(equal_height=False, elem_classes="seed-row"):      # buttons of their own height
                    seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                     elem_id="edit-seed", scale=3, min_width=120)
                    dice = gr.Button("Random face", size="sm", scale=1, min_width=100, elem_id="edit-random")
                    reset = gr.Button("Reset", size="sm", scale=1, min_width=80, elem_id="edit-reset")
                photo = gr.Image(type="filepath", sources=["upload", "clipboard"], height=150, elem_id="edit-photo",
                                 label="Photo of a face (optional)")
                with gr.Row(equal_height=False):
                    with gr.Column(min_width=240):
                        gr.Markdown("**Head**: pose, and where the face sits")
                        head = {c: slider(ranges[c]) for c in HEAD}
                    with gr.Column(min_width=240):
                        gr.Markdown("**Expression**")
                        face = {c: slider(ranges[c]) for c in CHANNELS if c not in HEAD}
                sliders = [{**head, **face}[c] for c in CHANNELS]
                with gr.Accordion("Language sliders: a sentence, and how much of it", open=True):
                    words = []
                    for i in range(LANGUAGE_SLIDERS):
                        with gr.Row(equal_height=True):
                            words.append(gr.Textbox("", label=f"Sentence {i + 1}", scale=3, min_width=160,
                                                    elem_id=f"edit-prompt-{i}",
                                                    placeholder="The person is surprised." if i == 0 else ""))
                            words.append(gr.Slider(-MAX_EDIT_AMOUNT, MAX_EDIT_AMOUNT, 0.0, step=0.05, scale=2,
                                                   min_width=160, label="Amount", elem_id=f"edit-amount-{i}",
                                                   info="1: its full expression, −1: the opposite"))
            with gr.Column(scale=5, min_width=320, elem_id="edit-result"):
                status = gr.Markdown("Move a slider, or give a seed or a photo.", label="Status",
                                     elem_id="edit-status", elem_classes="status-line")
                image = gr.Image(label="Edited face", type="numpy", format="png", interactive=False, height=260,
                                 buttons=["download", "fullscreen"], elem_id="edit-image")
                with gr.Row(equal_height=True):
                    motion = gr.Textbox(DEFAULT_PROMPT, label="Animate from here: the motion", scale=3,
                                        min_width=160, elem_id="edit-motion")
                    with gr.Column(scale=2, min_width=160):
                        go = gr.Button("Animate from here", elem_id="edit-animate")
                        with gr.Row():
                            to_drive = gr.Button("Drive from here", size="sm", min_width=80, elem_id="edit-to-drive")
                            to_talk = gr.Button("Talk from here", size="sm", min_width=80, elem_id="edit-to-talk")
                clip_status = gr.Markdown("", label="Clip status", elem_id="edit-clip-status",
                                          elem_classes="status-line")
                clip = gr.Video(label="Clip from the edited face", interactive=False, autoplay=True, loop=True,
                                height=200, elem_id="edit-clip")
        live = dict(fn=edit_face, inputs=[domain, seed, photo, *sliders, *words, start], outputs=[image, status],
                    preprocess=False, trigger_mode="always_last", show_progress="hidden", concurrency_id="edit")
        amounts = words[1::2]
        gr.on([s.input for s in [*sliders, *amounts]] + [seed.submit, photo.upload, photo.clear]
              + [w.submit for w in words[::2]], api_name="edit", **live)
        dice.click(random_seed, outputs=seed, queue=False, api_visibility="private").then(
            api_visibility="private", **live)
        reset.click(zeros, outputs=[*sliders, *amounts], queue=False, api_visibility="private").then(
            api_visibility="private", **live)
        tab.select(domain_ranges, inputs=domain, outputs=sliders, queue=False, api_visibility="private").then(
            api_visibility="private", **live)             # the tab opens on its face: the seed's, as it is
        domain.change(new_domain, inputs=domain, outputs=sliders, queue=False, api_visibility="private")
        go.click(animate_from, inputs=[start, motion], outputs=[clip, clip_status], api_visibility="private",
                 show_progress="minimal", show_progress_on=[clip_status])
    return {"start": start, "image": image, "seed": seed, "photo": photo, "to_drive": to_drive, "to_talk": to_talk,
            "clip_status": clip_status}


__all__ = ["CSS", "LANGUAGE_SLIDERS", "LatestWins", "LATEST", "edit_seconds", "edit_work", "language", "status_line",
           "edit_face", "animate_from",
           "domain_ranges", "new_domain", "random_seed", "zeros", "build"]
