"""What a face's 68 landmarks measure: the expression channels of a motion track (mouth, smile, eyes, brows, as
distances over the inter-ocular distance along the face's own axes), the geometry of its FFHQ crop square, and
the driven channels of rendered faces measured as the video tracker measures them (the calibration's measurer).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import LganimError
from .headpose import head_pose
from .landmarks import detect_faces, face_landmarks

# The channels a face's landmarks measure (the track channels of the face and head, bar roll and the crop's moves).
MEASURED = ("yaw", "pitch", "mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow")

def face_channels(landmarks: np.ndarray) -> dict[str, float]:
    """Absolute expression measures of one face from its 68 dlib landmarks [68, 2] (pixels, y down).

    All are distances divided by the inter-ocular distance (between the eye centres), taken along the
    face's axes (x: from the eye on image left to the eye on image right; y: perpendicular, down), so
    in-plane rotation, position and size do not change them:
    mouth_open: mean gap between the inner lips (61-67, 62-66, 63-65), ~0 when closed;
    mouth_wide: distance between the mouth corners (48, 54);
    smile: height of the mouth corners above the middle of the lips (51, 57), positive when raised;
    eye_l, eye_r: mean lid gap of the subject's own left eye (42-47, on image right) / right eye (36-41);
    brow: mean height of the brows (17-21, 22-26) above their eyes' centres.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)                 # subject's right (image left), left
    ex = eye_l - eye_r
    iod = float(np.hypot(*ex))
    if iod < 1e-6:
        raise LganimError("The face landmarks are degenerate (the eyes coincide); use a frame with a visible face.")
    ex = ex / iod
    ey = np.array([-ex[1], ex[0]])                                       # ex turned +90 deg in image axes: "down"

    def gap(pairs):
        return float(np.mean([np.hypot(*(lm[a] - lm[b])) for a, b in pairs])) / iod

    lips_mid = (lm[51] + lm[57]) / 2
    corners = (lm[48] + lm[54]) / 2
    brow_r = (eye_r - lm[17:22].mean(0)) @ ey                            # > 0: the brow is above the eye
    brow_l = (eye_l - lm[22:27].mean(0)) @ ey
    return {
        "mouth_open": gap([(61, 67), (62, 66), (63, 65)]),
        "mouth_wide": float(np.hypot(*(lm[54] - lm[48]))) / iod,
        "smile": float((lips_mid - corners) @ ey) / iod,
        "eye_l": gap([(43, 47), (44, 46)]),
        "eye_r": gap([(37, 41), (38, 40)]),
        "brow": float(brow_r + brow_l) / 2 / iod,
    }


def quad_geometry(quad: np.ndarray) -> tuple[float, np.ndarray, float]:
    """(angle in degrees, counter-clockwise in the image; centre [2]; side length) of an FFHQ quad [4, 2]."""
    q = np.asarray(quad, dtype=np.float64)
    x_axis = q[3] - q[0]                                                 # top-left -> top-right
    angle = float(np.degrees(np.arctan2(-x_axis[1], x_axis[0])))        # image y points down
    return angle, q.mean(0), float(np.hypot(*x_axis))


def landmark_measure(images: np.ndarray, codes: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """The `MEASURED` channels of face renders uint8 [N, h, w, 3] (~256 px), measured as the video tracker does
    (dlib 68 landmarks of the largest face → `face_channels`, `head_pose` yaw and pitch): absolute values, float64
    [N] each, NaN where no face is found. `codes` is not used."""
    out = {c: np.full(len(images), np.nan) for c in MEASURED}
    for i, img in enumerate(images):
        faces = detect_faces(np.ascontiguousarray(img))
        if not faces:
            continue
        lm = face_landmarks(img, faces[0])
        try:
            values = face_channels(lm)
            pose = head_pose(lm)
        except LganimError:                                                  # degenerate landmarks: not measurable
            continue
        values.update(yaw=pose.yaw, pitch=pose.pitch)
        for c in MEASURED:
            out[c][i] = values[c]
    return out



__all__ = ["MEASURED", "face_channels", "quad_geometry", "landmark_measure"]
