"""Tracking a face through a video: dlib landmarks per frame -> a motion track (`track.py`).

One tracker serves video files (`track_video`, the `track` command) and live cameras (lganim.live): `FaceTracker`
takes the frames one at a time, in order, and never looks ahead. dlib's HOG detector (no upsampling) searches the
whole frame only to find the face and to find it again when it is lost; in between, the face is followed:

1. Acquire: before the face is first seen, take the highest-scoring detection with a score >= 0
   (dlib's own threshold; ties: the largest), or with `face_index` k the (k+1)-th in that order (a frame with fewer
   such faces is searched as a lost one).
2. Follow: the box where the face should be comes from the previous frame's landmarks (their centroid and RMS
   radius, with dlib's own box proportions, BOX_WIDTH and BOX_OFFSET); the landmark predictor fits the 68 points
   in it. The check that tells a found face from a lost one: dlib's detector
   run on a small window around that box (CHECK_MARGIN), scaled so that the face is CHECK_FACE pixels across —
   a few milliseconds instead of a whole frame's search. It must find a face of a similar size (FOLLOW_SIZE)
   within FOLLOW_DISTANCE box widths, with a score down to FOLLOW_SCORE (a turning or blurred face scores low);
   when that detection lies more than RESEED_DISTANCE widths from the box, or its size differs by more than
   RESEED_SIZE, its box is used instead (the followed box can never drift off the face).
3. When the check fails, the whole frame is searched as in 2 of the earlier, detect-every-frame tracker: the
   detection nearest the previous face among those within FOLLOW_DISTANCE widths of it and of a similar size.
4. Re-acquire: when that finds nothing, the frame is lost (valid = False) and the next face is the detection
   nearest the last known face among those within REACQUIRE_DISTANCE widths of it (weak scores accepted) or,
   anywhere, with a confident score >= ACQUIRE_SCORE. (dlib's weak false faces, e.g. ~0.3 on a plain canvas,
   docs/facts.md "Dependencies", are never taken far from the face.) Lost frames of a file are interpolated.

The landmarks can be smoothed causally (`OneEuroFilter`, for the live path; the file path smooths afterwards, with
`Track.smooth`, if asked).

Channels (see `config.CHANNELS`), relative to a neutral frame (lganim.face.channels.relative_channels):
- mouth_open, mouth_wide, smile, eye_l, eye_r, brow: `face_channels` of the landmarks minus the
  neutral frame's (distances over the inter-ocular distance, measured along the face's own axes);
- yaw, pitch: angles of the head rotation (lganim.face.headpose) relative to the neutral frame's;
- roll, tx, ty, scale: from the FFHQ crop square of each frame (lganim.face.quad), which is
  also what pastes an animated crop back: roll = the rotation of the square's x axis (counter-
  clockwise positive), tx/ty = the centre's displacement over the neutral square's side (positive
  right/down), scale = ln(side / neutral side).

numpy, dlib and Pillow only: tracking a file imports no torch.
"""
from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..config import TRACK_SUFFIXES, StepProgress
from ..errors import LganimError
from ..face.channels import measure_face, relative_channels
from ..face.landmarks import FaceBox, check_photo, detections, face_landmarks
from ..face.quad import ffhq_quad
from ..media.audio import SOUND_RATE, Audio, decode_audio, has_audio
from ..media.video_reader import VideoFrames, iter_video, probe_video
from .one_euro import OneEuroFilter
from .track import Track

FOLLOW_SCORE = -0.5         # weakest detection score accepted near the face
FOLLOW_DISTANCE = 0.5       # frame to frame: largest centre shift, in previous face (box) widths
FOLLOW_SIZE = 1.5           # frame to frame: largest width ratio
REACQUIRE_DISTANCE = 1.0    # after a loss: weak detections accepted this close to the last known face
ACQUIRE_SCORE = 0.5         # after a loss: a detection anywhere else needs this score
DETECT_SIDE = 640           # default longest frame side for tracking a video file, pixels
# dlib's detection box relative to the 68 landmarks it yields, measured on the test clips (the fixture face and an
# altered copy, rolled up to 15 degrees, 60-130 px boxes): side 2.5-2.7 RMS radii of the landmarks about their
# centroid (std 0.1-0.2), centre 0.04-0.08 radii above the centroid (std 0.08).
BOX_WIDTH = 2.6             # predicted box side, in RMS radii of the previous landmarks
BOX_OFFSET = (0.0, -0.07)   # its centre from their centroid, in RMS radii along the face's axes (x: eye to eye)
CHECK_MARGIN = 0.25         # the check's window: the predicted box grown by this share of its side on each side
CHECK_FACE = 90             # ... scaled so that the face is this many pixels across (dlib's window is 80)
# A box off by a quarter of its width already turns the fitted landmarks by degrees (measured: a 10-degree jump of
# the fixture face gave 18.8 degrees at 0.25), so the detection takes over early:
RESEED_DISTANCE = 0.15      # a check detection this far from the predicted box (in widths) replaces it ...
RESEED_SIZE = 1.15          # ... as does one whose width differs by more than this ratio


