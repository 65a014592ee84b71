"""Tracking a face through a video: dlib landmarks per frame -> a motion track (`track.py`).

Detection (dlib's HOG detector, no upsampling) runs on every frame; the face is then chosen by
where it was, not by size or score alone, so a false face elsewhere in the frame cannot take over:

1. Acquire: before the face is first seen, take the highest-scoring detection with a score >= 0
   (dlib's own threshold; ties: the largest).
2. Follow: take the detection nearest the previous face among those within FOLLOW_DISTANCE face
   widths of it and of a similar size, accepting weak scores down to FOLLOW_SCORE (a turning or
   blurred face scores low, but stays where it was).
3. Re-acquire: when following finds nothing, the frame is lost (valid = False) and the next face is
   the detection nearest the last known face among those within REACQUIRE_DISTANCE widths of it
   (weak scores accepted) or, anywhere, with a confident score >= ACQUIRE_SCORE. (dlib's weak false
   faces, e.g. ~0.3 on a plain canvas, docs/facts.md "Dependencies", are never taken far from the face.)

The box of the previous landmarks is not used when detection misses: the landmark predictor returns
68 points for any box, so it cannot tell a hidden face from a visible one; lost frames are
interpolated instead.

Channels (see `track.CHANNELS`), relative to a neutral frame:
- mouth_open, mouth_wide, smile, eye_l, eye_r, brow: `face_channels` of the landmarks minus the
  neutral frame's (distances over the inter-ocular distance, measured along the face's own axes);
- yaw, pitch: angles of the head rotation (lganim.face.headpose) relative to the neutral frame's;
- roll, tx, ty, scale: from the FFHQ crop square of each frame (lganim.ffhq_quad), which is
  also what pastes an animated crop back: roll = the rotation of the square's x axis (counter-
  clockwise positive), tx/ty = the centre's displacement over the neutral square's side (positive
  right/down), scale = ln(side / neutral side).
"""
from __future__ import annotations

import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import TRACK_SUFFIXES, StepProgress
from ..errors import LganimError
from ..face.align import ffhq_quad
from ..face.channels import face_channels, quad_geometry
from ..face.headpose import euler_angles, head_pose, relative_rotation
from ..face.landmarks import FaceBox, detections, face_landmarks
from ..media.audio import SOUND_RATE, Audio, decode_audio, has_audio
from ..media.video_reader import VideoFrames, iter_video, probe_video
from .track import Track

FOLLOW_SCORE = -0.5         # weakest detection score accepted near the face
FOLLOW_DISTANCE = 0.5       # frame to frame: largest centre shift, in previous face (box) widths
FOLLOW_SIZE = 1.5           # frame to frame: largest width ratio
REACQUIRE_DISTANCE = 1.0    # after a loss: weak detections accepted this close to the last known face
ACQUIRE_SCORE = 0.5         # after a loss: a detection anywhere else needs this score
DETECT_SIDE = 640           # default longest frame side for tracking a video file, pixels


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


# ------------------------------------------------------------------------------------------ measures


# ------------------------------------------------------------------------------------------ tracking

def _detect(img: np.ndarray) -> list[FaceBox]:
    """dlib detections of one frame (no upsampling), with scores down to FOLLOW_SCORE."""
    return detections(img, 0, FOLLOW_SCORE)


def _centre(box: FaceBox) -> np.ndarray:
    return np.array([(box.left + box.right) / 2, (box.top + box.bottom) / 2])


def _distance(box: FaceBox, ref: FaceBox) -> float:
    """Centre distance in widths of `ref`."""
    return float(np.hypot(*(_centre(box) - _centre(ref)))) / max(ref.width, 1)


def _choose(boxes: list[FaceBox], last: FaceBox | None, following: bool) -> FaceBox | None:
    """The tracked face among this frame's detections (see the module doc), or None if it is lost."""
    if last is None:
        acquired = [b for b in boxes if b.score >= 0]
        return max(acquired, key=lambda b: (b.score, b.area), default=None)
    if following:
        near = [b for b in boxes if _distance(b, last) <= FOLLOW_DISTANCE
                and 1 / FOLLOW_SIZE <= b.width / max(last.width, 1) <= FOLLOW_SIZE]
        if near:
            return min(near, key=lambda b: _distance(b, last))
    again = [b for b in boxes if _distance(b, last) <= REACQUIRE_DISTANCE or b.score >= ACQUIRE_SCORE]
    return min(again, key=lambda b: _distance(b, last), default=None)


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
                progress: StepProgress | None = None, max_side: int | None = DETECT_SIDE) -> FaceTrack:
    """Track one face through a video and turn it into a motion track.

    Args:
        video: a video file (read with lganim.media.video_reader, frames shrunk to `max_side`) or frames already read.
        neutral: index of the neutral frame the channels are relative to (default the first). If the
            face is lost there, the nearest frame with the face is used (meta["neutral"] says which).
        smooth: smoothing amount 0..1 (Track.smooth), applied after lost frames are interpolated.
        progress: called as progress(frames done, frames expected or 0) after each frame.
        max_side: for a file, the longest side the frames are tracked at (None: full size); faces
            should stay at least ~80 px across there. Coordinates come back at full size either way.

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
    last, following = None, False
    try:
        for i, (t, img) in enumerate(frames):
            box = _choose(_detect(img), last, following)
            following = box is not None
            lm = None
            if box is not None:
                lm = face_landmarks(img, box) * factor             # full-size pixels
                last = box
            times.append(t)
            found.append(lm)
            if progress is not None:
                progress(i + 1, max(expected, i + 1))
    finally:
        frames.close()                                                   # stops ffmpeg if tracking failed midway
    if not times:
        raise LganimError(f"No frame could be read from {name}; use a video with at least one frame.")
    valid = np.array([lm is not None for lm in found])
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

    # Per frame with the face: absolute measures, head rotation, crop square; then relative to the reference.
    expr = [face_channels(lm) for lm in landmarks[good]]
    rotations = [head_pose(lm).rotation for lm in landmarks[good]]
    geometry = [quad_geometry(q) for q in quads[good]]
    k = int(np.flatnonzero(good == ref)[0])                              # the reference among the good frames
    angles = np.array([euler_angles(relative_rotation(r, rotations[k])) for r in rotations])      # [G, 3]
    angle0, centre0, side0 = geometry[k]
    shift = (np.stack([g[1] for g in geometry]) - centre0) / side0                                # [G, 2]
    measured = {key: np.array([e[key] for e in expr]) - expr[k][key] for key in expr[k]}
    measured.update(yaw=angles[:, 0], pitch=angles[:, 1],
                    roll=(np.array([g[0] for g in geometry]) - angle0 + 180) % 360 - 180,
                    tx=shift[:, 0], ty=shift[:, 1], scale=np.log(np.array([g[2] for g in geometry]) / side0))
    channels = {}
    for key, values in measured.items():
        channels[key] = np.zeros(n)                                      # lost frames: filled below
        channels[key][good] = values
    if n > 1:
        fps = (n - 1) / (t[-1] - t[0])
    meta = {"source": name, "tracker": "dlib-hog-68", "neutral": ref, "frames": n, "lost": int(n - len(good)),
            "size": list(size)}
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


__all__ = ["FaceTrack", "track_video", "FOLLOW_SCORE", "FOLLOW_DISTANCE", "REACQUIRE_DISTANCE", "ACQUIRE_SCORE",
           "DETECT_SIDE", "driving_track"]
