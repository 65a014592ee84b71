"""Who a face is, as dlib's face-recognition network sees it: the 128-D descriptor of the largest face in a picture
(`dlib_face_recognition_resnet_model_v1.dat`, which the face_recognition_models package ships: real without any
download), computed from the face's 68 landmarks (landmarks.py), which align it first. Descriptors of two pictures
of one person lie within 0.6 of each other (dlib's own threshold); the identity measure of a clip is the cosine
similarity of each frame's descriptor with the first's (`lganim.training.metrics.identity_to_first`).

The network is loaded lazily, once, on first use; calls are serialised (dlib's models are not thread-safe).
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from ..errors import LganimError
from .landmarks import check_photo, detect_faces, dlib_model_file, face_landmarks

RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
DESCRIPTOR_DIM = 128
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _recognizer():
    try:
        import dlib  # heavy (a compiled library): loaded only when a face is described
    except ImportError:
        raise LganimError("dlib is not installed; install the dlib-bin package to measure identity.") from None
    return dlib.face_recognition_model_v1(dlib_model_file(RECOGNITION_MODEL))


def face_descriptor(img: np.ndarray) -> np.ndarray | None:
    """dlib's descriptor of the largest face in an RGB uint8 [H, W, 3] picture: float64 [128]; None when no face
    is found."""
    import dlib  # heavy: see _recognizer

    img = check_photo(img)
    faces = detect_faces(img)
    if not faces:
        return None
    box = faces[0]
    points = face_landmarks(img, box) - 0.5                      # [68, 2], back from pixel centres to dlib's grid
    shape = dlib.full_object_detection(dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1),
                                       [dlib.point(int(round(x)), int(round(y))) for x, y in points])
    recognizer = _recognizer()
    with _LOCK:
        return np.asarray(recognizer.compute_face_descriptor(img, shape), dtype=np.float64)


__all__ = ["RECOGNITION_MODEL", "DESCRIPTOR_DIM", "face_descriptor"]
