
import numpy as np
import pytest
from PIL import Image

from lganim.errors import LganimError
from lganim.face.align import AlignedFace, align_face, warp_quad
from lganim.face.composite import paste_back
from lganim.face.landmarks import detect_faces
from lganim.face.photo import load_photo
from lganim.face.quad import ffhq_quad
from tests import FACE_PHOTO

FACE = FACE_PHOTO


@pytest.fixture(scope="module")
def photo():
    return load_photo(FACE)


@pytest.fixture(scope="module")
def aligned256(photo):
    return align_face(photo, size=256)


def _synthetic_landmarks(eye_l, eye_r, mouth_l, mouth_r):
    lm = np.zeros((68, 2))
    lm[36:42], lm[42:48], lm[48], lm[54] = eye_l, eye_r, mouth_l, mouth_r
    return lm


def test_ffhq_quad_geometry():
    lm = _synthetic_landmarks((40, 50), (60, 50), (42, 70), (58, 70))
    # eye_to_eye (20, 0), eye_to_mouth (0, 20): half-side max(2*20, 1.8*20) = 40, centre (50, 52)
    np.testing.assert_allclose(ffhq_quad(lm), [[10, 12], [10, 92], [90, 92], [90, 12]])
    # rotating the face rotates the quad the same way
    th = np.deg2rad(30)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    centre = np.array([50.0, 50.0])
    np.testing.assert_allclose(ffhq_quad((lm - centre) @ rot.T + centre),
                               (ffhq_quad(lm) - centre) @ rot.T + centre, atol=1e-9)


def test_warp_quad_identity_and_box_filter():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    square = np.array([[0, 0], [0, 64], [64, 64], [64, 0]], float)
    np.testing.assert_array_equal(warp_quad(img, square, 64), img[:64, :64])
    # a quad twice the output size is box-averaged 2x2
    box = img.reshape(64, 2, 64, 2, 3).mean((1, 3))
    out = warp_quad(img, square * 2, 64).astype(float)
    assert np.abs(out - box).max() <= 1.0


def test_warp_quad_outside_the_photo_fades_to_median():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:, :, 0] = 200
    img[:50, :, 1] = 255
    quad = np.array([[-150, -150], [-150, 250], [250, 250], [250, -150]], float)   # 4x the photo
    out = warp_quad(img, quad, 64)
    median = np.median(img.reshape(-1, 3), axis=0)
    np.testing.assert_allclose(out[0, 0], median, atol=2)                         # far outside: the median
    centre = out[24:40, 24:40].astype(float).mean((0, 1))
    assert abs(centre[0] - 200) < 3                                                # inside: the photo


def test_detects_exactly_one_face_in_astronaut(photo):
    faces = detect_faces(photo)
    assert len(faces) == 1
    f = faces[0]
    assert 150 < f.left < 200 and 60 < f.top < 110 and 70 < f.width < 110


def test_align_astronaut_256_is_centred(aligned256):
    a = aligned256
    assert isinstance(a, AlignedFace)
    assert a.image.shape == (256, 256, 3) and a.image.dtype == np.uint8 and a.size == 256
    assert a.landmarks.shape == (68, 2) and a.quad.shape == (4, 2) and a.photo_shape == (512, 512)
    faces = detect_faces(a.image)
    assert len(faces) == 1
    f = faces[0]
    cx, cy = (f.left + f.right) / 2, (f.top + f.bottom) / 2
    assert abs(cx - 128) < 0.08 * 256 and abs(cy - 128) < 0.15 * 256
    assert 0.3 * 256 < f.width < 0.7 * 256
    # the quad is a square, and the transforms map crop corners onto it and back
    sides = np.linalg.norm(np.roll(a.quad, -1, 0) - a.quad, axis=1)
    np.testing.assert_allclose(sides, sides[0], rtol=1e-9)
    corners = np.array([[0, 0, 1], [0, 256, 1], [256, 256, 1], [256, 0, 1]], float)
    np.testing.assert_allclose((a.crop_to_photo @ corners.T).T[:, :2], a.quad, atol=1e-9)
    # the eyes land where the recipe puts them: level and symmetric about the vertical centre line
    lm = (np.linalg.inv(a.crop_to_photo) @ np.c_[a.landmarks, np.ones(68)].T).T[:, :2]
    eye_l, eye_r = lm[36:42].mean(0), lm[42:48].mean(0)
    assert abs((eye_l[0] + eye_r[0]) / 2 - 128) < 0.04 * 256
    assert abs(eye_l[1] - eye_r[1]) < 0.03 * 256


