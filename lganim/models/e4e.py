"""Photo -> W+ inversion with an e4e encoder (Tov et al., "Designing an Encoder for StyleGAN Image
Manipulation", SIGGRAPH 2021), plus optional optimisation-based refinement.

`E4EEncoder` holds exactly the `encoder.*` keys of the public `e4e_ffhq_encode.pt` (prefix removed):
an IR-SE-50 body with feature taps at 1/4, 1/8 and 1/16 of the input (c1, c2, c3), an FPN
(`latlayer1`, `latlayer2`) and one `GradualStyleBlock` per W+ layer. The first block predicts the
base code w0 from c3; block i >= 1 predicts an offset delta_i from c3 (coarse layers), p2 (middle) or
p1 (fine), and code_i = w0 + delta_i. Adding the generator's `latent_avg` gives W+.

`E4EConfig` also describes smaller encoders of the same family (fewer/narrower units, fewer W+
layers, another style width), e.g. for a tiny demo generator.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import LganimError
from .irse import STAGE_CHANNELS, STAGE_UNITS, make_body, make_input_layer, stage_layout
from .stylegan2 import EqualLinear


@dataclass(frozen=True)
class E4EConfig:
    """Shape of an e4e encoder. The defaults are `Encoder4Editing(50, 'ir_se')` for FFHQ 1024 (18 W+ layers).

    input_size: square input the encoder sees (faces are resized to it), a multiple of 16.
    stage_channels / stage_units: widths and unit counts of the four IR-SE stages.
    num_ws / style_dim: W+ layers predicted and the width of one code.
    coarse_ind / middle_ind: first W+ layer read from p2 (1/8 scale) and from p1 (1/4 scale);
        layers before `coarse_ind` read c3 (1/16 scale).
    """

    input_size: int = 256
    stage_channels: tuple[int, int, int, int] = STAGE_CHANNELS
    stage_units: tuple[int, int, int, int] = STAGE_UNITS[50]
    num_ws: int = 18
    style_dim: int = 512
    coarse_ind: int = 3
    middle_ind: int = 7
    se_reduction: int = 16

    def __post_init__(self):
        if len(self.stage_channels) != 4 or len(self.stage_units) != 4 or min(self.stage_units) < 1:
            raise ValueError("stage_channels and stage_units need 4 entries, each stage >= 1 unit")
        if self.input_size < 32 or self.input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16, >= 32, got {self.input_size}")
        if self.num_ws < 1 or not 1 <= self.coarse_ind < self.middle_ind:
            raise ValueError("need num_ws >= 1 and 1 <= coarse_ind < middle_ind")

    @property
    def tap_units(self) -> tuple[int, int, int]:
        """Body indices whose outputs are c1, c2, c3 (last unit of stages 2, 3, 4): (6, 20, 23) for IR-SE-50."""
        ends = np.cumsum(self.stage_units) - 1
        return int(ends[1]), int(ends[2]), int(ends[3])

    def style_spatial(self, i: int) -> int:
        """Spatial size of the feature map read by W+ layer i (c3, p2 or p1)."""
        c3 = self.input_size // 16
        return c3 if i < self.coarse_ind else (2 * c3 if i < self.middle_ind else 4 * c3)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stage_channels"], d["stage_units"] = list(self.stage_channels), list(self.stage_units)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "E4EConfig":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for k in ("stage_channels", "stage_units"):
            if k in d:
                d[k] = tuple(int(v) for v in d[k])
        return cls(**d)


class GradualStyleBlock(nn.Module):
    """Feature map [B, C, s, s] -> one code [B, D]: log2(s) stride-2 conv3x3 + LeakyReLU(0.01), then EqualLinear."""

    def __init__(self, in_channels: int, out_channels: int, spatial: int):
        super().__init__()
        n = int(math.log2(spatial))
        if n < 1 or 2 ** n != spatial:
            raise ValueError(f"spatial size must be a power of two >= 2, got {spatial}")
        layers = []
        for k in range(n):
            layers += [nn.Conv2d(in_channels if k == 0 else out_channels, out_channels, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(out_channels, out_channels, lr_mul=1.0)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x)                                      # [B, D, 1, 1]
        return self.linear(x.view(-1, self.out_channels))      # [B, D]


def _upsample_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """FPN merge: bilinear (align_corners=True) upsampling of x to y's size, plus y."""
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class E4EEncoder(nn.Module):
    """e4e encoder: RGB [B, 3, S, S] in [-1, 1] (S = config.input_size) -> W+ offsets [B, num_ws, style_dim].

    Construct with a config, keyword overrides of it, or both: `E4EEncoder()` is the FFHQ encoder,
    `E4EEncoder(num_ws=14)` the one for a 256 px generator. The output does not include `latent_avg`.
    """

    def __init__(self, config: E4EConfig | None = None, **overrides):
        super().__init__()
        cfg = replace(config or E4EConfig(), **overrides)
        self.config = cfg
        ch = cfg.stage_channels
        self.input_layer = make_input_layer(ch[0])
        self.body = make_body(stage_layout(ch, cfg.stage_units), cfg.se_reduction)
        self.styles = nn.ModuleList(
            GradualStyleBlock(ch[3], cfg.style_dim, cfg.style_spatial(i)) for i in range(cfg.num_ws))
        self.latlayer1 = nn.Conv2d(ch[2], ch[3], 1)
        self.latlayer2 = nn.Conv2d(ch[1], ch[3], 1)

    @classmethod
    def from_config(cls, config: E4EConfig) -> "E4EEncoder":
        return cls(config)

    @property
    def device(self) -> torch.device:
        return self.input_layer[0].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.input_layer[0].weight.dtype

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Codes plus the intermediate maps: stem, c1, c2, c3, p2, p1 and styles_out [B, L, D] (w0, delta_i)."""
        cfg = self.config
        i1, i2, i3 = cfg.tap_units
        feats = {"stem": self.input_layer(x)}                  # [B, C0, S, S]
        h = feats["stem"]
        for i, unit in enumerate(self.body):
            h = unit(h)
            if i == i1:
                feats["c1"] = h                                # [B, C1, S/4, S/4]
            elif i == i2:
                feats["c2"] = h                                # [B, C2, S/8, S/8]
        feats["c3"] = c3 = h                                   # [B, C3, S/16, S/16]
        outs = [self.styles[0](c3)]                            # w0 [B, D]
        source = c3
        for i in range(1, cfg.num_ws):
            if i == cfg.coarse_ind:
                feats["p2"] = source = _upsample_add(c3, self.latlayer1(feats["c2"]))   # [B, C3, S/8, S/8]
            elif i == cfg.middle_ind:
                feats["p1"] = source = _upsample_add(feats["p2"], self.latlayer2(feats["c1"]))  # [B, C3, S/4, S/4]
            outs.append(self.styles[i](source))                # delta_i [B, D]
        styles_out = torch.stack(outs, dim=1)                  # [B, L, D]
        feats["styles_out"] = styles_out
        codes = torch.cat([styles_out[:, :1], styles_out[:, :1] + styles_out[:, 1:]], dim=1)
        return codes, feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [B, 3, S, S] in [-1, 1] -> codes [B, num_ws, style_dim] (offsets from latent_avg)."""
        return self.forward_with_features(x)[0]


