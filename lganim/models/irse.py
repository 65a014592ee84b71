"""IR-SE ResNet building blocks (ArcFace's "improved residual" units with squeeze-and-excitation).

Shared by the e4e encoder (`e4e.py`) and the ArcFace identity network `IRSE50`, whose state dict
matches the public `ir_se50.pth`: `input_layer.{0,1,2}`, `body.N.shortcut_layer.*`,
`body.N.res_layer.{0..5}.*` and `output_layer.{0,3,4}.*`; `ArcFaceIdentity` preprocesses generated faces for it
as the official identity loss does.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

# Units per stage of the IR-SE ResNets (widths 64, 128, 256, 512).
STAGE_UNITS = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}
STAGE_CHANNELS = (64, 128, 256, 512)


class UnitSpec(NamedTuple):
    """One bottleneck unit: input channels, output channels, stride."""

    in_channels: int
    channels: int
    stride: int


def get_blocks(num_layers: int = 50) -> list[list[UnitSpec]]:
    """The unit layout of IR-SE-`num_layers` (50, 100 or 152) as four stages of `UnitSpec`."""
    if num_layers not in STAGE_UNITS:
        raise ValueError(f"num_layers must be one of {sorted(STAGE_UNITS)}, got {num_layers}")
    return stage_layout(STAGE_CHANNELS, STAGE_UNITS[num_layers])


def stage_layout(stage_channels, stage_units, in_channels: int | None = None) -> list[list[UnitSpec]]:
    """Stages of units: the first unit of each stage has stride 2 and changes the width."""
    if len(stage_channels) != len(stage_units) or min(stage_units) < 1:
        raise ValueError("stage_channels and stage_units need one entry per stage, each stage >= 1 unit")
    prev = stage_channels[0] if in_channels is None else in_channels
    stages = []
    for ch, n in zip(stage_channels, stage_units):
        stages.append([UnitSpec(prev, ch, 2)] + [UnitSpec(ch, ch, 1)] * (n - 1))
        prev = ch
    return stages


class SEModule(nn.Module):
    """Squeeze-and-excitation: x * sigmoid(fc2(relu(fc1(avgpool(x))))), 1x1 convs without bias."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)                      # [B, C, 1, 1]
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class BottleneckIRSE(nn.Module):
    """IR-SE unit: res = BN -> conv3x3 -> PReLU -> conv3x3(stride) -> BN -> SE; out = res + shortcut.

    The shortcut subsamples (MaxPool2d(1, stride)) when the width is kept, otherwise it is a
    strided conv1x1 + BN.
    """

    def __init__(self, in_channels: int, channels: int, stride: int, se_reduction: int = 16):
        super().__init__()
        if in_channels == channels:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False), nn.BatchNorm2d(channels))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, channels, 3, 1, 1, bias=False),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(channels),
            SEModule(channels, se_reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


def make_input_layer(channels: int = 64) -> nn.Sequential:
    """Stem: conv3x3 (3 -> channels, no bias) -> BN -> PReLU, full resolution."""
    return nn.Sequential(nn.Conv2d(3, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels), nn.PReLU(channels))


def make_body(stages: list[list[UnitSpec]], se_reduction: int = 16) -> nn.Sequential:
    """All units of all stages as one flat Sequential (keys `body.N.*`, N counting across stages)."""
    return nn.Sequential(*[BottleneckIRSE(u.in_channels, u.channels, u.stride, se_reduction)
                           for stage in stages for u in stage])


class IRSE50(nn.Module):
    """ArcFace IR-SE-50 backbone: RGB [B, 3, 112, 112] in [-1, 1] -> L2-normalised identity [B, 512].

    Holds exactly the keys of the public `ir_se50.pth` (load it with `strict=True`).
    """

    def __init__(self, drop_ratio: float = 0.4):
        super().__init__()
        self.input_layer = make_input_layer(64)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(drop_ratio),
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, 512),
            nn.BatchNorm1d(512),
        )
        self.body = make_body(get_blocks(50))

    @property
    def device(self) -> torch.device:
        return self.input_layer[0].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.input_layer[0].weight.dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (112, 112):
            raise ValueError(f"IRSE50 expects 112x112 inputs, got {tuple(x.shape[-2:])}")
        x = self.body(self.input_layer(x))                  # [B, 512, 7, 7]
        return F.normalize(self.output_layer(x), dim=1)     # [B, 512], unit norm


class ArcFaceIdentity(nn.Module):
    """ArcFace features of generated faces, preprocessed as the official IDLoss does.

    Images [B, 3, H, W] in [-1, 1] → adaptive-average-pool to 256² (when not 256) → crop rows 35:223,
    columns 32:220 (the face region of an FFHQ-aligned crop) → pool to 112² → IR-SE50 → [B, 512] unit norm.
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)

    def train(self, mode: bool = True):
        """Frozen: BatchNorm statistics of the backbone are never updated."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        if x.shape[-1] != 256 or x.shape[-2] != 256:
            x = F.adaptive_avg_pool2d(x, (256, 256))
        x = F.adaptive_avg_pool2d(x[:, :, 35:223, 32:220], (112, 112))
        return self.backbone(x.to(self.backbone.dtype)).float()


__all__ = ["UnitSpec", "get_blocks", "stage_layout", "SEModule", "BottleneckIRSE", "make_input_layer",
           "make_body", "IRSE50", "ArcFaceIdentity", "STAGE_UNITS", "STAGE_CHANNELS"]
