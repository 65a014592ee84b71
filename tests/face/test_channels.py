"""The channels of a face measured on its landmarks."""
import numpy as np
from PIL import Image

from lganim.config import DRIVEN_CHANNELS
from lganim.face.channels import landmark_measure
from tests import FACE_PHOTO

PHOTO = FACE_PHOTO


def test_landmark_measure_on_a_real_face():
    face = np.array(Image.open(PHOTO).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS))
    blank = np.full_like(face, 128)
    m = landmark_measure(np.stack([face, blank]))
    assert set(m) == set(DRIVEN_CHANNELS)
    for c in DRIVEN_CHANNELS:
        assert np.isfinite(m[c][0]) and np.isnan(m[c][1]), c
    assert 0.05 < m["eye_l"][0] < 0.3 and 0.5 < m["mouth_wide"][0] < 1.5