def images_to_tensor(images, size: int, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    """uint8 [B, H, W, 3] (numpy or torch) -> RGB [B, 3, size, size] in [-1, 1], antialiased bilinear resize."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise LganimError(f"Faces must be uint8 [B, H, W, 3]; got {x.dtype} {tuple(x.shape)}.")
    x = x.to(device=device).permute(0, 3, 1, 2).to(torch.float32) / 127.5 - 1.0   # [B, 3, H, W]
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.to(dtype)


def invert(encoder: E4EEncoder, latent_avg: torch.Tensor, aligned) -> torch.Tensor:
    """Aligned faces uint8 [B, S, S, 3] (FFHQ-style crops, any S) -> W+ [B, num_ws, style_dim].

    The faces are resized to the encoder's input size (256 for FFHQ), mapped to [-1, 1], encoded,
    and `latent_avg` [num_ws, style_dim] is added. Runs on the encoder's device and dtype.
    """
    x = images_to_tensor(aligned, encoder.config.input_size, encoder.device, encoder.dtype)
    with torch.inference_mode():
        codes = encoder(x)                                                 # [B, L, D]
        return codes + latent_avg.to(device=codes.device, dtype=codes.dtype)


def refine(w_init: torch.Tensor, target_images, synthesize_fn: Callable[[torch.Tensor], torch.Tensor],
           steps: int = 30, lr: float = 0.01, w_reg: float = 0.0,
           perceptual_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
           perceptual_weight: float = 1.0,
           progress: Callable[[int, int, float], None] | None = None) -> torch.Tensor:
    """Optimise W+ so that `synthesize_fn(w)` matches the target faces more closely (sharper identity).

    Args:
        w_init: [B, L, D] starting codes (e.g. from `invert`).
        target_images: RGB [B, 3, H, W] in [-1, 1], or uint8 [B, H, W, 3].
        synthesize_fn: differentiable [B, L, D] -> RGB [B, 3, H', W'] in [-1, 1] (a frozen generator);
            its output is resized to the target size when they differ.
        steps, lr: Adam iterations and learning rate.
        w_reg: weight of mean((w - w_init)^2), which keeps the code near the encoder's (editable) region.
        perceptual_fn: optional (image, target) -> scalar loss, e.g. LPIPS, added with `perceptual_weight`.
        progress: called as progress(step, steps, loss) after each step (step counts from 1).

    Returns:
        the refined codes [B, L, D], detached, same device and dtype as `w_init`.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if isinstance(target_images, torch.Tensor) and target_images.is_floating_point():
        target = target_images                                                          # [B, 3, H, W]
    else:
        height = int(np.shape(target_images)[-3])                                       # uint8 [B, H, W, 3]
        target = images_to_tensor(target_images, height, w_init.device, w_init.dtype)
    with torch.inference_mode(False), torch.enable_grad():
        target = target.detach().clone().to(device=w_init.device, dtype=w_init.dtype)   # [B, 3, H, W]
        anchor = w_init.detach().clone()
        w = anchor.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=lr)
        for step in range(1, steps + 1):
            img = synthesize_fn(w)                                                      # [B, 3, H', W']
            if img.shape[-2:] != target.shape[-2:]:
                img = F.interpolate(img, size=target.shape[-2:], mode="bilinear", align_corners=False,
                                    antialias=True)
            loss = F.mse_loss(img, target)
            if perceptual_fn is not None:
                loss = loss + perceptual_weight * perceptual_fn(img, target)
            if w_reg:
                loss = loss + w_reg * (w - anchor).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None:
                progress(step, steps, float(loss.detach()))
        return w.detach()


__all__ = ["E4EConfig", "E4EEncoder", "GradualStyleBlock", "invert", "refine",
           "images_to_tensor"]
