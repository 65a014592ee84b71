"""Gradio app: type a sentence, watch a face move. A thin adapter over `lganim.pipeline`.

    python app.py [--host 0.0.0.0] [--port 7860]

Importing this module builds the page and loads nothing: a domain's models load on its first request,
once, and stay cached. Every value a request carries is checked here before the pipeline sees it, and the
library's `LganimError` becomes a `gr.Error` in one place (`user_errors`). Environment:

    LGANIM_DOMAIN       preferred start domain (default human; the demo domain if its weights are not on disk)
    LGANIM_DEVICE       auto (default), cpu, cuda, cuda:1 ...     LGANIM_DTYPE   fp32 (default), bf16, fp16
    LGANIM_CONCURRENCY  requests rendered at once (default 1)     LGANIM_QUEUE_SIZE  waiting requests (default 16)
    LGANIM_MOTION_<DOMAIN>  a motion checkpoint folder for that domain (e.g. LGANIM_MOTION_HUMAN=runs/ffhq)
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from lganim.config import AnimationSettings
from lganim.errors import LganimError
from lganim.hub import DOMAINS, cached_file

# The paper's 28 training prompts (the authors' `face_pmt` vocabulary: "The person is <expression>.").
PAPER_EXPRESSIONS = ("smiling", "angry", "closing eyes", "winking", "shocked", "pouting", "crying", "disgusted",
                     "appalled", "opening mouth", "hatred", "surprised", "aha", "annoyed", "awkward",
                     "biting tongues", "blank stare", "confused", "duck lips", "incredulous", "mocking", "nervous",
                     "no comment", "oh no", "serious", "stunned", "whatever", "wtf")
PAPER_PROMPTS = tuple(f"The person is {e}." for e in PAPER_EXPRESSIONS)
SCHEDULES = ("linear", "sqrt", "exp", "const")
MAX_SEED = 2 ** 32 - 1
MAX_PROMPT_CHARS = 1000          # CLIP reads 77 tokens; longer text is a mistake or an abuse
MAX_STRENGTH = 10.0              # AnimationSettings' bound; the slider shows the useful part
STRIP_FRAMES = 8                 # frames per clip in the frame strip
STRIP_HEIGHT = 96                # px per row of the frame strip
PCA_POINTS = 64                  # frames per clip drawn in the motion plot
REQUEST_DIR_PREFIX = "lganim-"
CACHE_SWEEP = (900, 3600)        # gradio delete_cache: every 15 min, files older than 1 h

CITATION = ("Hang, Yang, Liu, Fu, Geng and Guo, *Language-Guided Face Animation by Recurrent StyleGAN-based "
            "Generator*, IEEE Transactions on Multimedia 2023 ([arXiv 2208.05617](https://arxiv.org/abs/2208.05617)).")


def env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {value}.")
    return value


def domain_label(name: str) -> str:
    d = DOMAINS[name]
    if d.untrained:
        return "demo · untrained random weights, for trying the app offline"
    return f"{d.title} · {d.licence}"


def start_domain() -> tuple[str, str]:
    """The domain the page opens with and a one-line notice when it had to fall back to demo.

    Decided from the disk only (local weights folder or the Hub cache): startup never waits on a download.
    """
    wanted = os.environ.get("LGANIM_DOMAIN", "human")
    spec = DOMAINS.get(wanted)
    if spec is None:
        return "demo", f"LGANIM_DOMAIN={wanted!r} is not a domain ({', '.join(DOMAINS)}): showing the demo domain."
    if spec.untrained or cached_file(spec.weights) is not None:
        return wanted, ""
    why = "offline (HF_HUB_OFFLINE) and not downloaded" if os.environ.get("HF_HUB_OFFLINE", "").strip() not in (
        "", "0", "false", "False") else "not downloaded yet"
    return "demo", (f"⚠️ The {wanted} weights are {why}: showing the untrained demo domain. Pick {wanted} to "
                    f"download them, or run `python -m lganim download {wanted}`.")


log = logging.getLogger("lganim.app")


# -- models: loaded lazily, once per domain ----------------------------------------------------------------
_animators: dict[str, object] = {}
_load_locks = {name: threading.Lock() for name in DOMAINS}   # one per domain: a slow download blocks no other


def get_animator(domain: str):
    """The domain's `Animator`, loaded on first use and cached; concurrent first requests load it once."""
    with _load_locks[domain]:
        anim = _animators.get(domain)
        if anim is None:
            from lganim.pipeline import Animator
            anim = Animator.from_pretrained(domain, motion=os.environ.get(f"LGANIM_MOTION_{domain.upper()}") or None,
                                            device=os.environ.get("LGANIM_DEVICE", "auto"),
                                            dtype=os.environ.get("LGANIM_DTYPE") or None)
            _animators[domain] = anim
    return anim


