"""Faces in a photo and their 68 landmarks: dlib's frontal (HOG) detector and its 68-point predictor (shipped in the
`face_recognition_models` package), both loaded lazily, once, on first use; calls are serialised (dlib's models
are not thread-safe).

Coordinates: (x, y) in pixels, origin at the top-left corner of the photo; landmarks sit at pixel centres.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import LganimError

_DLIB_LOCK = threading.Lock()


@dataclass(frozen=True)
class FaceBox:
    """A detected face: box corners in photo pixels (right/bottom exclusive) and the detector's score."""

    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return self.width * self.height


def dlib_model_file(name: str) -> str:
    """The path of one of dlib's model files that the face_recognition_models package ships (the 68-landmark
    predictor, the face-recognition network)."""
    # The package's __init__ imports pkg_resources, so locate its files without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LganimError("dlib's face models are missing; install the face_recognition_models package.")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "models", name)
        if os.path.isfile(path):
            return path
    raise LganimError(f"{name} is missing; reinstall face_recognition_models.")


@functools.lru_cache(maxsize=1)
def _dlib_models():
    """(frontal face detector, 68-landmark predictor), loaded once on first use."""
    try:
        import dlib
    except ImportError:
        raise LganimError("dlib is not installed; install the dlib-bin package to use photos.") from None
    predictor = dlib.shape_predictor(dlib_model_file("shape_predictor_68_face_landmarks.dat"))
    return dlib.get_frontal_face_detector(), predictor


def check_photo(img) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        desc = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise LganimError(f"A photo must be a uint8 [H, W, 3] RGB array (see lganim.face.photo.load_photo); got "
                          f"{desc}.")
    return np.ascontiguousarray(img)


def detections(img: np.ndarray, upsample: int = 0, min_score: float = 0.0) -> list[FaceBox]:
    """dlib's frontal-face detections of an RGB uint8 [H, W, 3] image, upsampled `upsample` times, with scores down
    to `min_score` (dlib's own threshold is 0; a turning or blurred face scores lower), in the detector's order."""
    img = check_photo(img)
    detector, _ = _dlib_models()
    with _DLIB_LOCK:
        rects, scores, _ = detector.run(img, upsample, min_score)
    return [FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s)) for r, s in zip(rects, scores)]


def detect_faces(img: np.ndarray) -> list[FaceBox]:
    """Frontal faces in an RGB uint8 [H, W, 3] photo, largest first.

    Runs without upsampling first and with one 2x upsampling only if that finds nothing (which
    catches faces down to about 40 px but also produces more false detections).
    """
    faces: list[FaceBox] = []
    for upsample in (0, 1):
        faces = detections(img, upsample)
        if faces:
            break
    return sorted(faces, key=lambda f: (-f.area, -f.score))


def face_landmarks(img: np.ndarray, box: FaceBox) -> np.ndarray:
    """dlib's 68 landmarks of the face in `box`: float64 [68, 2] (x, y) at pixel centres."""
    import dlib

    img = check_photo(img)
    _, predictor = _dlib_models()
    with _DLIB_LOCK:
        shape = predictor(img, dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1))
    return np.array([(p.x + 0.5, p.y + 0.5) for p in shape.parts()], dtype=np.float64)



__all__ = ["FaceBox", "dlib_model_file", "check_photo", "detections", "detect_faces", "face_landmarks"]
