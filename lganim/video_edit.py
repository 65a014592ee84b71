"""Editing an existing video: a sentence (or control-channel offsets) on the face of every frame, everything else of
the video kept — its frames, times, sound, framing and background (`Animator.edit_video`, `VideoEditRequest`).

    anim = Animator.from_pretrained("human")
    result = anim.edit_video(VideoEditRequest(video="vlog.mp4", prompt="The person is smiling."))
    original, edited = result.info["preview"]      # one frame, uint8 [H, W, 3] each, before the whole clip
    result.save("smiling.mp4")                      # every frame at the video's times, with its own sound

Two passes over the video, each one frame at a time:
1. tracking (tracks.video.track_video, dlib): the face's FFHQ crop square in every frame, steadied by a Gaussian of
   QUAD_SMOOTH seconds over the frames where it was found; the frame count and times; the frames where the face is
   lost, which pass through unedited;
2. editing, streamed from the decoder to the output stage: each frame's crop (at the photo encoder's input size) →
   e4e → its W+ code ŵ_t, steadied by a Gaussian of CODE_SMOOTH seconds (the look-ahead frames are held in memory,
   a chunk and a few frames) → the edit, added to the frame inside its crop square with a feathered edge:

       residual (default):  frame_t + paste(G(ŵ_t + strength · Δ_t) − G(ŵ_t))
       reconstruction:      paste(G(ŵ_t + strength · Δ_t))           (VideoEditRequest(residual=False))

   The residual keeps every pixel the edit does not change — identity, mouth, blinks, the lighting — and needs no
   faithful inversion: the inversion only says where in W+ the edit is taken (docs/video.md has the measurements
   that chose it). A frame whose edit is zero (outside the time range, strength 0) is the decoded frame itself.

The edit Δ_t [L, D] = Σ_k r_k(t) · A_k + r_0(t) · Σ_c v_c · d_c: prompt segment k's fitted direction A_k (as
`Editor.direction` fits it, cached per domain and prompt) and the control directions d_c (`Animator.directions`)
at the values v_c; r_k rises from 0 to 1 (a smoothstep of at most VIDEO_EDIT_RAMP seconds) where segment k starts,
and every r falls back to 0 at the end of the time range. Later segments add to the earlier ones, as a clip's
prompt sequence continues from where its last segment ended.

The result is an `AnimationResult` like every door's: its plan's Δw [1, T, L, D] is the edit per frame (added to
each frame's own code, not to a w0), its w0 the preview frame's code, its sound the video's own (copied into the
MP4 as it is where the container allows), its track the face's motion track; `rerender(strength=...)` edits again
without tracking or fitting. Shapes: T frames, L = num_ws W+ layers, D = style_dim, S = the StyleGAN2's resolution.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import (
    DEFAULT_CHUNK,
    DRIVEN_CHANNELS,
    MAX_DRIVEN_FRAMES,
    MAX_FPS,
    MAX_VIDEO_SIDE,
    VIDEO_EDIT_RAMP,
    StageProgress,
)
from .edit import Editor
from .errors import LganimError
from .face.align import warp_quad
from .face.composite import blend_into
from .media.video_reader import iter_video, output_size, probe_video
from .models.e4e import invert
from .motion.sequences import split_prompt
from .motion.source import Motion
from .plan import FrameChunk, Plan
from .request import Request, VideoEditRequest
from .tracks.track import Track
from .tracks.video import track_video

QUAD_SMOOTH = 0.06      # seconds: σ of the Gaussian that steadies the crop squares (landmarks jitter by a pixel or two)
CODE_SMOOTH = 0.04      # seconds: σ of the Gaussian that steadies the frames' W+ codes (e4e answers each frame alone)
REACH = 2.0             # both Gaussians reach ±REACH σ
FEATHER = 0.1           # the soft edge of the pasted change, a share of the crop side (face.composite)


@dataclass
class VideoFace:
    """The face followed through a video (the first pass), in the pixels of the frames that are edited."""

    t: np.ndarray               # float64 [T] the frames' times, seconds (as decoded)
    quads: np.ndarray           # float64 [T, 4, 2] crop squares (face.quad), steadied, in the edited frames' pixels
    valid: np.ndarray           # bool [T]: the face was found in the frame
    size: tuple[int, int]       # (W, H) of the edited frames: the video's upright size, at most MAX_VIDEO_SIDE
    source_size: tuple[int, int]  # (W, H) of the video (upright)
    track: Track                # the face's motion track (tracks.video)

    def __len__(self) -> int:
        return len(self.t)

    @property
    def fps(self) -> float:
        """The frames' average rate (what the edited video is written at)."""
        return self.track.fps

    @property
    def lost(self) -> int:
        """Frames where the face was not found (they pass through unedited)."""
        return int((~self.valid).sum())


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, 3x² − 2x³ in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def gaussian_windows(t: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """For each frame the frames within ±REACH·sigma seconds of it: [lo, hi) index bounds, int [T] each."""
    reach = REACH * sigma
    return np.searchsorted(t, t - reach, side="left"), np.searchsorted(t, t + reach, side="right")


def gaussian_weights(t: np.ndarray, i: int, lo: int, hi: int, sigma: float) -> np.ndarray:
    """The Gaussian weights [hi − lo] of frames lo..hi−1 around frame i (sigma in seconds; 0: frame i alone)."""
    if sigma <= 0:
        return (np.arange(lo, hi) == i).astype(np.float64)
    return np.exp(-0.5 * ((t[lo:hi] - t[i]) / sigma) ** 2)


def steady(t: np.ndarray, values: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """values [T, ...] averaged in time with a Gaussian of `sigma` seconds over the valid frames (an invalid frame
    keeps its value, and is left out of its neighbours' averages)."""
    lo, hi = gaussian_windows(t, sigma)
    out = values.astype(np.float64).copy()
    for i in np.flatnonzero(valid):
        w = gaussian_weights(t, i, lo[i], hi[i], sigma) * valid[lo[i]:hi[i]]
        out[i] = np.tensordot(w / w.sum(), values[lo[i]:hi[i]], axes=1)
    return out


def follow_face(video: Path, face_index: int = 0, progress: StageProgress | None = None) -> VideoFace:
    """The first pass: the face tracked through the video, its crop squares steadied and scaled to the frames that
    are edited (the video's upright size, its longer side at most MAX_VIDEO_SIDE)."""
    info = probe_video(video)
    steps = None if progress is None else (lambda done, total: progress("Tracking the face", done, total))
    tracked = track_video(video, progress=steps, face_index=face_index)
    t, valid = tracked.track.t, tracked.track.valid
    size = output_size(info, MAX_VIDEO_SIDE)
    scale = size[0] / info.width
    quads = steady(t, tracked.quads.reshape(len(t), 8), valid, QUAD_SMOOTH).reshape(-1, 4, 2) * scale
    return VideoFace(t, quads, valid, size, (info.width, info.height), tracked.track)


def edit_weights(t: np.ndarray, start: float | None, end: float | None, segments: int) -> np.ndarray:
    """How much of each part of the edit every frame gets: float64 [T, 1 + segments] in [0, 1], column 0 the
    controls, column k the prompt's segment k (module doc). `t`: the frames' times; start/end: seconds from the
    first frame (None: from the first frame, to the last)."""
    tau = t - t[0]
    t0 = 0.0 if start is None else start
    t1 = tau[-1] if end is None else end
    if t0 > tau[-1]:
        raise LganimError(f"The start time ({t0:g} s) is after the video's last frame ({tau[-1]:.2f} s).")
    span, parts = max(t1 - t0, 0.0), max(segments, 1)
    fade_out = 1.0 if end is None else smoothstep((t1 - tau) / max(min(VIDEO_EDIT_RAMP, span / 2), 1e-9))
    columns = []
    for k in range(parts):
        if k == 0 and start is None:
            rise = np.ones_like(tau)                                       # from the first frame on: no ramp
        else:                                                              # 0 before the segment's start
            rise = smoothstep((tau - t0 - k * span / parts) / max(min(VIDEO_EDIT_RAMP, span / parts / 2), 1e-9))
        columns.append(rise * fade_out)
    return np.stack([columns[0], *columns[:segments]], axis=1)            # [T, 1 + segments]


@dataclass
class EditDirections:
    """The edit's W+ directions, float32 CPU: the controls' sum C [L, D] and each prompt segment's A_k [K, L, D]."""

    controls: torch.Tensor
    prompts: torch.Tensor

    def offsets(self, weights: np.ndarray) -> torch.Tensor:
        """Δ [T, L, D] of per-frame weights [T, 1 + K] (`edit_weights`)."""
        w = torch.from_numpy(weights).float()
        parts = torch.cat([self.controls[None], self.prompts])                    # [1 + K, L, D]
        return torch.einsum("tk,kld->tld", w, parts)


Encode = Callable[[list[int], np.ndarray], torch.Tensor]     # (frame indices, frames uint8 [n, H, W, 3]) -> ŵ [n, L, D]


def e4e_encode(encoder: torch.nn.Module, latent_avg: torch.Tensor, quads: np.ndarray) -> Encode:
    """The codes of frames from an e4e encoder (models.e4e.invert): frame i's face cropped along quads[i] at the
    encoder's input size."""
    size = encoder.config.input_size

    def encode(indices: list[int], frames: np.ndarray) -> torch.Tensor:
        crops = np.stack([warp_quad(f, quads[i], size) for i, f in zip(indices, frames)])     # [n, s, s, 3]
        return invert(encoder, latent_avg, crops)

    return encode


class VideoEdit:
    """How a video's frames are edited (module doc): its face (`VideoFace`, the first pass) and the domain's editor
    (StyleGAN2, renderer, photo encoder).

    video: the file the frames are decoded from (None: frames are given to `stream`). residual: add the change the
    edit makes (True) or paste the reconstruction back. smooth: σ in seconds of the codes' Gaussian (0: none).
    encode: what gives the frames' codes (default: the domain's e4e on the crops at its input size; e.g. known
    codes in a measurement). chunk_size: frames per chunk that comes out.
    """

    def __init__(self, video: Path | None, editor: Editor, face: VideoFace, *, residual: bool = True,
                 smooth: float = CODE_SMOOTH, encode: Encode | None = None, chunk_size: int = DEFAULT_CHUNK):
        self.video, self.editor, self.face = video, editor, face
        self.residual, self.smooth, self.chunk_size = residual, smooth, chunk_size
        self.encode = encode or e4e_encode(*editor.photos.encoder(), face.quads)
        self.windows = gaussian_windows(face.t, smooth)         # the frames each frame's code is steadied over

    # -- the second pass ----------------------------------------------------------------------------------------
    def render(self, plan: Plan, steps: int | None = None) -> Iterator[FrameChunk]:
        """Every frame of the video in time order, edited at the plan's strength (its Δw [1, T, L, D] is the edit per
        frame), in chunks of `chunk_size` frames (at most `steps`); each chunk carries the frames it was made from."""
        size = self.chunk_size if steps is None else max(1, min(steps, self.chunk_size))
        yield from self.stream(self.frames(), plan.motion.offsets[0].float().cpu(), plan.request.strength, size)

    def frames(self, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, frame uint8 [H, W, 3]) of the video's frames up to `stop` (exclusive; None: all), decoded at the
        edited size; the count must be the first pass's."""
        count = 0
        frames = iter_video(self.video, max_side=MAX_VIDEO_SIDE)
        try:
            for count, (_, frame) in enumerate(frames, start=1):
                if count > len(self.face):
                    break
                yield count - 1, frame
                if stop is not None and count >= stop:
                    return
        finally:
            frames.close()
        if count != len(self.face):
            raise LganimError(f"'{self.video.name}' decoded to {count} frames, then to {len(self.face)}; "
                              f"re-encode the video (e.g. to MP4) and try again.")

    def stream(self, frames: Iterator[tuple[int, np.ndarray]], offsets: torch.Tensor, strength: float,
               size: int | None = None) -> Iterator[FrameChunk]:
        """Edit frames given in order as (index, uint8 [H, W, 3]): a frame is finished once every frame its code is
        steadied over has been read (or the frames end), and comes out in chunks of `size` (None: `chunk_size`).
        What is held: the frames read and not yet out (a chunk and the look-ahead), and the codes a later frame is
        steadied with."""
        size = size or self.chunk_size
        lo, hi = self.windows
        edited = self.edited(offsets, strength)                                            # [T]
        needed = np.zeros(len(self.face), dtype=bool)           # frames whose code an edited frame is steadied with
        for i in np.flatnonzero(edited):
            needed[lo[i]:hi[i]] = True
        needed &= self.face.valid
        held: list[tuple[int, np.ndarray]] = []
        codes: dict[int, torch.Tensor] = {}                       # frame -> ŵ [L, D]
        for last, frame in frames:
            held.append((last, frame))
            ready = sum(1 for i, _ in held if hi[i] - 1 <= last)                       # all they need is read
            while ready >= size:
                yield self._finish(held[:size], held, codes, needed, edited, offsets, strength)
                del held[:size]
                ready -= size
        while held:
            part = held[:size]
            yield self._finish(part, held, codes, needed, edited, offsets, strength)
            del held[:len(part)]

    def edited(self, offsets: torch.Tensor, strength: float) -> np.ndarray:
        """bool [T]: the frames that change: the face found and a non-zero edit there (at strength 0 too when the
        reconstruction is pasted back)."""
        return self.face.valid & (bool(strength) or not self.residual) & (offsets != 0).flatten(1).any(1).numpy()

    def _finish(self, part, held, codes, needed, edited, offsets, strength) -> FrameChunk:
        """The frames `part` (a prefix of the frames `held`) edited, after the codes of every needed frame held."""
        self._invert([(i, f) for i, f in held if needed[i] and i not in codes], codes)
        for i in [i for i in codes if i < self.windows[0][part[0][0]]]:
            del codes[i]                                                                  # no later frame needs it
        source = np.stack([f for _, f in part])                                           # [n, H, W, 3]
        edit = [i for i, _ in part if edited[i]]
        frames = self._edit(source, part[0][0], edit, torch.stack([self._steady(i, codes) for i in edit])
                            if edit else None, offsets, strength)
        return FrameChunk(part[0][0], frames[None], source=source)

    def _invert(self, pairs: list[tuple[int, np.ndarray]], codes: dict[int, torch.Tensor]) -> None:
        """Add the code ŵ [L, D] of each (index, frame) to `codes`."""
        if pairs:
            indices = [i for i, _ in pairs]
            codes.update(zip(indices, self.encode(indices, np.stack([f for _, f in pairs]))))

    def _steady(self, i: int, codes: dict[int, torch.Tensor]) -> torch.Tensor:
        """Frame i's code steadied: the Gaussian average [L, D] of the codes around it (`smooth` seconds)."""
        lo, hi = self.windows[0][i], self.windows[1][i]
        near = [j for j in range(lo, hi) if j in codes]
        w = torch.from_numpy(gaussian_weights(self.face.t, i, lo, hi, self.smooth)[np.array(near) - lo])
        stacked = torch.stack([codes[j] for j in near])                                   # [m, L, D]
        return torch.einsum("m,mld->ld", (w / w.sum()).to(stacked), stacked)

    def _edit(self, source: np.ndarray, first: int, edit: list[int], w_hat: torch.Tensor | None,
              offsets: torch.Tensor, strength: float) -> np.ndarray:
        """Frames first.. (uint8 [n, H, W, 3]) with frames `edit` edited from their steadied codes w_hat [e, L, D]."""
        out = source.copy()
        if not edit:
            return out
        changed = w_hat + strength * offsets[edit].to(w_hat)                              # [e, L, D]
        ws = torch.cat([changed, w_hat]) if self.residual else changed
        with torch.inference_mode():
            images = torch.cat([x.float() for x in self.editor.renderer.stream(ws)])      # [e or 2e, 3, S, S]
        levels = (images.clamp(-1, 1) + 1) * 127.5                                        # uint8 levels
        for k, i in enumerate(edit):
            if self.residual:                                                             # the change the edit makes
                out[i - first] = blend_into(out[i - first], levels[k] - levels[len(edit) + k], self.face.quads[i],
                                            difference=True, feather=FEATHER)
            else:                                                                         # the reconstruction
                out[i - first] = blend_into(out[i - first], levels[k].round(), self.face.quads[i], feather=FEATHER)
        return out

    # -- one frame first ----------------------------------------------------------------------------------------
    def preview_index(self, offsets: torch.Tensor) -> int:
        """The frame the preview shows: the first one with the face where the edit is at its largest."""
        size = offsets.flatten(1).norm(dim=1).numpy()                                      # [T]
        return int(np.argmax(np.where(self.face.valid, size, -1.0)))

    def preview(self, offsets: torch.Tensor, strength: float,
                progress: StageProgress | None = None) -> tuple[int, np.ndarray, np.ndarray, torch.Tensor]:
        """(index, the original frame, the edited frame — what the whole clip shows there —, its steadied code
        [L, D]) of `preview_index`: only the frames its code is steadied over are read past it (progress: the frames
        read, as "Editing one frame first")."""
        index = self.preview_index(offsets)
        lo, hi = self.windows[0][index], self.windows[1][index]
        window = []
        for i, f in self.frames(stop=hi):
            if progress is not None:
                progress("Editing one frame first", i + 1, int(hi))
            if i >= lo:
                window.append((i, f))
        codes: dict[int, torch.Tensor] = {}
        self._invert([(i, f) for i, f in window if self.face.valid[i]], codes)
        w = self._steady(index, codes)
        original = dict(window)[index]
        edit = [index] if self.edited(offsets, strength)[index] else []
        return index, original, self._edit(original[None], index, edit, w[None], offsets, strength)[0], w


def prepare_video_edit(request: VideoEditRequest, editor: Editor, chunk_size: int | None = None,
                       progress: StageProgress | None = None) -> tuple[Plan, VideoEdit, dict]:
    """Everything before the frames: the values checked against the domain, the face tracked, the edit's directions
    fitted, the one-frame preview. chunk_size: codes per synthesis call (the renderer's; a chunk of frames renders
    twice as many with the residual). Returns the plan, the `VideoEdit` that renders it, and the result's info:
    "preview" (the original and the edited frame), "preview_index", "preview_time", "lost" (frames without the
    face, passed through unedited), "frames", "size" and "source_size" ((W, H) edited and of the video)."""
    domain = editor.domain
    if editor.photos.source is None:
        raise LganimError(f"The {domain.name} domain has no photo encoder, so it cannot edit the faces of a video: "
                          f"use the human domain.")
    values = editor.check(request.as_edit())                     # every channel's value, its range checked
    header = probe_video(request.video)                          # its length and size checked before it is read
    if header.duration and header.fps and header.duration * header.fps > MAX_DRIVEN_FRAMES * 1.01:
        raise LganimError(f"'{request.video.name}' has about {header.duration * header.fps:.0f} frames; lganim edits "
                          f"videos of up to {MAX_DRIVEN_FRAMES} frames: trim it first.")
    face = follow_face(request.video, request.face_index, progress)
    if len(face) > MAX_DRIVEN_FRAMES:
        raise LganimError(f"'{request.video.name}' has {len(face)} frames; lganim edits videos of up to "
                          f"{MAX_DRIVEN_FRAMES} frames: trim it first.")
    if face.fps > MAX_FPS:
        raise LganimError(f"'{request.video.name}' runs at {face.fps:.0f} frames a second; lganim writes videos of "
                          f"up to {MAX_FPS}: re-encode it at a lower rate first (e.g. with -r 30).")
    segments = [] if request.prompt is None else split_prompt(request.prompt)
    weights = edit_weights(face.t, request.start, request.end, len(segments))
    stylegan = editor.stylegan
    shape = (stylegan.num_ws, stylegan.style_dim)
    driven = {c: np.array([values[c]]) for c in DRIVEN_CHANNELS if values[c]}
    controls = editor.directions().offsets(driven)[0] if driven else torch.zeros(shape)                # [L, D]
    fitting = None if progress is None else (lambda step, steps, loss: progress("Fitting the prompt", step, steps))
    prompts = torch.stack([editor.direction(s, fitting) for s in segments]) if segments else torch.zeros(0, *shape)
    directions = EditDirections(controls.float().cpu(), prompts.float().cpu())
    offsets = directions.offsets(weights)                                                            # [T, L, D]
    codes = chunk_size or DEFAULT_CHUNK                  # codes per synthesis call: the residual renders two a frame
    edit = VideoEdit(request.video, editor, face, residual=request.residual,
                     chunk_size=max(1, codes // 2) if request.residual else codes)
    index, original, edited, w0 = edit.preview(offsets, request.strength, progress)
    track = Track(face.fps, face.t, face.track.channels, face.valid,
                  dict(face.track.meta, edit={"prompt": request.prompt, "controls": request.controls,
                                              "strength": request.strength, "start": request.start,
                                              "end": request.end}))
    sound = request.video if header.has_audio else None
    clip = Request(num_frames=len(face), fps=min(MAX_FPS, max(1, round(face.fps))), strength=request.strength)
    plan = Plan(clip, w0[None], Motion(offsets[None], None, sound, track), domain.truncation, video_fps=face.fps)
    info = {"preview": (original, edited), "preview_index": index, "preview_time": float(face.t[index] - face.t[0]),
            "lost": face.lost, "frames": len(face), "size": face.size, "source_size": face.source_size}
    return plan, edit, info


__all__ = ["QUAD_SMOOTH", "CODE_SMOOTH", "REACH", "FEATHER", "VideoFace", "VideoEdit", "EditDirections", "Encode",
           "e4e_encode", "follow_face", "edit_weights", "steady", "smoothstep", "prepare_video_edit"]