# -- requests: every value checked on the server ----------------------------------------------------------
@contextmanager
def user_errors():
    """The one place where the library's errors become messages in the browser (and for API clients)."""
    try:
        yield
    except LganimError as e:
        raise gr.Error(str(e), print_exception=False) from None


def shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(name: str, value, lo: int, hi: int) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or not lo <= value <= hi):
        raise LganimError(f"{name} must be a whole number from {lo} to {hi}, got {shown(value)}.")
    return int(value)


def real(name: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
        raise LganimError(f"{name} must be a number from {lo:g} to {hi:g}, got {shown(value)}.")
    return float(value)


def text(name: str, value, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LganimError(f"{name} is empty: {example}")
    if len(value) > MAX_PROMPT_CHARS:
        raise LganimError(f"{name} is too long ({len(value)} characters, at most {MAX_PROMPT_CHARS}).")
    return value.strip()


def photo_path(image) -> Path | None:
    """The uploaded photo's path from a gradio file payload {"path": ...}, or None.

    Only files in gradio's upload cache are accepted: a client must upload the photo (gradio_client.handle_file),
    never name a file that is already on the server.
    """
    if image is None:
        return None
    path = image.get("path") if isinstance(image, dict) else None
    if not isinstance(path, str) or not Path(path).is_file() or not Path(path).resolve().is_relative_to(
            Path(demo.GRADIO_CACHE).resolve()):
        raise LganimError("image must be an uploaded image file (gradio_client.handle_file(path)), or empty to "
                          "sample a face from the seed.")
    return Path(path)


def checked_by_handler(component):
    """Skip gradio's own model check of this input's payload so that the handler checks it (`photo_path`): that
    check answers an API client's wrong type (a bare path string, a number) with a generic error. The widget and
    the file schema API clients see stay those of the component. (A subclass would make gradio write a .pyi.)"""
    schema = component.api_info()
    component.api_info = lambda: schema
    component.data_model = None
    return component


@dataclass(frozen=True)
class Request:
    """One checked request: B = max(len(prompts), len(seeds)) clips."""

    domain: str
    prompts: list[str]
    seeds: list[int]
    image: Path | None
    num_frames: int
    fps: int
    strength: float
    truncation: float
    schedule: str

    @classmethod
    def parse(cls, *, image, domain, seeds, prompts, num_frames, fps, strength, truncation, schedule) -> "Request":
        if not isinstance(domain, str) or domain not in DOMAINS:
            raise LganimError(f"Unknown domain {shown(domain)}: choose one of {', '.join(DOMAINS)}.")
        if not isinstance(schedule, str) or schedule not in SCHEDULES:
            raise LganimError(f"schedule must be one of {', '.join(SCHEDULES)}, got {shown(schedule)}.")
        req = cls(domain, prompts, seeds, photo_path(image),
                  whole("num_frames", num_frames, 1, AnimationSettings.MAX_FRAMES),
                  whole("fps", fps, 1, AnimationSettings.MAX_FPS),
                  real("strength", strength, -MAX_STRENGTH, MAX_STRENGTH),
                  real("truncation", truncation, 0.0, 1.0), schedule)
        if req.image is not None and not DOMAINS[domain].supports_photos:
            raise LganimError(f"The {domain} domain cannot animate photos (no face encoder for it): clear the photo "
                              f"or pick {', '.join(n for n, d in DOMAINS.items() if d.supports_photos)}.")
        return req


def parse_seed_list(value) -> list[int]:
    """'1, 2 3' -> [1, 2, 3] (commas or spaces)."""
    if not isinstance(value, str) or not value.strip():
        raise LganimError("seeds is empty: give one or more whole numbers, e.g. 1, 2, 3.")
    seeds = []
    for token in re.split(r"[\s,;]+", value.strip()):
        if not token.isdigit() or int(token) > MAX_SEED:
            raise LganimError(f"seeds must be whole numbers from 0 to {MAX_SEED}, got {shown(token)}.")
        seeds.append(int(token))
    return seeds


def parse_prompt_lines(value) -> list[str]:
    """One prompt per line (a line may itself be a sequence: 'smiling; then winking')."""
    text("prompts", value, "write one prompt per line.")
    return [line.strip() for line in value.splitlines() if line.strip()]


# -- pictures -----------------------------------------------------------------------------------------------
def tile(images: np.ndarray) -> np.ndarray:
    """uint8 [B, H, W, 3] -> one grid image [rows·H, cols·W, 3]."""
    b, h, w, _ = images.shape
    cols = math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, img in enumerate(images):
        grid[i // cols * h:(i // cols + 1) * h, i % cols * w:(i % cols + 1) * w] = img
    return grid


def frame_strip(frames: np.ndarray) -> np.ndarray:
    """uint8 [B, T, H, W, 3] -> STRIP_FRAMES evenly spaced frames per clip, one row per clip, STRIP_HEIGHT px rows."""
    from PIL import Image

    b, t, h, w, _ = frames.shape
    idx = np.unique(np.linspace(0, t - 1, min(STRIP_FRAMES, t)).round().astype(int))
    rows = np.concatenate([np.concatenate(list(clip[idx]), axis=1) for clip in frames], axis=0)
    height = min(h, STRIP_HEIGHT)
    size = (round(rows.shape[1] * height / h), height * b)
    return np.asarray(Image.fromarray(rows).resize(size, Image.BILINEAR))


def motion_pca(ws: np.ndarray, labels: list[str]):
    """2-D PCA of the per-frame W+ offsets Δw[b, t] = ws[b, t] − ws[b, 0] (flattened L·D), as in the paper's figure.

    ws: [B, T, L, D]. Returns a DataFrame with columns pc1, pc2, frame, clip (at most PCA_POINTS frames per clip).
    """
    import pandas as pd

    b, t = ws.shape[:2]
    idx = np.unique(np.linspace(0, t - 1, min(PCA_POINTS, t)).round().astype(int))
    x = (ws[:, idx] - ws[:, :1]).reshape(b * len(idx), -1).astype(np.float64)    # [N, L·D]
    x -= x.mean(axis=0)
    vals, vecs = np.linalg.eigh(x @ x.T)                                         # Gram [N, N]: N ≪ L·D
    top = np.argsort(vals)[::-1][:2]
    coords = vecs[:, top] * np.sqrt(np.clip(vals[top], 0, None))                 # PCA scores [N, ≤2]
    coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    coords *= np.where(coords[-1] < 0, -1.0, 1.0)                                # sign: last frame to the right/top
    return pd.DataFrame({"pc1": coords[:, 0], "pc2": coords[:, 1], "frame": np.tile(idx, b),
                         "clip": np.repeat(labels, len(idx))})


# -- the work: plan, stream chunks, write the videos ----------------------------------------------------------
def request_dir() -> Path:
    """A fresh folder in gradio's cache for this request's files; folders of requests older than the sweep age go."""
    cache = Path(demo.GRADIO_CACHE)
    cache.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - CACHE_SWEEP[1]
    for old in cache.glob(REQUEST_DIR_PREFIX + "*"):
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=REQUEST_DIR_PREFIX, dir=cache))


@dataclass
class Update:
    """What one step of a request shows: streamed frames while rendering, then the results."""

    status: str
    live: np.ndarray | None = None          # uint8 [H, W, 3]: the newest frame (a grid for batches)
    videos: list[Path] | None = None        # one MP4 per clip
    gif: Path | None = None                 # clip 0 as a GIF
    strip: np.ndarray | None = None
    plot: object = None                     # DataFrame for the motion plot
    aligned: np.ndarray | None = None       # uint8 [S, S, 3]: the aligned face crop of a photo (what is animated)


def run(req: Request, progress: gr.Progress, write_gif: bool) -> Iterator[Update]:
    """Load (once), plan, render chunk by chunk, then write the videos. Closing the iterator stops the work."""
    from lganim.video import write_video

    t0 = time.perf_counter()
    if req.domain not in _animators:
        progress(0, desc=f"Loading the {req.domain} models (first request only)…")
    yield Update(f"Loading the {req.domain} models…" if req.domain not in _animators else "Planning the motion…")
    anim = get_animator(req.domain)
    progress(0, desc="Planning the motion…")

    def optimising(step: int, total: int, loss: float) -> None:  # photo refinement / fitting a new prompt
        progress(step / total, desc=f"Fitting the motion to the prompt: step {step}/{total} (loss {loss:.3f})")

    plan = anim.prepare(req.prompts, req.seeds, image=req.image, num_frames=req.num_frames, fps=req.fps,
                        strength=req.strength, schedule=req.schedule, truncation=req.truncation,
                        progress=optimising)
    b, t = plan.ws.shape[:2]
    if plan.photo is not None:
        yield Update("Face found and aligned: animating this crop…", aligned=plan.photo.aligned.image)
    workdir = request_dir()
    finished = False
    chunks: list[np.ndarray] = []
    try:
        for chunk in anim.render(plan):                                          # chunk.frames [B, n, H, W, 3]
            chunks.append(chunk.frames)
            done = chunk.start + chunk.frames.shape[1]
            progress(done / t, desc=f"Rendered {done}/{t} frames")
            yield Update(f"Rendering… {done}/{t} frames", live=tile(chunk.frames[:, -1]))
        frames = np.concatenate(chunks, axis=1)                                  # [B, T, H, W, 3]
        progress(1.0, desc="Writing the video…")
        videos = [write_video(clip, workdir / f"clip{i}.mp4", req.fps) for i, clip in enumerate(frames)]
        gif = write_video(frames[0], workdir / "clip0.gif", req.fps) if write_gif else None
        labels = [f"{i}: {'photo' if s is None else f'seed {s}'} · {p[:40]}"
                  for i, (s, p) in enumerate(zip(plan.seeds, plan.prompts))]
        h, w = frames.shape[2:4]
        status = (f"Done: {b} clip{'s' * (b > 1)} × {t} frames · {w}×{h} px · {req.fps} fps · "
                  f"{time.perf_counter() - t0:.1f} s · domain {req.domain}"
                  + (" (untrained: a check of the plumbing, not a result)" if anim.domain.untrained else ""))
        update = Update(status, live=tile(frames[:, -1]), videos=videos, gif=gif, strip=frame_strip(frames),
                        plot=motion_pca(plan.ws.float().cpu().numpy(), labels))
        finished = True
        log.info("%s: %d clip(s) × %d frames in %.2f s", req.domain, b, t, time.perf_counter() - t0)
        yield update
    finally:
        if not finished:                                                         # failed or cancelled
            shutil.rmtree(workdir, ignore_errors=True)
            log.info("%s: stopped after %d/%d frames", req.domain, sum(c.shape[1] for c in chunks), t)


def animate(image=None, domain: str = "demo", seed: int = 0, prompt: str = PAPER_PROMPTS[0], num_frames: int = 16,
            fps: int = 12, strength: float = 1.0, truncation: float = 0.7, schedule: str = "linear",
            progress=gr.Progress()):
    """Animate one face: streams frames while rendering, then returns (MP4, GIF, last frame, strip, plot, status,
    aligned crop of the photo or None)."""
    with user_errors():
        req = Request.parse(image=image, domain=domain, seeds=[whole("seed", seed, 0, MAX_SEED)],
                            prompts=[text("prompt", prompt, 'describe the motion, e.g. "The person is smiling."')],
                            num_frames=num_frames, fps=fps, strength=strength, truncation=truncation,
                            schedule=schedule)
        aligned = None                                       # kept on screen once the photo's face is found
        with closing(run(req, progress, write_gif=True)) as updates:
            for u in updates:
                aligned = u.aligned if u.aligned is not None else aligned
                yield (str(u.videos[0]) if u.videos else None, str(u.gif) if u.gif else None, u.live, u.strip,
                       plot_value(u.plot, "frame"), u.status, aligned)


def animate_batch(domain: str = "demo", seeds: str = "1, 2, 3, 4", prompts: str = PAPER_PROMPTS[0],
                  num_frames: int = 16, fps: int = 12, strength: float = 1.0, truncation: float = 0.7,
                  schedule: str = "linear", progress=gr.Progress()):
    """Several seeds and/or prompts in one batched run: returns (gallery of MP4s, last frames, strip, plot, status)."""
    with user_errors():
        req = Request.parse(image=None, domain=domain, seeds=parse_seed_list(seeds), prompts=parse_prompt_lines(prompts),
                            num_frames=num_frames, fps=fps, strength=strength, truncation=truncation,
                            schedule=schedule)
        with closing(run(req, progress, write_gif=False)) as updates:
            for u in updates:
                gallery = [(str(v), f"clip {i}") for i, v in enumerate(u.videos)] if u.videos else None
                yield gallery, u.live, u.strip, plot_value(u.plot, "clip"), u.status


def plot_value(df, color: str):
    return gr.ScatterPlot(value=df, color=color) if df is not None else None


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def domain_info(domain: str) -> tuple[str, float]:
    """A line about the chosen domain, and its default truncation ψ for the slider."""
    spec = DOMAINS.get(domain) or DOMAINS["demo"]
    if spec.untrained:
        where = "built locally on first use, no download"
    elif cached_file(spec.weights) is not None:
        where = "weights on disk"
    else:
        where = f"weights download on first use ({spec.weights.repo_id})"
    photos = "photos supported" if spec.supports_photos else "sampled faces only (no photo encoder)"
    note = " — **untrained random weights: a check of the plumbing, never a result**" if spec.untrained else ""
    return f"Licence: {spec.licence} · {where} · {photos}{note}", spec.truncation


# -- the page -------------------------------------------------------------------------------------------------
START_DOMAIN, START_NOTICE = start_domain()
CONCURRENCY = env_int("LGANIM_CONCURRENCY", 1, 1)
QUEUE_SIZE = env_int("LGANIM_QUEUE_SIZE", 16, 1)
CSS = (".lganim-footer {font-size: 0.85em; opacity: 0.85} "
       "#live-frame img {width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated}")
THEME = gr.themes.Soft()


def footer() -> str:
    licences = "; ".join(f"{d.name}: {d.licence}" for d in DOMAINS.values() if not d.untrained)
    return (f"**Weights and licences** — {licences}. The FFHQ, MetFaces and AFHQ StyleGAN2 weights are NVIDIA's, "
            f"for non-commercial use only. The `demo` domain is untrained random weights built locally: it shows the "
            f"app working offline, never a result. No trained motion model has been published by the authors.\n\n"
            f"**Method** — {CITATION}")


with gr.Blocks(title="lganim: animate a face from a sentence", delete_cache=CACHE_SWEEP) as demo:
    gr.Markdown("# lganim — animate a face from a sentence\nPick a domain, sample a face from a seed (or drop in a "
                "photo), describe the motion, and watch the frames arrive.")
    gr.Markdown(START_NOTICE, visible=bool(START_NOTICE), elem_id="notice")
    with gr.Row():
        with gr.Column(scale=5):
            domain = gr.Dropdown([(domain_label(n), n) for n in DOMAINS], value=START_DOMAIN, label="Domain",
                                 elem_id="domain")
            info_text, start_psi = domain_info(START_DOMAIN)
            info = gr.Markdown(info_text)
            with gr.Tabs():
                with gr.Tab("One clip", id="single"):
                    with gr.Row():
                        image = checked_by_handler(gr.Image(
                            type="filepath", sources=["upload", "clipboard"], height=200, elem_id="photo",
                            label="Photo of a face (optional: replaces the seed's face)", scale=3))
                        aligned = gr.Image(label="Aligned face (what is animated)", type="numpy", interactive=False,
                                           height=200, elem_id="aligned", scale=2)
                    with gr.Row():
                        seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed (face)",
                                         elem_id="seed", scale=4)
                        dice = gr.Button("Random seed", scale=1, size="sm")
                    prompt = gr.Textbox(PAPER_PROMPTS[0], label="Prompt", lines=2, elem_id="prompt",
                                        info='A sentence, or a sequence: "The person is smiling; then winking."')
                    gr.Examples([[p] for p in PAPER_PROMPTS], inputs=[prompt], examples_per_page=len(PAPER_PROMPTS),
                                label="The paper's 28 training prompts")
                    with gr.Row():
                        go = gr.Button("Animate", variant="primary", elem_id="animate")
                        stop = gr.Button("Cancel", variant="stop", elem_id="cancel")
                with gr.Tab("Batch", id="batch"):
                    seeds = gr.Textbox("1, 2, 3, 4", label="Seeds (one clip per seed)", elem_id="seeds")
                    prompts = gr.Textbox(PAPER_PROMPTS[0], lines=3, label="Prompts (one per line; one prompt for all "
                                         "seeds, or one per seed)", elem_id="prompts")
                    with gr.Row():
                        go_batch = gr.Button("Animate batch", variant="primary", elem_id="animate-batch")
                        stop_batch = gr.Button("Cancel", variant="stop")
            with gr.Accordion("Motion settings", open=True):
                num_frames = gr.Slider(1, AnimationSettings.MAX_FRAMES, 16, step=1, label="Video length (frames)",
                                       elem_id="frames")
                fps = gr.Slider(1, AnimationSettings.MAX_FPS, 12, step=1, label="Frames per second")
                strength = gr.Slider(-4, 4, 1.0, step=0.1, label="Strength",
                                     info="How much motion; negative gives “less of it” (the opposite direction)")
                truncation = gr.Slider(0, 1, start_psi, step=0.05, label="Truncation ψ",
                                       info="Lower: more typical faces; higher: more varied")
                schedule = gr.Radio(list(SCHEDULES), value="linear", label="Motion schedule",
                                    info="How the step size decays over the clip")
        with gr.Column(scale=6):
            status = gr.Markdown("Ready.", elem_id="status")
            with gr.Row():
                live = gr.Image(label="Frames as they render", type="numpy", interactive=False, height=280,
                                elem_id="live-frame")
                video = gr.Video(label="Video (MP4)", interactive=False, autoplay=True, loop=True, height=280,
                                 elem_id="video")
            gif = gr.File(label="GIF download", interactive=False, elem_id="gif")
            gallery = gr.Gallery(label="Batch: one video per clip", columns=4, height=260, elem_id="gallery")
            strip = gr.Image(label="Frame strip", type="numpy", interactive=False, elem_id="strip")
            plot = gr.ScatterPlot(x="pc1", y="pc2", color="frame", label="Motion: 2-D PCA of the W+ offsets Δw[t]",
                                  height=240, elem_id="plot")
    gr.Markdown(footer(), elem_classes="lganim-footer")

    settings = [num_frames, fps, strength, truncation, schedule]
    single = go.click(animate, inputs=[image, domain, seed, prompt, *settings],
                      outputs=[video, gif, live, strip, plot, status, aligned], api_name="animate", preprocess=False,
                      show_progress="minimal", show_progress_on=[status])
    batch = go_batch.click(animate_batch, inputs=[domain, seeds, prompts, *settings],
                           outputs=[gallery, live, strip, plot, status], api_name="animate_batch", preprocess=False,
                           show_progress="minimal", show_progress_on=[status])
    for button in (stop, stop_batch):
        button.click(None, cancels=[single, batch])
    dice.click(random_seed, outputs=seed, queue=False, api_visibility="private")
    domain.change(domain_info, inputs=domain, outputs=[info, truncation], queue=False, api_visibility="private")

demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the lganim app.")
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1, or GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860, or GRADIO_SERVER_PORT)")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    demo.launch(server_name=args.host, server_port=args.port, theme=THEME, css=CSS, show_error=False)


if __name__ == "__main__":
    main()