@dataclass
class FaceTrack:
    """The result of `track_video`.

    track: the motion track (one sample per video frame, at the frames' presentation times).
    quads: float64 [N, 4, 2] FFHQ crop squares (TL, BL, BR, TR), in pixels of the video's upright
        full-size frames; lost frames interpolated in time. Not smoothed.
    landmarks: float64 [N, 68, 2] dlib landmarks in the same pixels; lost frames interpolated.
    size: (width, height) of those frames.
    """

    track: Track
    quads: np.ndarray
    landmarks: np.ndarray
    size: tuple[int, int]


# ------------------------------------------------------------------------------------------ tracking

def _detect(img: np.ndarray) -> list[FaceBox]:
    """dlib detections of one frame (no upsampling), with scores down to FOLLOW_SCORE."""
    return detections(img, 0, FOLLOW_SCORE)


def _centre(box: FaceBox) -> np.ndarray:
    return np.array([(box.left + box.right) / 2, (box.top + box.bottom) / 2])


def _distance(box: FaceBox, ref: FaceBox) -> float:
    """Centre distance in widths of `ref`."""
    return float(np.hypot(*(_centre(box) - _centre(ref)))) / max(ref.width, 1)


def _similar(box: FaceBox, ref: FaceBox, distance: float, size: float) -> bool:
    """`box` lies within `distance` widths of `ref` and their widths differ by at most the ratio `size`."""
    return _distance(box, ref) <= distance and 1 / size <= box.width / max(ref.width, 1) <= size


def _choose(boxes: list[FaceBox], last: FaceBox | None, following: bool, face_index: int = 0) -> FaceBox | None:
    """The tracked face among a whole frame's detections (rules 1, 3, 4 of the module doc), or None if it is lost."""
    if last is None:
        acquired = sorted((b for b in boxes if b.score >= 0), key=lambda b: (b.score, b.area), reverse=True)
        return acquired[face_index] if len(acquired) > face_index else None
    if following:
        near = [b for b in boxes if _similar(b, last, FOLLOW_DISTANCE, FOLLOW_SIZE)]
        if near:
            return min(near, key=lambda b: _distance(b, last))
    again = [b for b in boxes if _distance(b, last) <= REACQUIRE_DISTANCE or b.score >= ACQUIRE_SCORE]
    return min(again, key=lambda b: _distance(b, last), default=None)


def predicted_box(landmarks: np.ndarray) -> FaceBox:
    """Where dlib's detector would put the box of a face whose 68 landmarks [68, 2] are these."""
    centroid = landmarks.mean(0)
    radius = float(np.sqrt(((landmarks - centroid) ** 2).sum(1).mean()))
    eyes = landmarks[42:48].mean(0) - landmarks[36:42].mean(0)           # the face's x axis
    x_axis = eyes / max(float(np.hypot(*eyes)), 1e-9)
    y_axis = np.array([-x_axis[1], x_axis[0]])                           # x turned +90 degrees: down the face
    centre = centroid + radius * (BOX_OFFSET[0] * x_axis + BOX_OFFSET[1] * y_axis)
    half = BOX_WIDTH * radius / 2
    left, top = round(centre[0] - half), round(centre[1] - half)
    side = max(round(2 * half), 1)
    return FaceBox(left, top, left + side, top + side, 0.0)


def _window(frame: np.ndarray, box: FaceBox) -> tuple[np.ndarray, float, int, int] | None:
    """The check's window around `box`: (pixels scaled so that the box is CHECK_FACE px wide, the scale, left, top),
    or None when too little of it lies in the frame."""
    h, w = frame.shape[:2]
    grow = CHECK_MARGIN * box.width
    left, top = max(int(box.left - grow), 0), max(int(box.top - grow), 0)
    right, bottom = min(int(box.right + grow), w), min(int(box.bottom + grow), h)
    if right - left < box.width / 2 or bottom - top < box.height / 2:
        return None
    k = CHECK_FACE / max(box.width, 1)
    size = (max(round((right - left) * k), 1), max(round((bottom - top) * k), 1))
    pixels = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR, box=(left, top, right, bottom)))
    return pixels, k, left, top


