"""SeFa (Shen & Zhou, CVPR 2021): the W directions a group of W+ layers is most sensitive to, in closed form.

SeFa (Shen & Zhou, CVPR 2021). The style affines of the layers that read a group's W+ codes, stacked as
A [ΣC_in, D] (weight · scale), have eigenvectors of AᵀA that are the W directions the group is most sensitive
to, largest eigenvalue first. A component is placed on every layer of its group (unit norm per layer, zeros
elsewhere); its sign is fixed so that its largest entry is positive. W distances are counted in standard
deviations σ of the domain's W codes along the component (`spread`), so one rule serves every StyleGAN2.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import checks
from ..errors import LganimError
from ..models.stylegan2 import EqualLinear, Generator

SPREAD_SAMPLES = 1000               # W codes (mapping of seeded z, no truncation) that σ is measured on


SPREAD_SEED = 0


def modulations(stylegan: Generator, index: int) -> list[EqualLinear]:
    """The style affines (w [D] -> s [C_in]) of the layers that read W+ code `index`: conv1 reads 0, convs[i] reads
    i + 1, to_rgb1 reads 1 and to_rgbs[k] reads 2k + 3."""
    layers = [stylegan.conv1] if index == 0 else []
    if index == 1:
        layers.append(stylegan.to_rgb1)
    if 1 <= index <= len(stylegan.convs):
        layers.append(stylegan.convs[index - 1])
    if index >= 3 and index % 2 == 1 and (index - 3) // 2 < len(stylegan.to_rgbs):
        layers.append(stylegan.to_rgbs[(index - 3) // 2])
    return [layer.conv.modulation for layer in layers]


def sefa(stylegan: Generator, layers: Sequence[int], k: int) -> torch.Tensor:
    """The top k SeFa directions of the W+ `layers`: unit eigenvectors of AᵀA, largest eigenvalue first, float32
    [k, D] on the CPU (A [ΣC_in, D]: the stacked style affines of those layers, weight · scale)."""
    if not layers or any(isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < stylegan.num_ws
                         for j in layers):
        raise LganimError(f"SeFa layers must be W+ indices from 0 to {stylegan.num_ws - 1}, got {list(layers)}.")
    k = checks.whole("The number of SeFa components", k, 1, stylegan.style_dim)
    a = torch.cat([m.weight.detach().to("cpu", torch.float64) * m.scale
                   for j in layers for m in modulations(stylegan, j)])                 # [ΣC_in, D]
    _, vectors = torch.linalg.eigh(a.T @ a)                                              # ascending eigenvalues
    top = vectors[:, -k:].flip(1).T                                                      # [k, D], largest first
    sign = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))                 # largest entry positive
    return (top * sign).float()


def place(vectors: torch.Tensor, layers: Sequence[int], num_ws: int) -> torch.Tensor:
    """Vectors [K, D] on the given W+ layers, zeros elsewhere: [K, L, D]."""
    out = torch.zeros(vectors.shape[0], num_ws, vectors.shape[1], dtype=vectors.dtype)
    out[:, list(layers)] = vectors[:, None]
    return out


def spread(stylegan: Generator, vectors: torch.Tensor) -> torch.Tensor:
    """σ [K] float64: the standard deviation of the domain's W codes (mapping of seeded z, no truncation) along
    each unit vector [K, D]."""
    z = torch.randn(SPREAD_SAMPLES, stylegan.style_dim, generator=torch.Generator().manual_seed(SPREAD_SEED))
    with torch.no_grad():
        w = stylegan.mapping(z.to(stylegan.device, stylegan.dtype)).to("cpu", torch.float64)   # [n, D]
    return (w @ vectors.double().T).std(0)



__all__ = ["modulations", "sefa", "place", "spread"]
