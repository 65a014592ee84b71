"""What one frame of synthesis costs, counted without running it: FLOPs (by kind) and the bytes the eager fast path
and the fp32 reference move through memory (counted op by op on meta tensors), and the data-sheet bf16 peaks the
benchmark compares against. These give the two floors of a frame's time (docs/facts.md, "Speed";
benchmarks/README.md)."""
from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..config import GeneratorConfig
from ..models.renderer import FastRenderer
from ..models.stylegan2 import Generator

# Dense bf16 tensor-core peak in TFLOP/s from NVIDIA's data sheets (the sparse figures halved); --peak-tflops
# overrides. Matched in order against torch.cuda.get_device_name().
BF16_PEAK_TFLOPS = (("H200", 989.4), ("H100", 989.4), ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0))


def synthesis_flops(config: GeneratorConfig) -> dict[str, int]:
    """FLOPs of one frame of synthesis (2 per multiply-add), by kind, plus "total".

    conv:   the 3×3 convolutions (the stride-2 transposed ones at their input resolution: 9 multiply-adds per input
            pixel and channel pair) and the 1×1 ToRGB convolutions;
    fir:    the 4×4 blur after each transposed conv and the ×2 FIR upsampling of the RGB skip, at output resolution
            (16 taps per output pixel and channel, as the reference computes them);
    affine: the style affines w -> s (D × C_in per layer);
    demod:  the demodulation Σ_i s_i² Σ_kk W² (C_in × C_out per StyleGAN layer).
    Elementwise work (bias, noise, activation, modulation of activations) and the mapping network are not
    counted. 1024² (channel_multiplier 2): 150.8 GFLOP; 256²: 90.8; 256² with multiplier 1: 30.1.
    """
    table = config.channel_table()
    d = config.style_dim
    flops = {"conv": 0, "fir": 0, "affine": 0, "demod": 0}

    def styled(c_in: int, c_out: int, in_res: int, out_res: int, upsample: bool):
        flops["conv"] += 2 * 9 * c_in * c_out * in_res * in_res
        if upsample:
            flops["fir"] += 2 * 16 * c_out * out_res * out_res
        flops["affine"] += 2 * d * c_in
        flops["demod"] += 2 * c_in * c_out

    def to_rgb(c: int, res: int, upsample_skip: bool):
        flops["conv"] += 2 * c * 3 * res * res
        flops["affine"] += 2 * d * c
        if upsample_skip:
            flops["fir"] += 2 * 16 * 3 * res * res

    c = table[4]
    styled(c, c, 4, 4, False)
    to_rgb(c, 4, False)
    for log_res in range(3, config.log_size + 1):
        r = 2 ** log_res
        c_out = table[r]
        styled(c, c_out, r // 2, r, True)
        styled(c_out, c_out, r, r, False)
        to_rgb(c_out, r, True)
        c = c_out
    flops["total"] = sum(flops.values())
    return flops


class _TrafficCounter(TorchDispatchMode):
    """Sums the bytes each aten op reads and writes: the memory its tensor arguments and outputs cover (each once
    per op). Views move nothing and are skipped."""

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not (func.is_view or func.overloadpacket is torch.ops.aten._unsafe_view):  # (reshape of a fresh result)
            tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
            self.bytes += sum(_span_bytes(t) for t in tensors)
        return out


def _span_bytes(t: torch.Tensor) -> int:
    """Bytes of memory a tensor covers: a broadcast dimension (stride 0) adds nothing, a slice only its part."""
    if t.numel() == 0:
        return 0
    return (1 + sum((n - 1) * abs(st) for n, st in zip(t.shape, t.stride()))) * t.element_size()


def _meta_generator(config: GeneratorConfig):
    with torch.device("meta"):
        return Generator.from_config(config).eval().requires_grad_(False)


def fast_path_bytes(config: GeneratorConfig, dtype: torch.dtype, batch: int, channels_last: bool = True) -> float:
    """Bytes per frame the eager `FastRenderer` moves through memory at chunk size `batch`: every op's inputs and
    outputs (weights shared by the chunk), counted on meta tensors (no memory, no arithmetic). Each kernel is
    assumed to read its inputs once; a fused, compiled path moves less. Over the device's bandwidth this is the
    time floor of the eager path, the bytes term beside the FLOP term of `synthesis_flops`."""
    renderer = FastRenderer(_meta_generator(config), dtype=dtype, channels_last=channels_last, chunk_size=batch)
    g = renderer.stylegan
    ws, noise = renderer._prepare(torch.empty(batch, g.num_ws, g.style_dim, device="meta"), None)
    counter = _TrafficCounter()
    with torch.inference_mode(), counter:
        renderer._synthesize(ws, noise)
    return counter.bytes / batch


def reference_bytes(config: GeneratorConfig) -> float:
    """Bytes the fp32 reference `Generator.synthesis` moves for one frame rendered alone, counted as
    `fast_path_bytes` counts."""
    g = _meta_generator(config)
    counter = _TrafficCounter()
    with torch.inference_mode(), counter:
        g.synthesis(torch.empty(1, g.num_ws, g.style_dim, device="meta"))
    return counter.bytes


def bf16_peak_tflops(device: torch.device, override: float | None) -> float | None:
    """The bf16 peak used for "% of peak": the override, else the data-sheet value for a known CUDA device."""
    if override is not None:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK_TFLOPS if key in name), None)



__all__ = ["BF16_PEAK_TFLOPS", "synthesis_flops", "fast_path_bytes", "reference_bytes", "bf16_peak_tflops"]