def _check(frame: np.ndarray, box: FaceBox) -> FaceBox | None:
    """The box the landmarks are fitted in when a face is found near the predicted `box` (rule 2), else None."""
    window = _window(frame, box)
    if window is None:
        return None
    pixels, k, left, top = window
    found = [FaceBox(round(left + b.left / k), round(top + b.top / k), round(left + b.right / k),
                     round(top + b.bottom / k), b.score) for b in _detect(pixels)]
    near = [b for b in found if _similar(b, box, FOLLOW_DISTANCE, FOLLOW_SIZE)]
    if not near:
        return None
    best = min(near, key=lambda b: _distance(b, box))
    if not _similar(best, box, RESEED_DISTANCE, RESEED_SIZE):
        return best
    return FaceBox(box.left, box.top, box.right, box.bottom, best.score)


class FaceTracker:
    """One face followed through frames given one at a time, in time order (the module doc's rules).

    smoothing: a `OneEuroFilter` for the landmarks (the live path), or None. face_index: which face to acquire when
    several are in view (rule 1; 0: the clearest). `searches` counts the frames whose whole area was searched (the
    first, and those where the check failed).
    """

    def __init__(self, smoothing: OneEuroFilter | None = None, face_index: int = 0):
        self.smoothing, self.face_index = smoothing, face_index
        self.searches = 0
        self.reset()

    def reset(self) -> None:
        """Forget the face: the next frame is searched as the first one is."""
        self.last: FaceBox | None = None             # where the face was last seen
        self._landmarks: np.ndarray | None = None    # its raw landmarks in the previous frame, if found there
        if self.smoothing is not None:
            self.smoothing.reset()

    @property
    def found(self) -> bool:
        """Whether the face was found in the last frame."""
        return self._landmarks is not None

    def update(self, frame: np.ndarray, t: float = 0.0) -> np.ndarray | None:
        """The face's 68 landmarks float64 [68, 2] in `frame` (uint8 [H, W, 3]) pixels — smoothed when the tracker
        smooths — or None when it is not found there. t: the frame's time in seconds (for the smoothing)."""
        frame = check_photo(frame)
        box = None
        if self._landmarks is not None:
            box = _check(frame, predicted_box(self._landmarks))
        if box is None:
            self.searches += 1
            box = _choose(_detect(frame), self.last, self._landmarks is not None, self.face_index)
        if box is None:
            self._landmarks = None
            if self.smoothing is not None:
                self.smoothing.reset()
            return None
        landmarks = face_landmarks(frame, box)
        self._landmarks, self.last = landmarks, box
        if self.smoothing is None:
            return landmarks
        return self.smoothing(landmarks, t, scale=max(box.width, 1))


# ------------------------------------------------------------------------------------------ video files

def _frames(video, max_side: int | None) -> tuple[Generator[tuple[float, np.ndarray], None, None], str, int, float,
                                                  float, tuple[int, int]]:
    """(generator of (t, frame), name, expected frame count or 0, fps, pixel factor to full size, full size)."""
    if isinstance(video, VideoFrames):
        factor = video.info.width / video.frames.shape[2] if len(video) else 1.0
        pairs = ((t, frame) for t, frame in zip(video.t.tolist(), video.frames))
        return pairs, "the video", len(video), video.fps, factor, (video.info.width, video.info.height)
    if not isinstance(video, (str, os.PathLike)):
        raise LganimError(f"track_video needs a video file path or lganim.media.video_reader.VideoFrames, "
                          f"got {type(video).__name__}.")
    info = probe_video(video)
    longest = max(info.width, info.height)
    factor = longest / max_side if max_side is not None and longest > max_side else 1.0
    expected = int(round(info.duration * info.fps)) if info.duration and info.fps else 0
    return (iter_video(video, max_side=max_side, info=info), Path(video).name, expected, info.fps or 0.0, factor,
            (info.width, info.height))


