"""Who a face is, as dlib's face-recognition network sees it: the 128-D descriptor of a face in a picture
(`dlib_face_recognition_resnet_model_v1.dat`, which the face_recognition_models package ships: real without any
download), computed from the face's 68 landmarks (landmarks.py), which align it first. Descriptors of two pictures
of one person lie within 0.6 of each other (dlib's own threshold); the identity measure of a clip is the cosine
similarity of each frame's descriptor with the first's (`lganim.training.metrics.identity_to_first`), one face
followed through the clip (`followed_descriptors`).

The network is loaded lazily, once, on first use; calls are serialised (dlib's models are not thread-safe).
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from ..errors import LganimError
from .landmarks import FaceBox, check_photo, detect_faces, dlib_model_file, face_landmarks

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


def face_descriptor(img: np.ndarray, box: FaceBox | None = None) -> np.ndarray | None:
    """dlib's descriptor of the face in `box` of an RGB uint8 [H, W, 3] picture (None: the face the detector is
    most sure of, not the largest: a badge or a print can be a larger false face): float64 [128]; None when no face
    is found."""
    import dlib  # heavy: see _recognizer

    img = check_photo(img)
    if box is None:
        faces = detect_faces(img)
        if not faces:
            return None
        box = max(faces, key=lambda f: f.score)
    points = face_landmarks(img, box) - 0.5                      # [68, 2], back from pixel centres to dlib's grid
    shape = dlib.full_object_detection(dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1),
                                       [dlib.point(int(round(x)), int(round(y))) for x, y in points])
    recognizer = _recognizer()
    with _LOCK:
        return np.asarray(recognizer.compute_face_descriptor(img, shape), dtype=np.float64)


def followed_descriptors(frames: np.ndarray) -> list[np.ndarray | None]:
    """The descriptor of one face through a clip (frames uint8 [T, H, W, 3]): in the first frame where a face is
    found, the face the detector is most sure of; in each later frame, the face whose centre is nearest the last
    one's (the same person, not another face in the picture). None for a frame without a face."""
    out: list[np.ndarray | None] = []
    last: FaceBox | None = None
    for frame in frames:
        faces = detect_faces(frame)
        if not faces:
            out.append(None)
            continue
        if last is None:
            last = max(faces, key=lambda f: f.score)
        else:
            x, y = centre(last)
            last = min(faces, key=lambda f: (centre(f)[0] - x) ** 2 + (centre(f)[1] - y) ** 2)
        out.append(face_descriptor(frame, last))
    return out


def centre(box: FaceBox) -> tuple[float, float]:
    return (box.left + box.right) / 2, (box.top + box.bottom) / 2


__all__ = ["RECOGNITION_MODEL", "DESCRIPTOR_DIM", "face_descriptor", "followed_descriptors", "centre"]
