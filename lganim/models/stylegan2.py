"""StyleGAN2 generator in pure PyTorch, in the rosinality/stylegan2-pytorch state-dict layout.

This is the fp32 reference: each sample is modulated through a grouped convolution (the "fused" form the
official code uses), no custom CUDA ops. It loads `ckpt["g_ema"]` of a rosinality checkpoint with
`strict=True`. Faster renderers live beside it and are tested against it.

Shapes: B batch, L = num_ws W+ layers, D = style_dim, C channels, H = W = resolution.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GeneratorConfig

BLUR_KERNEL = (1, 3, 3, 1)
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def make_kernel(taps: Sequence[int], gain: float = 1.0) -> torch.Tensor:
    """Separable FIR taps -> normalised 2-D kernel [K, K], times `gain` (rosinality multiplies by up²)."""
    k = torch.tensor(taps, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum() * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Upsample by zero insertion, pad, then filter each channel with `kernel` (x: [B, C, H, W]).

    The same operation as rosinality's upfirdn2d with down=1 and equal padding on both axes. The kernels used here
    are symmetric, so correlation and convolution agree.
    """
    b, c, h, w = x.shape
    if up > 1:
        # [B, C, H, 1, W, 1] -> zeros after every sample -> [B, C, H·up, W·up]
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1))
        x = x.reshape(b, c, h * up, w * up)
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    weight = kernel.to(x.dtype).flip(0, 1)[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, groups=c)


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """leaky_relu(x + bias, 0.2) · √2, bias broadcast over channel dim 1."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), LRELU_SLOPE) * LRELU_GAIN


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: weight stored as randn/lr_mul, scaled at run time."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class Blur(nn.Module):
    def __init__(self, pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        self.register_buffer("kernel", make_kernel(BLUR_KERNEL, gain))
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class Upsample(nn.Module):
    """×2 upsampling with the blur FIR (used on the RGB skip path)."""

    def __init__(self, factor: int = 2):
        super().__init__()
        self.register_buffer("kernel", make_kernel(BLUR_KERNEL, factor ** 2))
        p = len(BLUR_KERNEL) - factor
        self.factor = factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution; weight [1, out, in, k, k]; style s = modulation(w) [B, in]."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int, demodulate: bool = True,
                 upsample: bool = False):
        super().__init__()
        self.in_ch, self.out_ch, self.kernel_size = in_ch, out_ch, kernel_size
        self.demodulate, self.upsample = demodulate, upsample
        if upsample:
            # transposed conv (stride 2) then blur; pads from rosinality: p = (4 - 2) - (k - 1)
            factor = 2
            p = (len(BLUR_KERNEL) - factor) - (kernel_size - 1)
            self.blur = Blur(pad=((p + 1) // 2 + factor - 1, p // 2 + 1), gain=factor ** 2)
        self.scale = 1.0 / math.sqrt(in_ch * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)

    def modulated_weight(self, w: torch.Tensor) -> torch.Tensor:
        """Per-sample weights [B, out, in, k, k] for W codes w [B, D]."""
        s = self.modulation(w)                                        # [B, in]
        weight = self.scale * self.weight * s[:, None, :, None, None]  # [B, out, in, k, k]
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum(dim=(2, 3, 4)) + 1e-8)  # [B, out]
            weight = weight * demod[:, :, None, None, None]
        return weight

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        b, _, h, wd = x.shape
        k = self.kernel_size
        weight = self.modulated_weight(w)
        x = x.reshape(1, b * self.in_ch, h, wd)  # the batch folded into groups
        if self.upsample:
            # conv_transpose2d wants [in, out/groups, k, k] per group: [B·in, out, k, k]
            weight = weight.transpose(1, 2).reshape(b * self.in_ch, self.out_ch, k, k)
            out = F.conv_transpose2d(x, weight, stride=2, groups=b)
            out = self.blur(out.reshape(b, self.out_ch, *out.shape[-2:]))
        else:
            out = F.conv2d(x, weight.reshape(b * self.out_ch, self.in_ch, k, k), padding=self.padding, groups=b)
            out = out.reshape(b, self.out_ch, h, wd)
        return out


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.weight * noise


class StyledConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, kernel_size, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_ch)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, w), noise))


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, style_dim: int, upsample: bool = True):
        super().__init__()
        if upsample:
            self.upsample = Upsample()
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4):
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.input.expand(batch, -1, -1, -1)


class Generator(nn.Module):
    """StyleGAN2 generator with rosinality's parameter names (docs/architecture.md, "Contracts").

    `latent_avg` [D] is a non-persistent buffer (not in the state dict): the checkpoint's mean W, or a
    fixed-seed `mean_latent(4096)` set by the loader.
    """

    def __init__(self, size: int, style_dim: int = 512, n_mlp: int = 8, channel_multiplier: int = 2,
                 channels: Sequence[tuple[int, int]] | dict[int, int] | None = None, lr_mlp: float = 0.01):
        super().__init__()
        if isinstance(channels, dict):
            channels = tuple(sorted(channels.items()))
        self.config = GeneratorConfig(size, style_dim, n_mlp, channel_multiplier,
                                      tuple(tuple(p) for p in channels) if channels else None, lr_mlp)
        table = self.config.channel_table()
        self.size, self.style_dim = size, style_dim
        self.log_size = self.config.log_size
        self.num_ws = self.config.num_ws
        self.num_layers = (self.log_size - 2) * 2 + 1  # noise maps

        self.style = nn.Sequential(PixelNorm(), *[
            EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation=True) for _ in range(n_mlp)])
        self.input = ConstantInput(table[4])
        self.conv1 = StyledConv(table[4], table[4], 3, style_dim)
        self.to_rgb1 = ToRGB(table[4], style_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.randn(1, 1, res, res))
        in_ch = table[4]
        for log_res in range(3, self.log_size + 1):
            out_ch = table[2 ** log_res]
            self.convs.append(StyledConv(in_ch, out_ch, 3, style_dim, upsample=True))
            self.convs.append(StyledConv(out_ch, out_ch, 3, style_dim))
            self.to_rgbs.append(ToRGB(out_ch, style_dim))
            in_ch = out_ch
        self.register_buffer("latent_avg", torch.zeros(style_dim), persistent=False)

    @classmethod
    def from_config(cls, config: GeneratorConfig) -> "Generator":
        return cls(config.size, config.style_dim, config.n_mlp, config.channel_multiplier, config.channels,
                   config.lr_mlp)

    @property
    def device(self) -> torch.device:
        """Where the weights are (and where it renders)."""
        return self.input.input.device

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype."""
        return self.input.input.dtype

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, D] -> w [B, D] (PixelNorm + n_mlp EqualLinear/lrelu)."""
        return self.style(z)

    def mean_latent(self, n: int = 4096, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean W over n samples of z: [1, D]. Pass a seeded `generator` for a reproducible estimate."""
        device = generator.device if generator is not None else self.device
        z = torch.randn(n, self.style_dim, generator=generator, device=device)
        return self.mapping(z.to(self.device, self.dtype)).mean(0, keepdim=True)

    def truncate(self, w: torch.Tensor, psi: float, w_avg: torch.Tensor | None = None) -> torch.Tensor:
        """w_avg + ψ (w − w_avg); w is [B, D] or [B, L, D]; w_avg defaults to `latent_avg`."""
        if psi == 1.0:
            return w
        w_avg = self.latent_avg if w_avg is None else w_avg
        w_avg = w_avg.reshape(*([1] * (w.ndim - 1)), -1).to(w)  # broadcast over batch (and layers)
        return torch.lerp(w_avg, w, psi)

    def broadcast_ws(self, w: torch.Tensor) -> torch.Tensor:
        """[B, D] (one w for every layer) or [B, L, D] -> [B, L, D]."""
        if w.ndim == 2:
            return w[:, None, :].expand(-1, self.num_ws, -1)
        if w.ndim != 3 or w.shape[1] != self.num_ws:
            raise ValueError(f"expected W+ codes [B, {self.num_ws}, {self.style_dim}], got {tuple(w.shape)}")
        return w

    def stored_noise(self) -> list[torch.Tensor]:
        return [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]

    def synthesis(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """W+ codes ws [B, L, D] (or [B, D]) -> images [B, 3, H, W], roughly in [-1, 1] for trained weights.

        noise: one map per layer ([B or 1, 1, r, r]); None uses the stored buffers (rosinality's
        randomize_noise=False), so the same code always renders the same image.
        """
        ws = self.broadcast_ws(ws)
        noise = self.stored_noise() if noise is None else list(noise)
        x = self.conv1(self.input(ws.shape[0]), ws[:, 0], noise[0])
        skip = self.to_rgb1(x, ws[:, 1])
        i = 1
        for conv_up, conv, to_rgb, n_up, n in zip(self.convs[::2], self.convs[1::2], self.to_rgbs,
                                                   noise[1::2], noise[2::2]):
            x = conv_up(x, ws[:, i], n_up)
            x = conv(x, ws[:, i + 1], n)
            skip = to_rgb(x, ws[:, i + 2], skip)
            i += 2
        return skip

    def forward(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        return self.synthesis(ws, noise)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images [B, 3, H, W] in [-1, 1] -> uint8 [B, H, W, 3] on the CPU."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
