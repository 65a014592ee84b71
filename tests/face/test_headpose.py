"""Head pose from landmarks: known poses of the template are recovered, and the signs follow the image."""
import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.face.headpose import (
    TEMPLATE,
    TEMPLATE_INDICES,
    euler_angles,
    fit_affine_camera,
    head_pose,
    relative_rotation,
    rotation_matrix,
)


def _landmarks(yaw, pitch, roll, scale=0.4, centre=(300.0, 250.0), distance=None, noise=0.0, seed=0):
    """68 landmarks [68, 2] (image pixels, y down) whose template points show the template at this pose.

    distance: None for an affine (orthographic) camera, else a pinhole camera that far away (model units).
    """
    cam = TEMPLATE @ rotation_matrix(yaw, pitch, roll).T                 # [6, 3] camera frame, y up
    if distance is not None:
        cam = cam[:, :2] * (distance / (distance - cam[:, 2:]))          # perspective, same scale at the nose
    xy = scale * cam[:, :2] * np.array([1.0, -1.0]) + np.asarray(centre)
    xy = xy + np.random.default_rng(seed).normal(0, noise, xy.shape)
    lm = np.full((68, 2), np.nan)
    lm[list(TEMPLATE_INDICES)] = xy
    return np.where(np.isnan(lm), np.asarray(centre), lm)               # the other points do not matter


def test_rotation_and_angles_are_inverse():
    rng = np.random.default_rng(0)
    for yaw, pitch, roll in rng.uniform(-60, 60, (20, 3)):
        r = rotation_matrix(yaw, pitch, roll)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(euler_angles(r), (yaw, pitch, roll), atol=1e-9)


def test_known_poses_are_recovered():
    rng = np.random.default_rng(1)
    for yaw, pitch, roll in rng.uniform(-30, 30, (50, 3)):
        scale = rng.uniform(0.1, 1.0)
        pose = head_pose(_landmarks(yaw, pitch, roll, scale=scale))
        assert np.allclose((pose.yaw, pose.pitch, pose.roll), (yaw, pitch, roll), atol=1e-6)
        assert pose.scale == pytest.approx(scale)
        np.testing.assert_allclose(pose.origin, (300, 250), atol=1e-6)


def test_perspective_and_noise_stay_within_a_few_degrees():
    # A face ~5.5 widths from a pinhole camera, landmarks jittered by 0.3 px on a ~180 px face. The affine camera
    # ignores perspective, which exaggerates the face's depth: yaw comes out ~5 % too large (measured median
    # errors yaw 1.1, pitch 0.4, roll 0.1 degrees; max 2.8 over +-30 degrees).
    rng = np.random.default_rng(2)
    errors = []
    for i, (yaw, pitch, roll) in enumerate(rng.uniform(-30, 30, (30, 3))):
        pose = head_pose(_landmarks(yaw, pitch, roll, distance=2500, noise=0.3, seed=i))
        errors.append(np.abs(np.subtract((pose.yaw, pose.pitch, pose.roll), (yaw, pitch, roll))))
    assert np.max(errors) < 3.0 and np.median(errors) < 1.0
    neutral = head_pose(_landmarks(0, 0, 0, distance=2500))
    turned = head_pose(_landmarks(15, -10, 5, distance=2500))
    rel = euler_angles(relative_rotation(turned.rotation, neutral.rotation))
    np.testing.assert_allclose(rel, (15, -10, 5), atol=1.5)


def test_relative_rotation_cancels_a_template_mismatch():
    # The same face with a constant model-frame offset (e.g. a head that sits tilted on the template).
    offset = rotation_matrix(4, 9, -3)
    neutral = rotation_matrix(0, 0, 0) @ offset
    turned = rotation_matrix(20, -12, 7) @ offset
    np.testing.assert_allclose(euler_angles(relative_rotation(turned, neutral)), (20, -12, 7), atol=1e-9)


def test_signs_follow_the_image():
    front = _landmarks(0, 0, 0)
    # Face turned toward image right: the nose moves right of the eyes' midpoint -> yaw > 0.
    right = _landmarks(20, 0, 0)
    assert right[30, 0] > right[[36, 45], 0].mean() and head_pose(right).yaw > 19
    # Chin up: the nose tip rises toward the eyes (image y down) -> pitch > 0.
    up = _landmarks(0, 20, 0)
    assert up[30, 1] - up[[36, 45], 1].mean() < front[30, 1] - front[[36, 45], 1].mean()
    assert head_pose(up).pitch > 19
    # Counter-clockwise in the image: the eye on image right rises (smaller y) -> roll > 0.
    ccw = _landmarks(0, 0, 20)
    assert ccw[45, 1] < ccw[36, 1] and head_pose(ccw).roll > 19


def test_affine_camera_fit_is_exact_for_an_affine_camera():
    rng = np.random.default_rng(3)
    points3d = rng.normal(size=(10, 3)) * 100
    camera = rng.normal(size=(2, 4))
    points2d = points3d @ camera[:, :3].T + camera[:, 3]
    np.testing.assert_allclose(fit_affine_camera(points2d, points3d), camera, atol=1e-9)


def test_bad_landmarks():
    with pytest.raises(LganimError, match="68"):
        head_pose(np.zeros((5, 2)))
    with pytest.raises(LganimError, match="degenerate"):
        head_pose(np.zeros((68, 2)))
