"""Compositing the animated crops: pasting them back into the photo they were cut from (the inverse warp, with a
feathered edge) or adding a change to it there (an edited video frame), and moving them where a driving head moved
(roll, shift, scale as 3×3 crop transforms).

Crop transforms map the first frame's crop to frame t's, in crop units (the crop side is 1, the face width);
`compose` chains the moves of several motion sources.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import LganimError
from .align import AlignedFace
from .landmarks import check_photo
from .quad import crop_to_photo


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
    photo = check_photo(photo)
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
    t = frames.shape[0]
    moves = np.broadcast_to(np.eye(3), (t, 3, 3)) if transforms is None else np.asarray(transforms, np.float64)
    if moves.shape != (t, 3, 3):
        raise LganimError(f"Crop transforms must be [T, 3, 3] for {t} frames, got {list(moves.shape)}.")
    to_photo = aligned.crop_to_photo @ in_pixels(moves, aligned.size)                    # [T, 3, 3]
    return _blend(photo, frames.permute(0, 3, 1, 2).float(), to_photo, aligned.size, feather, difference=False)


def blend_into(photo: np.ndarray, image: torch.Tensor, quad: np.ndarray, *, difference: bool = False,
               feather: float = 0.1) -> np.ndarray:
    """One crop cut along `quad` [4, 2] (face.quad) put back into `photo` uint8 [H, W, 3]: `image` float [3, S, S]
    in uint8 levels (0..255, any S, any device) replaces the photo there with a feathered edge (a paste-back), or,
    with `difference`, is added to it (a change in levels, e.g. what an edit changes in a face). Returns uint8
    [H, W, 3]; pixels outside the quad equal the photo's exactly."""
    photo = check_photo(photo)
    if not 0.0 <= feather <= 0.5:
        raise LganimError(f"feather must be between 0 and 0.5, got {feather!r}.")
    src = image.detach().float().cpu()[None]                                             # [1, 3, S, S]
    size = src.shape[-1]
    return _blend(photo, src, crop_to_photo(quad, size)[None], size, feather, difference=difference)[0]


def _blend(photo: np.ndarray, src: torch.Tensor, to_photo: np.ndarray, size: int, feather: float, *,
           difference: bool) -> np.ndarray:
    """Crops src float [T, 3, S', S'] (levels, any S') warped into the photo by `to_photo` [T, 3, 3] (the pixels of a
    crop of side `size` → photo pixels) and blended over it with a feathered mask: replacing it, or added to it
    (`difference`). uint8 [T, H, W, 3]."""
    h, w = photo.shape[:2]
    t = src.shape[0]
    corners = np.array([[0, 0, 1], [0, size, 1], [size, size, 1], [size, 0, 1]], np.float64).T     # [3, 4]
    quads = np.stack([(m @ corners)[:2].T for m in to_photo])                                      # [T, 4, 2]
    # Photo pixels the quads can touch: their bounding box, clipped to the photo.
    x0, y0 = np.floor(quads.reshape(-1, 2).min(0)).astype(int)
    x1, y1 = np.ceil(quads.reshape(-1, 2).max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out = np.broadcast_to(photo, (t, h, w, 3)).copy()
    if x0 >= x1 or y0 >= y1:
        return out
    # Box-filter the crops down first when they are finer than the photo there.
    side = float(np.hypot(*(quads[0, 3] - quads[0, 0])))
    if src.shape[-1] > side * 1.5:
        s = max(int(round(side)), 2)
        src = F.interpolate(src, size=(s, s), mode="area")
    # Crop coordinates, normalised to [0, 1], of the region's pixel centres, per frame.
    inv = torch.from_numpy(np.stack([np.linalg.inv(m) / size for m in to_photo]))    # [T, 3, 3]
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
    change = warped if difference else warped - region
    blended = region + change * mask[:, None]                                        # [T, 3, h', w']
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
    src = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    warped = move_images(src, transforms)
    return warped.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def move_images(images: torch.Tensor, transforms: np.ndarray) -> torch.Tensor:
    """`move_crops` of float images [T, C, S, S] on any device (e.g. rendered frames before they leave the GPU): each
    moved within its own frame by its transform [T, 3, 3] (crop units); the border repeats the edge."""
    s, device = images.shape[-1], images.device
    inv = torch.from_numpy(np.linalg.inv(in_pixels(transforms, s)) / s).to(device)      # output pixel -> crop / S
    centres = torch.arange(s, dtype=torch.float64, device=device) + 0.5                # the grid where the images are
    py, px = torch.meshgrid(centres, centres, indexing="ij")
    u = inv[:, 0, 0, None, None] * px + inv[:, 0, 1, None, None] * py + inv[:, 0, 2, None, None]
    v = inv[:, 1, 0, None, None] * px + inv[:, 1, 1, None, None] * py + inv[:, 1, 2, None, None]
    grid = torch.stack([2 * u - 1, 2 * v - 1], dim=-1).to(images.dtype)                # [T, S, S, 2]
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def place_crops(crops: np.ndarray, canvas: np.ndarray | None, aligned: AlignedFace | None,
                transforms: np.ndarray | None = None) -> np.ndarray:
    """The output frames of rendered crops uint8 [T, S, S, 3]: pasted back into `canvas` (the photo `aligned` was
    cut from), or without a canvas moved within their own frame; `transforms` [T, 3, 3] (crop units,
    `crop_transform`) say where the face sits in each frame (None: it stays put)."""
    if canvas is not None:
        return paste_back(canvas, crops, aligned, transforms=transforms)
    if transforms is not None:
        return move_crops(crops, transforms)
    return crops


def compose(*transforms: np.ndarray | None) -> np.ndarray | None:
    """The crop transforms [T, 3, 3] of several motions at once: frame by frame, each later move applied after the
    earlier ones (`None`: a motion that does not move the crop); None when none moves it."""
    moving = [np.asarray(m, np.float64) for m in transforms if m is not None]
    if not moving:
        return None
    out = moving[0]
    for m in moving[1:]:
        if m.shape != out.shape:
            raise LganimError(f"Crop transforms of {out.shape[0]} and {m.shape[0]} frames cannot be combined.")
        out = m @ out                                                          # [T, 3, 3]
    return out


__all__ = ["paste_back", "blend_into", "crop_transform", "in_pixels", "move_crops", "move_images", "place_crops",
           "compose"]