def _fill(t: np.ndarray, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """values [N, ...] with invalid rows linearly interpolated in time from the valid ones (held at the ends)."""
    flat = values.reshape(len(t), -1).copy()
    bad = ~valid
    if bad.any():
        for j in range(flat.shape[1]):
            flat[bad, j] = np.interp(t[bad], t[valid], flat[valid, j])
    return flat.reshape(values.shape)


def track_video(video: str | os.PathLike | VideoFrames, neutral: int = 0, smooth: float = 0.0,
                progress: StepProgress | None = None, max_side: int | None = DETECT_SIDE,
                face_index: int = 0) -> FaceTrack:
    """Track one face through a video and turn it into a motion track.

    Args:
        video: a video file (read with lganim.media.video_reader, frames shrunk to `max_side`) or frames already read.
        neutral: index of the neutral frame the channels are relative to (default the first). If the
            face is lost there, the nearest frame with the face is used (meta["neutral"] says which).
        smooth: smoothing amount 0..1 (Track.smooth), applied after lost frames are interpolated.
        progress: called as progress(frames done, frames expected or 0) after each frame.
        max_side: for a file, the longest side the frames are tracked at (None: full size); faces
            should stay at least ~80 px across there. Coordinates come back at full size either way.
        face_index: which face to follow when several are in view (`FaceTracker`; 0: the clearest).

    Returns:
        FaceTrack: the track (valid = False where the face was lost; those samples interpolated),
        the per-frame FFHQ quads and landmarks.

    Raises:
        LganimError: the video cannot be read (lganim.media.video_reader), no face is found in it, or bad arguments.
    """
    if not 0 <= smooth <= 1:
        raise LganimError(f"The smoothing amount must be between 0 and 1, got {smooth!r}.")
    frames, name, expected, fps, factor, size = _frames(video, max_side)
    times, found = [], []                                                # per frame: t; landmarks [68, 2] or None
    tracker = FaceTracker(face_index=face_index)
    try:
        for i, (t, img) in enumerate(frames):
            lm = tracker.update(img, t)
            times.append(t)
            found.append(None if lm is None else lm * factor)           # full-size pixels
            if progress is not None:
                progress(i + 1, max(expected, i + 1))
    finally:
        frames.close()                                                   # stops ffmpeg if tracking failed midway
    if not times:
        raise LganimError(f"No frame could be read from {name}; use a video with at least one frame.")
    valid = np.array([lm is not None for lm in found])
    if not valid.any() and face_index:
        raise LganimError(f"Face {face_index} was asked for, but no frame of {name} shows {face_index + 1} faces; "
                          f"choose a smaller face index.")
    if not valid.any():
        raise LganimError(f"No face found in {name}; use a video in which one face is clearly visible and at least "
                          f"~80 pixels across in its frames as tracked ({img.shape[1]}x{img.shape[0]}).")
    n = len(times)
    if not -n <= neutral < n:
        raise LganimError(f"The neutral frame {neutral} is outside the video's {n} frames; "
                          f"choose one from 0 to {n - 1}.")
    neutral %= n
    good = np.flatnonzero(valid)
    ref = int(good[np.argmin(np.abs(good - neutral))])                  # nearest frame with the face
    t = np.asarray(times, dtype=np.float64)
    landmarks = _fill(t, np.stack([np.zeros((68, 2)) if lm is None else lm for lm in found]), valid)  # [N, 68, 2]
    quads = _fill(t, np.stack([ffhq_quad(lm) for lm in landmarks]), valid)                     # [N, 4, 2]

    # Per frame with the face: its measures, then the channels relative to the reference frame's.
    measures = [measure_face(lm) for lm in landmarks[good]]
    reference = measures[int(np.flatnonzero(good == ref)[0])]
    relative = [relative_channels(m, reference) for m in measures]
    channels = {}
    for key in relative[0]:
        channels[key] = np.zeros(n)                                      # lost frames: filled below
        channels[key][good] = [r[key] for r in relative]
    if n > 1:
        fps = (n - 1) / (t[-1] - t[0])
    meta = {"source": name, "tracker": "dlib-hog-68", "neutral": ref, "frames": n, "lost": int(n - len(good)),
            "searches": tracker.searches, "size": list(size)}
    track = Track(fps=fps or 25.0, t=t, channels=channels, valid=valid, meta=meta).interpolate_invalid()
    track = track.smooth(smooth)
    return FaceTrack(track=track, quads=quads, landmarks=landmarks, size=size)


def driving_track(path: Path, smooth: float = 0.0, progress: StepProgress | None = None) -> tuple[Track, Audio | None]:
    """What drives a retargeted face: a track file (.json, .csv), or a video's tracked face and its sound (None
    when it has none). The video's limits are checked from its header before anything is decoded."""
    path = Path(path)
    if path.suffix.lower() in TRACK_SUFFIXES:
        track, sound = Track.load(path), None
    else:
        probe_video(path)
        track = track_video(path, progress=progress).track
        sound = decode_audio(path, SOUND_RATE) if has_audio(path) else None
    return (track.smooth(smooth) if smooth else track), sound


__all__ = ["FaceTrack", "FaceTracker", "predicted_box", "track_video", "driving_track", "FOLLOW_SCORE",
           "FOLLOW_DISTANCE", "FOLLOW_SIZE", "REACQUIRE_DISTANCE", "ACQUIRE_SCORE", "DETECT_SIDE", "BOX_WIDTH",
           "BOX_OFFSET", "CHECK_MARGIN", "CHECK_FACE", "RESEED_DISTANCE", "RESEED_SIZE"]
