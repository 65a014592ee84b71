"""Puppeteering a face live: camera frames in, one at a time and in time order, the puppet's frames out.

    anim = Animator.from_pretrained("demo")
    session = LiveSession(anim, LiveRequest(seed=1))
    for frame in camera:                      # uint8 [H, W, 3]
        shown = session.step(frame)           # uint8 [S, S, 3] (a photo: the photo's size)
    session.track().save("me.json")           # Drive replays it: Driving("video", Path("me.json"))

Each step uses that frame and the past only (never a later frame):
1. the face is followed (tracks.video.FaceTracker; frames larger than DETECT_SIDE are shrunk for it) and its
   landmarks steadied by a One-Euro filter (`LiveRequest.smooth`); with several faces, the tracker keeps the one it
   found first;
2. its channels are measured relative to the neutral pose (face.channels.relative_channels): the first frame where
   the face is found, and again the first one after `recentre()`;
3. the face is lost: its last pose is held LIVE_HOLD_SECONDS, then eases back to neutral over LIVE_EASE_SECONDS (a
   smoothstep); before any face was seen, the puppet keeps the still face;
4. the region's channels, scaled (motion.driven.region_values, as the Drive tab) → Δw through the domain's control
   directions (`ControlDirections.offsets`) → w = w0 + Δw → one frame rendered by the Animator's renderer (not again
   while w and the crop move stay the same);
5. roll, tx, ty and scale move the crop (face.composite): within its own frame for a seed (on the render device),
   or where it sits in the photo, pasted back.
Every step adds one sample to the session's motion track (`track()`): its time, the measured channels (before the
region and the scales), valid = the face was found — the file the Drive tab and `retarget --driving` replay (a
replay interpolates lost samples instead of holding and easing them).

Shapes: L = num_ws W+ layers, D = style_dim, S = the StyleGAN2's resolution.
"""
from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from . import checks
from .config import (
    CHANNELS,
    DEFAULT_DRIVEN_FPS,
    LIVE_EASE_SECONDS,
    LIVE_HOLD_SECONDS,
    LIVE_STATS_WINDOW,
    MAX_DRIVEN_FRAMES,
    MAX_TRACK_FPS,
    MAX_VIDEO_PIXELS,
)
from .errors import LganimError
from .face.channels import FaceMeasures, measure_face, relative_channels
from .face.composite import move_images, paste_back
from .motion.directions import ControlDirections
from .motion.driven import crop_moves, region_values
from .request import LiveRequest
from .startcodes import PhotoFace, seed_codes
from .tracks.one_euro import OneEuroFilter
from .tracks.track import Track
from .tracks.video import DETECT_SIDE, FaceTracker

# One-Euro settings of the landmarks (speeds in face widths a second), at LiveRequest.smooth = s > 0: the cut-off of
# a still face falls from 10 Hz (s → 0) through 1 Hz (s = 0.5) to 0.1 Hz (s = 1); BETA raises it with the speed, so
# that a turning head lags little (measured on the rolling test clip at s = 0.5: see docs/driving.md, "Live").
BETA = 8.0
D_CUTOFF = 1.0


def one_euro(smooth: float) -> OneEuroFilter | None:
    """The landmarks' filter of a smoothing amount 0..1 (None at 0: no smoothing)."""
    if smooth <= 0:
        return None
    return OneEuroFilter(min_cutoff=10.0 ** (1 - 2 * smooth), beta=BETA, d_cutoff=D_CUTOFF)


@dataclass
class LiveFace:
    """The face a session moves: its W+ code [1, L, D] (a seed's, a photo's, an edit's) and, for a photo, the photo
    it is pasted back into (`PhotoFace.canvas`; None: the crop alone)."""

    w: torch.Tensor
    photo: PhotoFace | None = None


def live_face(anim, request: LiveRequest) -> LiveFace:
    """The face of a request: a seed's start code (ψ: the request's or the domain's), or a photo aligned and
    inverted as the pipeline does it."""
    face = request.as_request()
    with torch.inference_mode():
        if face.image is not None:
            photo = anim.photos.read(face.image, face.face_index, face.paste_back)
            return LiveFace(anim.photos.invert(photo, face.refine_steps), photo)
        psi = anim.domain.truncation if face.truncation is None else face.truncation
        return LiveFace(seed_codes(anim.stylegan, face.seeds, psi))


@dataclass
class _Sample:
    t: float
    valid: bool
    channels: dict[str, float]