def test_no_face_and_bad_inputs():
    gray = np.full((256, 256, 3), 128, np.uint8)
    with pytest.raises(LganimError, match="No face was found"):
        align_face(gray)
    with pytest.raises(LganimError, match="uint8"):
        align_face(gray.astype(np.float32))
    with pytest.raises(LganimError, match="crop size"):
        align_face(gray, size=0)


def test_tiny_face_is_refused(photo):
    with pytest.raises(LganimError, match="too small"):
        align_face(photo, size=64, min_face=200)


def test_several_faces_pick_largest_or_by_index(photo):
    big = np.asarray(Image.fromarray(photo).resize((640, 640), Image.Resampling.LANCZOS))
    canvas = np.full((640, 1152, 3), 255, np.uint8)
    canvas[:, :640] = big
    canvas[64:576, 640:] = photo
    faces = detect_faces(canvas)
    assert len(faces) == 2 and faces[0].area > faces[1].area
    assert faces[0].right <= 640 and faces[1].left >= 640
    a0 = align_face(canvas, size=64)
    a1 = align_face(canvas, size=64, face_index=1)
    assert a0.box == faces[0] and a1.box == faces[1]
    assert a1.quad[:, 0].mean() > 640
    with pytest.raises(LganimError, match="2 face"):
        align_face(canvas, size=64, face_index=2)


def test_paste_back_identity_and_locality(photo, aligned256):
    a = aligned256
    crops = np.stack([a.image, a.image])
    out = paste_back(photo, crops, a)
    assert out.shape == (2, 512, 512, 3) and out.dtype == np.uint8
    x0, y0 = np.floor(a.quad.min(0)).astype(int)
    x1, y1 = np.ceil(a.quad.max(0)).astype(int)
    outside = np.ones((512, 512), bool)
    outside[max(y0, 0):y1, max(x0, 0):x1] = False
    np.testing.assert_array_equal(out[:, outside], np.broadcast_to(photo[outside], (2,) + photo[outside].shape))
    cx, cy = a.quad.mean(0).astype(int)
    core = np.abs(out[0, cy - 40:cy + 40, cx - 40:cx + 40].astype(int) - photo[cy - 40:cy + 40, cx - 40:cx + 40])
    assert core.mean() < 4.0
    # crops at another resolution (e.g. the generator's) are accepted; the result is the same picture
    big = np.asarray(Image.fromarray(a.image).resize((512, 512), Image.Resampling.BICUBIC))
    out_big = paste_back(photo, big[None], a)
    core = (slice(cy - 40, cy + 40), slice(cx - 40, cx + 40))
    core_big = np.abs(out_big[0][core].astype(int) - photo[core])
    assert core_big.mean() < 6.0


def test_paste_back_feathered_mask(photo, aligned256):
    a = aligned256
    black = np.zeros((1, 256, 256, 3), np.uint8)
    m = a.crop_to_photo

    def at(u, v):                                      # photo pixel at crop point (u, v)
        x, y, _ = m @ np.array([u, v, 1.0])
        return int(y), int(x)

    soft = paste_back(photo, black, a, feather=0.1)[0]
    hard = paste_back(photo, black, a, feather=0.0)[0]
    assert soft[at(128, 128)].max() == 0 and hard[at(128, 128)].max() == 0     # centre replaced
    near_edge = at(128, 8)                                                         # 3% of the side in
    p = photo[near_edge].astype(int)
    assert hard[near_edge].max() == 0
    assert 0 < soft[near_edge].astype(int).sum() < p.sum()                        # partly blended


def test_paste_back_rejects_mismatches(photo, aligned256):
    with pytest.raises(LganimError, match="Crops must be"):
        paste_back(photo, np.zeros((2, 64, 32, 3), np.uint8), aligned256)
    with pytest.raises(LganimError, match="same photo"):
        paste_back(photo[:300], np.zeros((1, 64, 64, 3), np.uint8), aligned256)
