"""The FFHQ-style crop of a face (the faces and landmarks come from `landmarks.py`, the crop square from `quad.py`).

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

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import LganimError
from .landmarks import FaceBox, check_photo, detect_faces, face_landmarks
from .quad import crop_to_photo, ffhq_quad

MIN_FACE = 48          # smallest accepted detection box side, in photo pixels


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
        return crop_to_photo(self.quad, self.size)


# --------------------------------------------------------------------------------------------- models


# ------------------------------------------------------------------------------------------ detection


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
    img = check_photo(img)
    h, w = img.shape[:2]
    quad = np.asarray(quad, dtype=np.float64)
    side = float(np.hypot(*(quad[3] - quad[0])))                         # quad side in photo pixels
    k = max(1, math.ceil(side / size - 1e-6))                            # supersampling factor
    n = size * k
    m = crop_to_photo(quad, size)
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
    img = check_photo(img)
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


__all__ = ["AlignedFace", "warp_quad", "align_face", "MIN_FACE"]