class LiveSession:
    """A face driven live by camera frames (the module doc). Thread-safe: a page may step it from one request and
    re-centre it or read its track from another.

    anim: the domain's Animator (its StyleGAN2, renderer, photo encoder). request: the face and how the camera drives
    it. face: the face itself instead of the request's (e.g. an edit's code). directions: the domain's control
    directions (default: the Animator's, `Animator.directions`).
    """

    def __init__(self, anim, request: LiveRequest | None = None, *, face: LiveFace | None = None,
                 directions: ControlDirections | None = None):
        self.anim = anim
        self.request = request or LiveRequest()
        self.face = face or live_face(anim, self.request)
        if tuple(self.face.w.shape) != (1, anim.stylegan.num_ws, anim.stylegan.style_dim):
            raise LganimError(f"A live face needs a W+ code of shape (1, {anim.stylegan.num_ws}, "
                              f"{anim.stylegan.style_dim}), got {tuple(self.face.w.shape)}.")
        self.w0 = self.face.w.to(anim.device, anim.stylegan.dtype)                           # [1, L, D]
        self.directions = directions if directions is not None else anim.directions
        self.tracker = FaceTracker(one_euro(self.request.smooth))
        self._lock = threading.Lock()
        self._samples: deque[_Sample] = deque(maxlen=MAX_DRIVEN_FRAMES)
        self._timings: deque[tuple[float, float]] = deque(maxlen=MAX_DRIVEN_FRAMES)   # (start, end) of each step
        self._neutral: FaceMeasures | None = None
        self._neutral_times: list[float] = []         # when a neutral pose was taken (the first, then re-centres)
        self._held: dict[str, float] | None = None    # the last pose with the face found
        self._lost_since: float | None = None
        self._t0: float | None = None
        self._last_t: float | None = None
        self._shown: tuple[tuple, np.ndarray] | None = None   # (what it was rendered from, the frame)

    # -- settings ------------------------------------------------------------------------------------------
    def set_drive(self, *, region: str | None = None, pose_scale: float | None = None,
                  expression_scale: float | None = None) -> None:
        """Change what drives the face and how much, from the next frame on (checked as a LiveRequest)."""
        changes = {k: v for k, v in dict(region=region, pose_scale=pose_scale,
                                         expression_scale=expression_scale).items() if v is not None}
        with self._lock:
            self.request = dataclasses.replace(self.request, **changes)

    def recentre(self) -> None:
        """Take the next frame where the face is found as the neutral pose."""
        with self._lock:
            self._neutral = None

    # -- one frame -----------------------------------------------------------------------------------------
    def step(self, frame: np.ndarray, t: float | None = None) -> np.ndarray:
        """One camera frame uint8 [H, W, 3] in (at time `t` seconds, increasing; default: the clock), the puppet's
        frame out: uint8 [S, S, 3], or the photo's [H', W', 3] when the face was a photo pasted back."""
        start = time.perf_counter()
        frame = checks.rgb_frame("A camera frame", frame, MAX_VIDEO_PIXELS)
        with self._lock:
            t = self._time(t)
            landmarks = self.tracker.update(self._for_tracking(frame), t)     # in the tracked frame's pixels
            measures = None if landmarks is None else self._measure(landmarks)
            if measures is not None:
                if self._neutral is None:
                    self._neutral = measures
                    self._neutral_times.append(t)
                values = relative_channels(measures, self._neutral)
                self._held, self._lost_since = values, None
            else:
                values = self._fading(t)
            self._samples.append(_Sample(t, measures is not None, values))
            shown = self._render(values)
            self._timings.append((start, time.perf_counter()))
            return shown

    def _time(self, t: float | None) -> float:
        """The step's time in seconds: the caller's `t`, or the clock's from the session's first frame (checked to
        increase)."""
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now if t is None else 0.0
        t = now - self._t0 if t is None else checks.number("The frame time", t, -1e9, 1e9)
        if self._last_t is not None and not t > self._last_t:
            raise LganimError(f"Camera frames must come in time order: t = {t!r} s after {self._last_t!r} s.")
        self._last_t = t
        return t

    @staticmethod
    def _for_tracking(frame: np.ndarray) -> np.ndarray:
        """The frame at most DETECT_SIDE on its longest side: what the tracker reads (every channel is a ratio or
        an angle, so the size it is measured at does not matter)."""
        h, w = frame.shape[:2]
        if max(h, w) <= DETECT_SIDE:
            return frame
        k = DETECT_SIDE / max(h, w)
        small = Image.fromarray(frame).resize((max(round(w * k), 1), max(round(h * k), 1)), Image.Resampling.BILINEAR)
        return np.asarray(small)

    @staticmethod
    def _measure(landmarks: np.ndarray) -> FaceMeasures | None:
        """The face's measures, or None for degenerate landmarks (taken as a lost face)."""
        try:
            return measure_face(landmarks)
        except LganimError:
            return None

    def _fading(self, t: float) -> dict[str, float]:
        """The pose shown while the face is lost: the last one held, then eased back to neutral (empty: none yet)."""
        if self._held is None:
            return {}
        if self._lost_since is None:
            self._lost_since = t
        a = min(max((t - self._lost_since - LIVE_HOLD_SECONDS) / LIVE_EASE_SECONDS, 0.0), 1.0)
        keep = 1.0 - a * a * (3 - 2 * a)                                     # smoothstep from 1 down to 0
        return {name: keep * v for name, v in self._held.items()}

    def _render(self, values: dict[str, float]) -> np.ndarray:
        """The puppet's frame for one pose (channels relative to neutral, before the region and scales)."""
        r = self.request
        driven = region_values({name: np.array([v]) for name, v in values.items()}, r.region, r.pose_scale,
                               r.expression_scale)                                              # name -> [1]
        offsets = {name: v for name, v in driven.items() if name in self.directions.directions}
        moves = crop_moves(driven, 1)                                                          # [1, 3, 3] or None
        key = (tuple(sorted((name, float(v[0])) for name, v in offsets.items())),
               None if moves is None else tuple(moves.ravel().tolist()))
        if self._shown is not None and self._shown[0] == key:
            return self._shown[1].copy()
        w = self.w0
        if offsets:
            w = w + self.directions.offsets(offsets).to(w)                                       # [1, L, D]
        with torch.inference_mode():
            images = self.anim.renderer(w)                                                     # [1, 3, S, S]
            levels = ((images.float().clamp(-1, 1) + 1) * 127.5).round()                       # uint8 levels
            photo = self.face.photo
            if moves is not None and (photo is None or photo.canvas is None):
                levels = move_images(levels, moves).round().clamp(0, 255)                      # on the device
            crop = levels.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()                    # [1, S, S, 3]
        if photo is not None and photo.canvas is not None:
            shown = paste_back(photo.canvas, crop, photo.aligned, transforms=moves)[0]
        else:
            shown = crop[0]
        self._shown = (key, shown)
        return shown.copy()

    # -- what the session did --------------------------------------------------------------------------------
    @property
    def found(self) -> bool:
        """Whether the face was found in the last frame."""
        return self.tracker.found

    @property
    def last_time(self) -> float | None:
        """The time of the last step (seconds from the first frame), None before the first."""
        return self._last_t

    def track(self, after: float | None = None) -> Track:
        """The session's motion (its last MAX_DRIVEN_FRAMES steps) after time `after` (seconds; default: all): one
        sample per step, the channels relative to the neutral pose, valid where the face was found."""
        with self._lock:
            samples = [s for s in self._samples if after is None or s.t > after]
            if not samples:
                raise LganimError("The live session has no frame to make a track of yet.")
            t = np.array([s.t for s in samples])
            channels = {name: np.array([s.channels.get(name, 0.0) for s in samples]) for name in CHANNELS}
            fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else DEFAULT_DRIVEN_FPS
            valid = np.array([s.valid for s in samples])
            meta = {"source": "live", "tracker": "dlib-hog-68", "domain": self.anim.domain.name,
                    "seed": None if self.request.image is not None else self.request.seed or 0,
                    "live_smoothing": self.request.smooth, "lost": int((~valid).sum()),
                    "neutral_times": [x for x in self._neutral_times if after is None or x > after]}
            return Track(fps=min(fps, MAX_TRACK_FPS), t=t, channels=channels, valid=valid, meta=meta)

    def latencies_ms(self) -> list[float]:
        """Each step's latency in milliseconds (tracking, rendering, compositing), oldest first."""
        with self._lock:
            return [1000 * (end - start) for start, end in self._timings]

    def stats(self, window: float | None = LIVE_STATS_WINDOW) -> dict:
        """How fast the session runs: {"frames": steps so far, "latency_ms": `latency_summary` of one step
        (tracking, rendering, compositing), "fps": steps a second} over the steps that ended in the last `window`
        seconds (None: all of them)."""
        with self._lock:
            timings = list(self._timings)
        frames = len(timings)
        if window is not None and timings:
            timings = [x for x in timings if x[1] >= timings[-1][1] - window]
        if not timings:
            return {"frames": frames, "latency_ms": None, "fps": None}
        span = timings[-1][1] - timings[0][0]
        return {"frames": frames, "latency_ms": latency_summary([1000 * (end - start) for start, end in timings]),
                "fps": len(timings) / span if span > 0 else None}


def latency_summary(ms: list[float]) -> dict[str, float]:
    """{"p50", "p95", "mean", "max"} of latencies in milliseconds (p95: the nearest rank)."""
    ms = sorted(ms)
    return {"p50": statistics.median(ms), "p95": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))],
            "mean": statistics.fmean(ms), "max": ms[-1]}


__all__ = ["LiveFace", "LiveSession", "live_face", "latency_summary", "one_euro", "BETA", "D_CUTOFF"]
