"""dlib's face descriptor: one person's pictures lie within dlib's 0.6, a picture without a face has none, and a face
is followed through a clip rather than the largest detection of each frame."""
import numpy as np
from PIL import Image

from lganim.face.identity import DESCRIPTOR_DIM, face_descriptor, followed_descriptors
from lganim.face.landmarks import detect_faces
from tests import FACE_PHOTO
from tests.synth import turned

PHOTO = np.asarray(Image.open(FACE_PHOTO).convert("RGB"))


def test_one_person_s_pictures_lie_within_dlib_s_threshold():
    first = face_descriptor(PHOTO)
    smaller = face_descriptor(np.asarray(Image.fromarray(PHOTO).resize((384, 384), Image.BICUBIC)))
    assert first.shape == (DESCRIPTOR_DIM,) and np.linalg.norm(first - smaller) < 0.6
    assert face_descriptor(np.full((128, 128, 3), 127, np.uint8)) is None


def test_the_face_followed_is_the_one_the_detector_is_surest_of_then_the_nearest():
    still, tilted = turned(0.0), turned(4.0)          # tilted: dlib also finds the suit's mission patch, larger
    patch, person = detect_faces(tilted)
    assert patch.area > person.area and person.score > patch.score and person.top < patch.top
    assert np.allclose(face_descriptor(tilted), face_descriptor(tilted, person))
    first, second, blank = followed_descriptors(np.stack([still, tilted, np.full_like(still, 127)]))
    assert blank is None and np.allclose(second, face_descriptor(tilted, person))
    assert np.linalg.norm(first - second) < 0.6 < np.linalg.norm(first - face_descriptor(tilted, patch))
    (alone,) = followed_descriptors(tilted[None])
    assert np.allclose(alone, second)                  # in a first frame: the face the detector is surest of
