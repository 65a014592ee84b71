"""Face detection, 68 landmarks and the FFHQ-style crop, plus the inverse warp that pastes animated
crops back into the photo.

Detection is dlib's frontal (HOG) detector, landmarks dlib's 68-point predictor shipped in the
`face_recognition_models` package; both load lazily, once, on first use.

The crop follows the public FFHQ alignment recipe: from the eye centres and the mouth corners it
builds an oriented square (the "quad") around the face, and samples it into a size x size image.
Resampling is bilinear on a grid supersampled by ceil(quad side / size), then box-averaged, i.e.
antialiased when the crop is smaller than the face in the photo. Where the quad leaves the photo,
pixels are mirrored at the border (like FFHQ's reflect padding), blurred (sigma = 2% of the crop)
and faded towards the photo's median colour over 30% of the quad side, FFHQ's blend in spirit.

Coordinates: (x, y) in pixels, origin at the top-left corner of the photo, so pixel (i, j)
covers [i, i+1) x [j, j+1) and its centre is (i + 0.5, j + 0.5); the same holds in the crop.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from .errors import LganimError

MIN_FACE = 48          # smallest accepted detection box side, in photo pixels
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


@dataclass(frozen=True)
class AlignedFace:
    """An FFHQ-style face crop and how it sits in the photo.

    image: uint8 [size, size, 3] crop.
    quad: [4, 2] float64 crop corners in photo coordinates: top-left, bottom-left, bottom-right, top-right.
    landmarks: [68, 2] float64 dlib landmarks in photo coordinates (pixel centres).
    box: the detection the landmarks were fitted in.
    photo_shape: (H, W) of the photo.
    """

    image: np.ndarray
    quad: np.ndarray
    landmarks: np.ndarray
    box: FaceBox
    photo_shape: tuple[int, int]

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    @property
    def crop_to_photo(self) -> np.ndarray:
        """3x3 affine matrix: [x, y, 1] in photo = M @ [u, v, 1] in crop (crop pixels of this `size`)."""
        return _crop_to_photo(self.quad, self.size)

    @property
    def photo_to_crop(self) -> np.ndarray:
        """3x3 affine matrix: the inverse of `crop_to_photo`."""
        return np.linalg.inv(self.crop_to_photo)


# --------------------------------------------------------------------------------------------- models

def _landmark_model_path() -> str:
    # The package's __init__ imports pkg_resources, so locate its files without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LganimError("The face landmark model is missing; install the face_recognition_models package.")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "models", "shape_predictor_68_face_landmarks.dat")
        if os.path.isfile(path):
            return path
    raise LganimError("shape_predictor_68_face_landmarks.dat is missing; reinstall face_recognition_models.")


@functools.lru_cache(maxsize=1)
def _dlib_models():
    """(frontal face detector, 68-landmark predictor), loaded once on first use."""
    try:
        import dlib
    except ImportError:
        raise LganimError("dlib is not installed; install the dlib-bin package to use photos.") from None
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(_landmark_model_path())


def _check_photo(img) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        desc = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise LganimError(f"A photo must be a uint8 [H, W, 3] RGB array (see lganim.photo.load_photo); got {desc}.")
    return np.ascontiguousarray(img)


# ------------------------------------------------------------------------------------------ detection

def detect_faces(img: np.ndarray) -> list[FaceBox]:
    """Frontal faces in an RGB uint8 [H, W, 3] photo, largest first.

    Runs without upsampling first and with one 2x upsampling only if that finds nothing (which
    catches faces down to about 40 px but also produces more false detections).
    """
    img = _check_photo(img)
    detector, _ = _dlib_models()
    faces: list[FaceBox] = []
    with _DLIB_LOCK:
        for upsample in (0, 1):
            rects, scores, _ = detector.run(img, upsample, 0.0)
            faces = [FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s))
                     for r, s in zip(rects, scores)]
            if faces:
                break
    return sorted(faces, key=lambda f: (-f.area, -f.score))


def face_landmarks(img: np.ndarray, box: FaceBox) -> np.ndarray:
    """dlib's 68 landmarks of the face in `box`: float64 [68, 2] (x, y) at pixel centres."""
    import dlib

    img = _check_photo(img)
    _, predictor = _dlib_models()
    with _DLIB_LOCK:
        shape = predictor(img, dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1))
    return np.array([(p.x + 0.5, p.y + 0.5) for p in shape.parts()], dtype=np.float64)


