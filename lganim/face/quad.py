"""The FFHQ crop square of a face (the "quad") from its 68 landmarks, and its geometry: numpy only, so that tracking
a video (lganim.tracks.video) needs no torch. Cropping the square out of a photo is `align.py`.

Coordinates: (x, y) in pixels, origin at the top-left corner of the photo, y down. A quad is [4, 2]: its corners
top-left, bottom-left, bottom-right, top-right.
"""
from __future__ import annotations

import numpy as np


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The FFHQ crop square from 68 landmarks [68, 2]: corners [4, 2] (top-left, bottom-left, bottom-right, top-right).

    Centre: the eye midpoint moved 10% of the way to the mouth. Half-side: the larger of twice the
    inter-ocular distance and 1.8x the eye-to-mouth distance. Orientation: the "x" axis is the
    eye-to-eye direction corrected by the perpendicular of the eye-to-mouth direction.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)          # subject's right / left eye
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2                                    # mouth corners
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])       # minus eye_to_mouth rotated by -90 deg
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])                                          # x rotated by +90 deg (image axes)
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def quad_geometry(quad: np.ndarray) -> tuple[float, np.ndarray, float]:
    """(angle in degrees, counter-clockwise in the image; centre [2]; side length) of an FFHQ quad [4, 2]."""
    q = np.asarray(quad, dtype=np.float64)
    x_axis = q[3] - q[0]                                                 # top-left -> top-right
    angle = float(np.degrees(np.arctan2(-x_axis[1], x_axis[0])))        # image y points down
    return angle, q.mean(0), float(np.hypot(*x_axis))


def crop_to_photo(quad: np.ndarray, size: int) -> np.ndarray:
    """3x3 affine matrix: [x, y, 1] in the photo = M @ [u, v, 1] in a crop of side `size` cut along `quad`."""
    q = np.asarray(quad, dtype=np.float64)
    ax, ay = (q[3] - q[0]) / size, (q[1] - q[0]) / size                  # photo step per crop pixel along u, v
    return np.array([[ax[0], ay[0], q[0, 0]], [ax[1], ay[1], q[0, 1]], [0.0, 0.0, 1.0]])


__all__ = ["ffhq_quad", "quad_geometry", "crop_to_photo"]
