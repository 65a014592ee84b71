"""What a face's 68 landmarks measure: the expression channels of a motion track (mouth, smile, eyes, brows, as
distances over the inter-ocular distance along the face's own axes), a tracked frame's channels relative to a
neutral frame (the video tracker's and the live session's), and the driven channels of rendered faces measured as
the video tracker measures them (the calibration's measurer). numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LganimError
from .headpose import euler_angles, head_pose, relative_rotation
from .landmarks import detect_faces, face_landmarks
from .quad import ffhq_quad, quad_geometry

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


@dataclass(frozen=True)
class FaceMeasures:
    """What one frame's 68 landmarks measure, in absolute terms: the expression (`face_channels`), the head
    rotation [3, 3] (`head_pose`) and the FFHQ crop square's angle (degrees, counter-clockwise), centre [2] and side
    (pixels)."""

    expression: dict[str, float]
    rotation: np.ndarray
    angle: float
    centre: np.ndarray
    side: float


def measure_face(landmarks: np.ndarray) -> FaceMeasures:
    """The `FaceMeasures` of one face's 68 landmarks [68, 2] (pixels, y down)."""
    angle, centre, side = quad_geometry(ffhq_quad(landmarks))
    return FaceMeasures(face_channels(landmarks), head_pose(landmarks).rotation, angle, centre, side)


def relative_channels(face: FaceMeasures, neutral: FaceMeasures) -> dict[str, float]:
    """The motion-track channels of a face relative to the neutral frame's (see lganim.config.CHANNELS):
    expression measures minus the neutral's; yaw and pitch of the rotation that takes the neutral head to this one;
    roll = the crop square's turn (counter-clockwise positive, in [-180, 180)); tx, ty = its centre's shift over the
    neutral square's side (right, down); scale = ln(side / neutral side)."""
    yaw, pitch, _ = euler_angles(relative_rotation(face.rotation, neutral.rotation))
    shift = (face.centre - neutral.centre) / neutral.side
    channels = {k: v - neutral.expression[k] for k, v in face.expression.items()}
    channels.update(yaw=yaw, pitch=pitch, roll=(face.angle - neutral.angle + 180) % 360 - 180, tx=float(shift[0]),
                    ty=float(shift[1]), scale=float(np.log(face.side / neutral.side)))
    return channels


def landmark_measure(images: np.ndarray, codes=None) -> dict[str, np.ndarray]:
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



__all__ = ["MEASURED", "face_channels", "FaceMeasures", "measure_face", "relative_channels", "landmark_measure"]
