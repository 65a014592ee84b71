"""Head pose from dlib's 68 landmarks: a generic 3D face template and a closed-form affine-camera fit.

Model: six points of a generic face (model units, x right, y up, z toward the viewer), a template widely used
in tutorials (docs/facts.md, "Tracks and control directions"). Camera: affine (weak perspective) — good for
faces that are small compared with their distance to the camera. Fit: the gold-standard algorithm for an
affine camera (Hartley & Zisserman, Multiple View Geometry, 2nd ed., Alg. 7.2): normalise both point sets,
solve the two rows of the 2x4 camera by linear least squares, undo the normalisation. The camera's 2x3 part is
then a scaled rotation's first two rows; the nearest rotation (SVD) gives the pose. Landmark pose is rough in
absolute terms (the template is not the person), so callers compare poses with `relative_rotation`, which
cancels a constant template mismatch.

Angles (degrees), as seen in the image: yaw > 0 when the face turns to its own left (the nose moves
toward image right), pitch > 0 chin up, roll > 0 counter-clockwise. The rotation is
R = Rz(roll) @ Ry(yaw) @ Rx(-pitch) in the model's right-handed frame (y up, z toward the viewer),
so image coordinates (y down) are flipped before the fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LganimError

# dlib 68-point indices and their template positions [6, 3] (model units, x right, y up, z toward the viewer).
TEMPLATE_INDICES = (30, 8, 36, 45, 48, 54)      # nose tip, chin, outer eye corners, mouth corners
TEMPLATE = np.array([
    [0.0, 0.0, 0.0],            # nose tip
    [0.0, -330.0, -65.0],       # chin
    [-225.0, 170.0, -135.0],    # outer corner of the eye on image left (subject's right)
    [225.0, 170.0, -135.0],     # outer corner of the eye on image right
    [-150.0, -150.0, -125.0],   # mouth corner on image left
    [150.0, -150.0, -125.0],    # mouth corner on image right
])


@dataclass(frozen=True)
class HeadPose:
    """A fitted pose: angles in degrees (see the module doc), rotation [3, 3] (model -> camera, y up),
    scale (image pixels per model unit) and the image position [2] (x, y pixels) of the template origin."""

    yaw: float
    pitch: float
    roll: float
    rotation: np.ndarray
    scale: float
    origin: np.ndarray


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The rotation [3, 3] (model -> camera, y up, z toward the viewer) of angles in degrees."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])     # nose toward +x
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])     # Rx(-pitch): nose up
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])     # counter-clockwise
    return rz @ ry @ rx


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation [3, 3]; the inverse of `rotation_matrix` for |yaw| < 90."""
    r = np.asarray(rotation, dtype=np.float64)
    yaw = np.arctan2(-r[2, 0], np.hypot(r[2, 1], r[2, 2]))
    pitch = -np.arctan2(r[2, 1], r[2, 2])
    roll = np.arctan2(r[1, 0], r[0, 0])
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def fit_affine_camera(points2d: np.ndarray, points3d: np.ndarray) -> np.ndarray:
    """The affine camera P [2, 4] that best maps points3d [n, 3] to points2d [n, 2] (n >= 4, least squares
    in the image), by the normalised linear method of Hartley & Zisserman (Alg. 7.2): x = P @ [X, 1]."""
    x = np.asarray(points2d, dtype=np.float64)
    big_x = np.asarray(points3d, dtype=np.float64)
    # Normalise: centroids to the origin, mean distance sqrt(2) (image) and sqrt(3) (model).
    c2, c3 = x.mean(0), big_x.mean(0)
    s2 = np.sqrt(2) / max(np.linalg.norm(x - c2, axis=1).mean(), 1e-12)
    s3 = np.sqrt(3) / max(np.linalg.norm(big_x - c3, axis=1).mean(), 1e-12)
    xn, big_xn = (x - c2) * s2, (big_x - c3) * s3
    design = np.hstack([big_xn, np.ones((len(big_xn), 1))])            # [n, 4]
    pn = np.linalg.lstsq(design, xn, rcond=None)[0].T                   # [2, 4] camera in normalised coordinates
    # Denormalise: x = c2 + (pn[:, :3] s3 (X - c3) + pn[:, 3]) / s2.
    a = pn[:, :3] * s3 / s2
    b = c2 + (pn[:, 3] - pn[:, :3] @ (s3 * c3)) / s2
    return np.hstack([a, b[:, None]])


def head_pose(landmarks: np.ndarray) -> HeadPose:
    """The head pose of one face from its 68 dlib landmarks [68, 2] (image pixels, y down)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise LganimError(f"Head pose needs 68 finite (x, y) landmarks, got an array of shape {list(lm.shape)}.")
    pts = lm[list(TEMPLATE_INDICES)] * np.array([1.0, -1.0])            # image y down -> y up
    camera = fit_affine_camera(pts, TEMPLATE)
    a = camera[:, :3]                                                   # [2, 3] ~ scale * first two rotation rows
    norms = np.linalg.norm(a, axis=1)
    if norms.min() < 1e-9:
        raise LganimError("The face landmarks are degenerate (all on a line); use a frame with a visible face.")
    r1, r2 = a[0] / norms[0], a[1] / norms[1]
    u, _, vt = np.linalg.svd(np.stack([r1, r2, np.cross(r1, r2)]))      # nearest rotation to the fitted rows
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:
        rotation = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    yaw, pitch, roll = euler_angles(rotation)
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, rotation=rotation, scale=float(norms.mean()),
                    origin=camera[:, 3] * np.array([1.0, -1.0]))


def relative_rotation(rotation: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """The rotation [3, 3] that takes the `neutral` pose to `rotation` in the camera frame
    (rotation = relative @ neutral); a constant mismatch between the template and the face cancels."""
    return np.asarray(rotation) @ np.asarray(neutral).T


__all__ = ["TEMPLATE", "TEMPLATE_INDICES", "HeadPose", "head_pose", "fit_affine_camera", "rotation_matrix",
           "euler_angles", "relative_rotation"]