# --------------------------------------------------------------------------------------------- geometry

def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """The FFHQ crop square from 68 landmarks [68, 2]: corners [4, 2] (top-left, bottom-left, bottom-right, top-right).

    Centre: the eye midpoint moved 10% of the way to the mouth. Half-side: the larger of twice the
    inter-ocular distance and 1.8x the eye-to-mouth distance. Orientation: the "x" axis is the
    eye-to-eye direction corrected by the perpendicular of the eye-to-mouth direction.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(0), lm[42:48].mean(0)          # subject's right / left eye
    eye_avg = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) / 2                                    # mouth corners
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])       # minus eye_to_mouth rotated by -90 deg
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])                                          # x rotated by +90 deg (image axes)
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def _crop_to_photo(quad: np.ndarray, size: int) -> np.ndarray:
    q = np.asarray(quad, dtype=np.float64)
    ax, ay = (q[3] - q[0]) / size, (q[1] - q[0]) / size                  # photo step per crop pixel along u, v
    return np.array([[ax[0], ay[0], q[0, 0]], [ax[1], ay[1], q[0, 1]], [0.0, 0.0, 1.0]])


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W] with reflect padding; large sigmas run at a lower resolution."""
    if sigma < 0.3:
        return x
    h, w = x.shape[-2:]
    factor = max(int(sigma // 2), 1)
    if factor > 1:
        small = F.interpolate(x, size=(max(h // factor, 2), max(w // factor, 2)), mode="area")
        small = _gaussian_blur(small, sigma / factor)
        return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    radius = min(int(math.ceil(3 * sigma)), min(h, w) - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def warp_quad(img: np.ndarray, quad: np.ndarray, size: int) -> np.ndarray:
    """Sample the square `quad` [4, 2] of an RGB uint8 photo into uint8 [size, size, 3] (see the module doc)."""
    img = _check_photo(img)
    h, w = img.shape[:2]
    quad = np.asarray(quad, dtype=np.float64)
    side = float(np.hypot(*(quad[3] - quad[0])))                         # quad side in photo pixels
    k = max(1, math.ceil(side / size - 1e-6))                            # supersampling factor
    n = size * k
    m = _crop_to_photo(quad, size)
    uv = (torch.arange(n, dtype=torch.float64) + 0.5) / k                # crop coordinates of the samples
    v, u = torch.meshgrid(uv, uv, indexing="ij")                         # [n, n]
    m_t = torch.from_numpy(m)
    px = m_t[0, 0] * u + m_t[0, 1] * v + m_t[0, 2]                       # photo x of each sample [n, n]
    py = m_t[1, 0] * u + m_t[1, 1] * v + m_t[1, 2]
    grid = torch.stack([2 * px / w - 1, 2 * py / h - 1], dim=-1).float()[None]   # [1, n, n, 2]
    photo = torch.tensor(img).permute(2, 0, 1)[None].float()             # [1, 3, H, W]
    out = F.grid_sample(photo, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # Signed distance outside the photo (photo pixels, > 0 outside, < 0 inside), for the padding blend.
    outside = torch.maximum(torch.maximum(-px, px - w), torch.maximum(-py, py - h)).float()[None, None]
    if k > 1:
        out = F.avg_pool2d(out, k)                                       # [1, 3, size, size]
        outside = F.avg_pool2d(outside, k)
    if float(outside.max()) > 0:
        blur_w = (1 + outside / (0.1 * side)).clamp(0, 1)                # ramps in over 10% of the side
        out = out + (_gaussian_blur(out, 0.02 * size) - out) * blur_w
        median = torch.from_numpy(np.median(img[:: max(h // 256, 1), :: max(w // 256, 1)].reshape(-1, 3), axis=0))
        fade_w = (outside / (0.3 * side)).clamp(0, 1)                    # reaches the median 30% of a side out
        out = out + (median.float().view(1, 3, 1, 1) - out) * fade_w
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


# ------------------------------------------------------------------------------------------- alignment

def align_face(img: np.ndarray, size: int = 1024, face_index: int = 0, min_face: int = MIN_FACE) -> AlignedFace:
    """Detect, landmark and FFHQ-align one face of an RGB uint8 [H, W, 3] photo.

    Args:
        size: side of the output crop (1024 for FFHQ generators; e4e resizes to 256 itself).
        face_index: which face, counting from the largest (0).
        min_face: smallest detection box side accepted, in photo pixels.

    Raises:
        LganimError: no face, `face_index` out of range, or the face is smaller than `min_face`.
    """
    img = _check_photo(img)
    if not isinstance(size, int) or not 16 <= size <= 4096:
        raise LganimError(f"The crop size must be an integer from 16 to 4096, got {size!r}.")
    faces = detect_faces(img)
    if not faces:
        raise LganimError("No face was found in the photo; use a photo with a clearly visible, frontal face.")
    if not 0 <= face_index < len(faces):
        raise LganimError(f"Face {face_index} was requested but {len(faces)} face(s) were found; "
                          f"choose a face index from 0 to {len(faces) - 1}.")
    box = faces[face_index]
    if min(box.width, box.height) < min_face:
        raise LganimError(f"The face is too small ({min(box.width, box.height)} px); use a photo in which "
                          f"the face is at least {min_face} px across.")
    lm = face_landmarks(img, box)
    quad = ffhq_quad(lm)
    return AlignedFace(image=warp_quad(img, quad, size), quad=quad, landmarks=lm, box=box,
                       photo_shape=(img.shape[0], img.shape[1]))


# ------------------------------------------------------------------------------------------ paste-back

def paste_back(photo: np.ndarray, crops, aligned: AlignedFace, feather: float = 0.1,
               transforms: np.ndarray | None = None) -> np.ndarray:
    """Warp animated crops back into the photo, so each frame keeps the user's framing.

    Args:
        photo: the uint8 [H, W, 3] photo `aligned` was cut from.
        crops: uint8 [T, S, S, 3] frames of the aligned face (numpy, or torch on any device; any S, e.g.
            the generator's size). The warp runs on the CPU.
        aligned: the `AlignedFace` of that photo.
        feather: width of the soft edge as a fraction of the crop side (0 = hard edge). Inside the
            crop the mask rises from 0 at the crop border to 1 at `feather` (smoothstep).
        transforms: [T, 3, 3] where the face sits in frame t, as a map of the first frame's crop to frame t's in
            crop units (the crop side is 1; `crop_transform`: roll, shift and scale of a driving head); None: it
            stays put.

    Returns:
        uint8 [T, H, W, 3]. Pixels outside the crop squares equal the photo exactly.
    """
    photo = _check_photo(photo)
    frames = crops.detach().cpu() if isinstance(crops, torch.Tensor) else torch.from_numpy(np.array(crops))
    if frames.ndim == 3:
        frames = frames[None]
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[1] != frames.shape[2]:
        raise LganimError(f"Crops must be uint8 [T, S, S, 3]; got {frames.dtype} {tuple(frames.shape)}.")
    if photo.shape[:2] != tuple(aligned.photo_shape):
        raise LganimError(f"The photo is {photo.shape[1]}x{photo.shape[0]} but the face was aligned in a "
                          f"{aligned.photo_shape[1]}x{aligned.photo_shape[0]} photo; pass the same photo.")
    if not 0.0 <= feather <= 0.5:
        raise LganimError(f"feather must be between 0 and 0.5, got {feather!r}.")
    h, w = photo.shape[:2]
    t = frames.shape[0]
    moves = np.broadcast_to(np.eye(3), (t, 3, 3)) if transforms is None else np.asarray(transforms, np.float64)
    if moves.shape != (t, 3, 3):
        raise LganimError(f"Crop transforms must be [T, 3, 3] for {t} frames, got {list(moves.shape)}.")
    size = aligned.size
    moves = in_pixels(moves, size)
    corners = np.array([[0, 0, 1], [0, size, 1], [size, size, 1], [size, 0, 1]], np.float64).T     # [3, 4]
    quads = np.stack([(aligned.crop_to_photo @ m @ corners)[:2].T for m in moves])                 # [T, 4, 2]
    # Photo pixels the quads can touch: their bounding box, clipped to the photo.
    x0, y0 = np.floor(quads.reshape(-1, 2).min(0)).astype(int)
    x1, y1 = np.ceil(quads.reshape(-1, 2).max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out = np.broadcast_to(photo, (t, h, w, 3)).copy()
    if x0 >= x1 or y0 >= y1:
        return out
    # Crops as float [T, 3, S, S]; box-filter them down first when they are finer than the photo there.
    src = frames.permute(0, 3, 1, 2).float()
    side = float(np.hypot(*(quads[0, 3] - quads[0, 0])))
    if src.shape[-1] > side * 1.5:
        s = max(int(round(side)), 2)
        src = F.interpolate(src, size=(s, s), mode="area")
    # Crop coordinates, normalised to [0, 1], of the region's pixel centres, per frame.
    inv = torch.from_numpy(np.stack([np.linalg.inv(aligned.crop_to_photo @ m) / size for m in moves]))  # [T, 3, 3]
    ys = torch.arange(y0, y1, dtype=torch.float64) + 0.5
    xs = torch.arange(x0, x1, dtype=torch.float64) + 0.5
    py, px = torch.meshgrid(ys, xs, indexing="ij")                                   # [h', w']
    u = inv[:, 0, 0, None, None] * px + inv[:, 0, 1, None, None] * py + inv[:, 0, 2, None, None]   # [T, h', w']
    v = inv[:, 1, 0, None, None] * px + inv[:, 1, 1, None, None] * py + inv[:, 1, 2, None, None]
    grid = torch.stack([2 * u - 1, 2 * v - 1], dim=-1).float()                       # [T, h', w', 2]
    warped = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)  # [T, 3, h', w']
    edge = torch.minimum(torch.minimum(u, 1 - u), torch.minimum(v, 1 - v)).float()   # distance to the crop border
    if feather > 0:
        a = (edge / feather).clamp(0, 1)
        mask = a * a * (3 - 2 * a)                                                   # smoothstep [T, h', w']
    else:
        mask = (edge > 0).float()
    region = torch.tensor(photo[y0:y1, x0:x1]).permute(2, 0, 1).float()             # [3, h', w']
    blended = region + (warped - region) * mask[:, None]                             # [T, 3, h', w']
    out[:, y0:y1, x0:x1] = blended.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def crop_transform(roll: float, tx: float, ty: float, scale: float) -> np.ndarray:
    """[3, 3] map of a first frame's crop to a later one's, in crop units (the crop side is 1, the face width), where
    the face turned by `roll` degrees (counter-clockwise in the image), moved by (tx, ty) face widths (right, down)
    and grew by exp(`scale`), about the crop centre."""
    c = 0.5
    a, k = math.radians(roll), math.exp(scale)
    cos, sin = math.cos(a) * k, math.sin(a) * k
    # y points down: a counter-clockwise turn on screen takes (1, 0) to (cos, -sin)
    return np.array([[cos, sin, c + tx - cos * c - sin * c],
                     [-sin, cos, c + ty + sin * c - cos * c],
                     [0.0, 0.0, 1.0]])


def in_pixels(transforms: np.ndarray, size: int) -> np.ndarray:
    """Crop transforms [..., 3, 3] from crop units to the pixels of a crop of side `size`."""
    scale = np.diag([float(size), float(size), 1.0])
    return scale @ np.asarray(transforms, np.float64) @ np.linalg.inv(scale)


def move_crops(crops: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """Frames without a photo around them: each crop uint8 [T, S, S, 3] moved within its own frame by its transform
    [T, 3, 3] (crop units, `crop_transform`); the border repeats the edge."""
    t, s = crops.shape[:2]
    inv = torch.from_numpy(np.linalg.inv(in_pixels(transforms, s)) / s)                # output pixel -> crop / S
    centres = torch.arange(s, dtype=torch.float64) + 0.5
    py, px = torch.meshgrid(centres, centres, indexing="ij")
    u = inv[:, 0, 0, None, None] * px + inv[:, 0, 1, None, None] * py + inv[:, 0, 2, None, None]
    v = inv[:, 1, 0, None, None] * px + inv[:, 1, 1, None, None] * py + inv[:, 1, 2, None, None]
    grid = torch.stack([2 * u - 1, 2 * v - 1], dim=-1).float()                       # [T, S, S, 2]
    src = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    warped = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return warped.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


__all__ = ["FaceBox", "AlignedFace", "detect_faces", "face_landmarks", "ffhq_quad", "warp_quad", "align_face",
           "paste_back", "crop_transform", "in_pixels", "move_crops", "MIN_FACE"]
