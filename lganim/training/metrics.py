"""The paper's evaluation metrics for generated clips, as the authors' released code computes them.

- ACD-shape ("average content distance" on colour): mean over consecutive frames of the L2 norm of the
  change of the per-channel mean intensity, frames in [0, 255] (official `_acd_per_video_shape`; it is
  not landmark-based).
- ACD-face: Σ_t ||f(x[t+1]) − f(x[t])||² with f the ArcFace IR-SE50 identity feature, summed over all
  consecutive pairs of one clip (official `_acd_per_video_face`, mse with reduction='sum'). The official
  code feeds OpenCV's BGR frames scaled to [−0.5, 0.5]; `acd_face` reproduces that input by default so the
  numbers are comparable with the paper's.
- MS-SSIM (Wang et al. 2003; the PGGAN implementation the official code uses): 11-tap Gaussian window
  (σ 1.5, shrunk for small images), valid filtering, 5 scales with 2×2 average downsampling, weights
  (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), negative values clipped to 0.
- CLIP score of the last frame against the prompt: cosine similarity of the loss CLIP (ViT-B/32)
  embeddings, and 100 · max(cos, 0).
- Directional CLIP similarity of a clip (StyleGAN-NADA's direction, as a score): cos(I(last) − I(first),
  T(prompt) − T(neutral)), whether the clip moves from its first frame toward the sentence.
- Identity to the first frame: the mean cosine similarity of each later frame's face features with the first's
  (dlib's face descriptor, lganim/face/identity.py, or ArcFace).

Frames are uint8 [T, H, W, 3] RGB unless stated.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import LganimError

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _check_frames(frames, min_frames: int = 1) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise LganimError(f"Frames must be an array [T, H, W, 3], got shape {frames.shape}.")
    if frames.shape[0] < min_frames:
        raise LganimError(f"This metric needs at least {min_frames} frames, got {frames.shape[0]}.")
    return frames


# ---------------------------------------------------------------------------------------------------------
# MS-SSIM
# ---------------------------------------------------------------------------------------------------------

def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """Normalised 2-D Gaussian [size, size] centred on the window (half-integer offsets for even sizes)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def ssim_and_contrast(a: torch.Tensor, b: torch.Tensor, max_val: float = 255.0, filter_size: int = 11,
                      filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per image: a, b [N, C, H, W] float64 → ([N], [N])."""
    n, c, h, w = a.shape
    size = min(filter_size, h, w)
    sigma = size * filter_sigma / filter_size
    line = gaussian_window(size, sigma).sum(dim=0).to(a)                   # [size]: the window is line ⊗ line
    column, row = line.view(1, 1, size, 1), line.view(1, 1, 1, size)

    def blur(x):      # valid filtering per channel, separably; channels folded into the batch (a grouped float64
        y = F.conv2d(F.conv2d(x.reshape(n * c, 1, h, w), column), row)     # convolution is several times slower)
        return y.view(n, c, *y.shape[-2:])

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    v1, v2 = 2 * cov + c2, var_a + var_b + c2
    ssim = ((2 * mu_a * mu_b + c1) * v1) / ((mu_a ** 2 + mu_b ** 2 + c1) * v2)
    return ssim.mean(dim=(1, 2, 3)), (v1 / v2).mean(dim=(1, 2, 3))


def ms_ssim(a, b, max_val: float = 255.0, weights: Sequence[float] = MS_SSIM_WEIGHTS) -> float:
    """MS-SSIM of two image batches, averaged over the batch.

    a, b: arrays [N, H, W, 3] or [H, W, 3] with values in [0, max_val]. 1 for identical images,
    symmetric, in [0, 1].
    """
    x, y = (torch.as_tensor(np.asarray(v), dtype=torch.float64) for v in (a, b))
    if x.shape != y.shape:
        raise LganimError(f"MS-SSIM needs images of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}.")
    if x.ndim == 3:
        x, y = x[None], y[None]
    if x.ndim != 4:
        raise LganimError(f"MS-SSIM images must be [N, H, W, C] or [H, W, C], got {tuple(x.shape)}.")
    x, y = x.permute(0, 3, 1, 2), y.permute(0, 3, 1, 2)                  # [N, C, H, W]
    ssims, contrasts = [], []
    for level in range(len(weights)):
        if level:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
            if min(x.shape[-2:]) < 1:
                raise LganimError("The images are too small for MS-SSIM's scales.")
        s, c = ssim_and_contrast(x, y, max_val)
        ssims.append(s)
        contrasts.append(c)
    w = torch.tensor(weights, dtype=torch.float64)[:, None]
    s = torch.stack(ssims).clamp(min=0)                                     # [levels, N]
    c = torch.stack(contrasts).clamp(min=0)
    value = torch.prod(c[:-1] ** w[:-1], dim=0) * s[-1] ** w[-1]
    return float(value.mean())


def ms_ssim_consecutive(frames) -> float:
    """Mean MS-SSIM of consecutive frames (temporal consistency; 1 for a still clip)."""
    frames = _check_frames(frames, 2)
    return ms_ssim(frames[1:], frames[:-1])


# ---------------------------------------------------------------------------------------------------------
# ACD
# ---------------------------------------------------------------------------------------------------------

def acd_shape(frames) -> float:
    """mean_t ||mean_pixels(x[t+1]) − mean_pixels(x[t])||₂ over the 3 channels, values in [0, 255]."""
    frames = _check_frames(frames, 2).astype(np.float64)
    means = frames.reshape(frames.shape[0], -1, 3).mean(axis=1)           # [T, 3]
    return float(np.linalg.norm(np.diff(means, axis=0), axis=1).mean())


def face_input(frames, official: bool = True) -> torch.Tensor:
    """Frames uint8 [T, H, W, 3] RGB → the ArcFace input [T, 3, H, W].

    official: BGR channel order in [−0.5, 0.5] (what the authors' metric feeds); else RGB in [−1, 1].
    """
    x = torch.from_numpy(np.ascontiguousarray(_check_frames(frames))).float().permute(0, 3, 1, 2)
    return x.flip(1) / 255.0 - 0.5 if official else x / 127.5 - 1.0


@torch.no_grad()
def acd_face(frames, identity, official: bool = True, batch: int = 16) -> float:
    """Σ_t ||f(x[t+1]) − f(x[t])||² with `identity` an `ArcFaceIdentity` (see module docstring)."""
    x = face_input(_check_frames(frames, 2), official)
    p = next(identity.parameters())
    feats = torch.cat([identity(x[i:i + batch].to(p.device)) for i in range(0, len(x), batch)]).double()
    return float((feats[1:] - feats[:-1]).pow(2).sum())


# ---------------------------------------------------------------------------------------------------------
# CLIP score
# ---------------------------------------------------------------------------------------------------------

def clip_images(frames, clip) -> torch.Tensor:
    """L2-normalised CLIP embeddings [N, E] of uint8 frames [N, H, W, 3] under `clip` (a ClipEncoder)."""
    images = torch.from_numpy(np.ascontiguousarray(frames)).float().permute(0, 3, 1, 2) / 127.5 - 1.0
    return clip.encode_image(images.to(clip.device))


@torch.no_grad()
def clip_similarity(frame, prompt: str, clip) -> float:
    """Cosine similarity of one uint8 frame [H, W, 3] and a prompt under `clip` (a ClipEncoder)."""
    image_emb = clip_images(np.asarray(frame)[None], clip)
    text_emb = clip.encode_text([prompt]).to(image_emb)
    return float(F.cosine_similarity(image_emb, text_emb, dim=-1)[0])


@torch.no_grad()
def clip_direction(first, last, prompt: str, neutral: str, clip) -> float:
    """Directional CLIP similarity of uint8 frames [H, W, 3]: cos(I(last) − I(first), T(prompt) − T(neutral)) in
    [−1, 1]; > 0 when the clip moves from its first frame toward the sentence (0 for a still clip)."""
    images = clip_images(np.stack([first, last]), clip)                      # [2, E]
    texts = clip.encode_text([prompt, neutral]).to(images)                   # [2, E]
    moved, meant = images[1] - images[0], texts[0] - texts[1]
    if float(moved.norm()) == 0.0:
        return 0.0
    return float(F.cosine_similarity(moved, meant, dim=0))


def identity_to_first(features) -> float:
    """Mean cosine similarity of the face features of frames 1..T−1 with frame 0's: features [T, F] (T ≥ 2); 1 when
    every frame shows the first frame's face exactly."""
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise LganimError(f"Identity needs the features [T, F] of 2 frames or more, got shape {tuple(x.shape)}.")
    return float(F.cosine_similarity(x[1:], x[:1], dim=1).mean())


def ms_ssim_pairs(images) -> float:
    """Mean MS-SSIM over every pair of images [N, H, W, 3] (N ≥ 2): how alike N results are (lower: more diverse)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] < 2:
        raise LganimError(f"MS-SSIM between results needs 2 images or more [N, H, W, 3], got {images.shape}.")
    a, b = np.triu_indices(images.shape[0], k=1)
    return float(np.mean([ms_ssim(images[i], images[j]) for i, j in zip(a, b)]))


def evaluate_clip(frames, prompt: str | None = None, *, clip=None, identity=None) -> dict[str, float | None]:
    """Every metric of one clip; a metric whose model is missing is None.

    clip: the loss CLIP (for clip_similarity / clip_score, needs `prompt`); identity: ArcFace (acd_face).
    """
    frames = _check_frames(frames, 2)
    out: dict[str, float | None] = {
        "frames": int(frames.shape[0]),
        "acd_shape": acd_shape(frames),
        "acd_face": acd_face(frames, identity) if identity is not None else None,
        "ms_ssim_consecutive": ms_ssim_consecutive(frames),
        "ms_ssim_first_last": ms_ssim(frames[0], frames[-1]),
        "clip_similarity": None,
        "clip_score": None,
    }
    if clip is not None and prompt:
        sim = clip_similarity(frames[-1], prompt, clip)
        out["clip_similarity"] = sim
        out["clip_score"] = 100.0 * max(sim, 0.0)
    return out


def mean_metrics(results: Sequence[dict]) -> dict[str, float | None]:
    """Average each metric over clips (None where any clip lacks it)."""
    keys = [k for k in results[0] if k != "frames"]
    out = {}
    for k in keys:
        values = [r[k] for r in results]
        out[k] = None if any(v is None for v in values) else float(sum(values) / len(values))
    return out


__all__ = ["MS_SSIM_WEIGHTS", "gaussian_window", "ssim_and_contrast", "ms_ssim", "ms_ssim_consecutive", "acd_shape",
           "face_input", "acd_face", "clip_images", "clip_similarity", "clip_direction", "identity_to_first",
           "ms_ssim_pairs", "evaluate_clip", "mean_metrics"]
