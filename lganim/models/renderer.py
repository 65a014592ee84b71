"""Renderers of W+ codes: the `Renderer` protocol, the batched fast renderer of the StyleGAN2 `Generator` of
`stylegan2.py`, and the fp32 reference behind the same interface; the fast one is tested against the reference.

The reference modulates the *weights* of every sample and folds the batch into the groups of one grouped
convolution. Here the modulation is applied to the *activations*, so one ordinary convolution with the shared
weight serves the whole batch (the same function, by linearity):

    reference:  y = conv(x, W·scale·s[b] · demod[b])
    here:       y = conv(x · s'[b], W) · demod[b]          s' = s·scale   [N, in]
                demod[b, o] = rsqrt(Σ_i s'[b, i]² · Σ_kk W[o, i]² + 1e-8)  (a small matmul [N, in] @ [in, out])

The same function with autograd (`FastRenderer.synthesis`, all frames in one call) serves prompt fitting: the
gradient reaches the styles through the activations, so no weight gradient is ever computed, and the render can stop
at a smaller resolution when the loss looks at no more pixels.

The per-layer weights are the StyleGAN2's own parameters (views in fp32, one cast copy in bf16/fp16). What is
derived from them (Σ W², the casts) is computed at construction: build a new renderer after loading other weights.

Other choices (each measured, see benchmarks/README.md):
- the ×2 upsampling convolution is the reference's: conv_transpose2d stride 2, then the 4×4 blur FIR;
- the blur FIR is one depthwise 4×4 convolution;
- the RGB skip path is upsampled with a depthwise transposed convolution (no zero-inserted buffer) and kept in
  fp32 (3 channels: cheap, and it is where the image accumulates);
- ToRGB (1×1, no demodulation) folds the style into a per-sample [3, C] matrix and uses one batched matmul;
- noise maps are broadcast over the batch, never expanded; with the noise and the bias they make one additive map per
  layer, built once per chunk, and kept across calls of `synthesis` with the stored noise (a fit's every step);
- bf16/fp16: styles and demodulation coefficients are computed in fp32 and cast. For fp16 the outputs of every
  convolution layer (after bias, leaky ReLU and gain) and of every ToRGB are clamped to ±256, as
  stylegan2-ada's `conv_clamp=256` does on its fp16 layers: fp16 overflows at 65504, and one overflowing
  activation would turn the whole image into inf/NaN. The clamp is on every resolution, not only the high ones
  that ada runs in fp16, because here every layer is fp16; on the low resolutions it is a pass over small maps.
  A model whose activations exceed 256 (ada trains with the clamp; the original StyleGAN2 did not) renders
  differently in fp16: use bf16 for it, which has the fp32 exponent range and is not clamped. fp32 is never
  clamped, so it stays the reference function.

Shapes: N frames, L = num_ws, D = style_dim, C channels, H = W = resolution.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from ..errors import LganimError
from .stylegan2 import (
    BLUR_KERNEL,
    LRELU_GAIN,
    LRELU_SLOPE,
    Generator,
    ModulatedConv2d,
    StyledConv,
    ToRGB,
)

FP16_CLAMP = 256.0
DEFAULT_CPU_BUDGET = 2 * 1024 ** 3    # bytes of activations per chunk on the CPU
CUDA_FREE_FRACTION = 0.5              # share of the free device memory one chunk may use
SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


class Renderer(Protocol):
    """What turns W+ codes into images: ws [N, L, D] -> images [N, 3, H, W] (fp32 on the StyleGAN2's device), all
    at once (`__call__`) or chunk by chunk in order (`stream`). `chunk_size`: frames per synthesis call (None: the
    renderer picks it)."""

    stylegan: Generator
    chunk_size: int | None

    def stream(self, ws: torch.Tensor) -> Iterator[torch.Tensor]:
        ...

    def __call__(self, ws: torch.Tensor) -> torch.Tensor:
        ...


def blur_taps() -> tuple[float, ...]:
    """One axis of the blur FIR: BLUR_KERNEL normalised to sum 2 (the 2-D kernel sums to 4 = up², as rosinality's)."""
    total = float(sum(BLUR_KERNEL))
    return tuple(2.0 * t / total for t in BLUR_KERNEL)


def fir_kernel(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Depthwise 4×4 FIR [channels, 1, 4, 4] with gain 4 (the blur of the upsampling layers, and the skip path's
    ×2 upsampling filter). Its taps (1, 3, 9)/16 are exact in bf16 and fp16."""
    k = torch.tensor(blur_taps(), dtype=torch.float32, device=device)
    return torch.outer(k, k).expand(channels, 1, 4, 4).to(dtype).contiguous()


def blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """The blur after a stride-2 transposed conv: x [N, C, 2h+1, 2h+1] -> [N, C, 2h, 2h] (pad 1 per side).

    One depthwise convolution (padding inside the conv, no padded copy): measured 3-6× faster on the CPU
    than separable shifted adds, which make ten passes over memory.
    """
    return F.conv2d(x, kernel, padding=1, groups=x.shape[1])


def upsample_skip(skip: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """×2 FIR upsampling [N, c, H, W] -> [N, c, 2H, 2W]; equals rosinality's upfirdn2d(up=2, pad=(2, 1)).

    A stride-2 depthwise transposed convolution with padding 1 computes exactly the non-zero taps of
    "insert zeros, pad (2, 1), filter", without materialising the zero-inserted image.
    """
    return F.conv_transpose2d(skip, kernel, stride=2, padding=1, groups=skip.shape[1])


class _PixelsTimesWeights(torch.autograd.Function):
    """y = x · mᵀ per sample, x [N, P, C] channels-last pixels, m [N, 3, C] per-sample ToRGB weights -> [N, P, 3].

    Its backward forms the weights' gradient as gᵀ · x ([N, 3, P] @ [N, P, C]), the long pixel axis inside a product
    whose output is wide: autograd's own xᵀ · g ([N, C, P] @ [N, P, 3]) was measured 7× slower on the CPU (0.22 s
    against 0.03 s for a 256² layer of 4 frames), a tenth of the fit's step.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, m)
        return torch.bmm(x, m.transpose(1, 2))

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, m = ctx.saved_tensors
        dx = torch.bmm(g, m) if ctx.needs_input_grad[0] else None                      # [N, P, C]
        dm = torch.bmm(g.transpose(1, 2), x) if ctx.needs_input_grad[1] else None      # [N, 3, C]
        return dx, dm


@dataclass
class _ConvLayer:
    """One StyledConv (or the conv of a ToRGB) prepared for activation modulation."""

    modulation: torch.nn.Module   # the StyleGAN2's EqualLinear: w [N, D] -> s [N, in] (fp32)
    scale: float                  # 1 / sqrt(in · k²)
    weight: torch.Tensor          # [out, in, k, k] (conv) or [in, out, k, k] (transposed), compute dtype
    wsq: torch.Tensor | None      # Σ_kk W² [in, out] fp32, for demodulation; None for ToRGB
    upsample: bool
    fir: torch.Tensor | None      # [out, 1, 4, 4] blur after the transposed conv (upsampling layers)
    padding: int
    noise_weight: torch.Tensor | None  # [1] (StyledConv only)
    bias: torch.Tensor            # [out] activation bias (StyledConv) or [1, 3, 1, 1] (ToRGB), fp32

    def styles(self, w: torch.Tensor) -> torch.Tensor:
        """w [N, D] -> s' = modulation(w) · scale [N, in], fp32 (whatever dtype the StyleGAN2 is kept in)."""
        return self.modulation(w.to(self.modulation.weight.dtype)).float() * self.scale


def _prepare_conv(conv: ModulatedConv2d, dtype: torch.dtype, channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The conv weight in the layout/dtype the fast path uses, and Σ_kk W² [in, out] in fp32."""
    w = conv.weight[0]                                     # [out, in, k, k] (a view of the parameter)
    wsq = w.detach().float().pow(2).sum(dim=(2, 3)).t().contiguous()  # [in, out]
    if conv.upsample:
        w = w.transpose(0, 1)                              # conv_transpose2d wants [in, out, k, k]
    if dtype == w.dtype:
        return w.detach(), wsq  # a view: convolutions take NCHW weights with NHWC activations (their format wins)
    # the one copy: the cast, made directly in the layout the convolutions use
    return w.detach().to(dtype, memory_format=torch.channels_last if channels_last else torch.preserve_format), wsq


class FastRenderer:
    """Batched renderer: ws [N, L, D] (or [N, D]) -> images [N, 3, H, W] fp32, the function of
    `stylegan.synthesis` (stored noise, or explicit `noise`), computed in chunks.

    Args:
        stylegan: the reference `Generator` (its device is the rendering device; its parameters are reused).
        dtype: compute dtype of the convolutions: None/torch.float32 (exact path), torch.bfloat16 or torch.float16.
        channels_last: NHWC activations (None = on: measured 19-26 % faster than NCHW on the CPU; cuDNN's
            tensor-core kernels want it too).
        compile: wrap one chunk's synthesis in `torch.compile`: False, True, or a mode string such as
            "reduce-overhead" (which also captures CUDA graphs on CUDA). Chunks are padded to a fixed size so the
            compiled graph is reused. Meant for CUDA; on the CPU it is off by default (measured: +12 % frames/s
            at 64² but 26 s of compiling on 2 cores before the first frame).
        chunk_size: frames per chunk; None derives it from `memory_budget_bytes` and `bytes_per_frame()`.
        memory_budget_bytes: activation memory one chunk may use; None = half the free memory on CUDA, 2 GiB on
            the CPU.

    A chunk that runs out of memory (`torch.OutOfMemoryError`) is retried at half the size, down to one frame;
    the smaller size is kept for later calls.
    """

    def __init__(self, stylegan: Generator, dtype: torch.dtype | None = None, channels_last: bool | None = None,
                 compile: bool | str = False, chunk_size: int | None = None,
                 memory_budget_bytes: int | None = None):
        dtype = torch.float32 if dtype is None else dtype
        if dtype not in SUPPORTED_DTYPES:
            raise LganimError(f"unsupported render dtype {dtype}; use torch.float32, torch.bfloat16 or torch.float16")
        if chunk_size is not None and chunk_size < 1:
            raise LganimError(f"chunk_size must be a positive integer, got {chunk_size}")
        if memory_budget_bytes is not None and memory_budget_bytes < 1:
            raise LganimError(f"memory_budget_bytes must be positive, got {memory_budget_bytes}")
        self.stylegan = stylegan
        self.device = stylegan.device
        self.dtype = dtype
        self.channels_last = True if channels_last is None else bool(channels_last)
        self._memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.clamp = FP16_CLAMP if dtype == torch.float16 else None
        self.chunk_size = chunk_size
        self.memory_budget_bytes = memory_budget_bytes
        self._oom_cap: int | None = None  # largest chunk known to fit after an out-of-memory retry
        self._skip_kernel = fir_kernel(3, torch.float32, self.device)
        self._const = stylegan.input.input.detach().to(dtype)  # [1, C4, 4, 4]
        self._convs = [self._styled(stylegan.conv1)] + [self._styled(c) for c in stylegan.convs]
        self._rgbs = [self._to_rgb(stylegan.to_rgb1)] + [self._to_rgb(t) for t in stylegan.to_rgbs]
        self._stored_shifts: dict[int, torch.Tensor] = {}   # conv layer -> its epilogue map with the stored noise
        self._chunk_fn = self._synthesize
        if compile:
            mode = compile if isinstance(compile, str) else None
            self._chunk_fn = torch.compile(self._synthesize, mode=mode, dynamic=False)
        self._pad_chunks = bool(compile)

    def _styled(self, layer: StyledConv) -> _ConvLayer:
        weight, wsq = _prepare_conv(layer.conv, self.dtype, self.channels_last)
        fir = fir_kernel(layer.conv.out_ch, self.dtype, self.device) if layer.conv.upsample else None
        return _ConvLayer(layer.conv.modulation, layer.conv.scale, weight, wsq, layer.conv.upsample, fir,
                          layer.conv.padding, layer.noise.weight.detach().float(), layer.activate.bias.detach().float())

    def _to_rgb(self, layer: ToRGB) -> _ConvLayer:
        conv = layer.conv
        weight = conv.weight[0, :, :, 0, 0].detach().to(self.dtype)  # [3, C]
        return _ConvLayer(conv.modulation, conv.scale, weight, None, False, None, 0, None,
                          layer.bias.detach().float())

    # ---- one chunk ----------------------------------------------------------------------------------------

    def _shift(self, layer: _ConvLayer, noise: torch.Tensor) -> torch.Tensor:
        """The additive map of a StyledConv's epilogue, (nw · noise + bias) · √2 [1 or N, out, h', h'], in the compute
        dtype and the activations' layout (else addcmul would convert x)."""
        shift = (layer.noise_weight * LRELU_GAIN) * noise + (layer.bias * LRELU_GAIN)[None, :, None, None]
        return shift.to(self.dtype, memory_format=self._memory_format)

    def _stored_shift(self, j: int) -> torch.Tensor:
        """`_shift` of conv layer j with the StyleGAN2's stored noise, made on first use and kept: a fit renders the
        same maps at every step (at 256², building them was 7 % of a two-face step)."""
        if j not in self._stored_shifts:
            with torch.inference_mode(False), torch.no_grad():     # a plain tensor, whichever mode asked first
                self._stored_shifts[j] = self._shift(self._convs[j], self.stylegan.stored_noise()[j].float())
        return self._stored_shifts[j]

    def _conv_layer(self, x: torch.Tensor, layer: _ConvLayer, w: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """StyledConv on activations x [N, in, h, h] -> [N, out, h', h'] (h' = 2h when upsampling); shift: its
        epilogue's additive map (`_shift`)."""
        s = layer.styles(w)                                                  # [N, in] fp32
        demod = torch.rsqrt(s.square() @ layer.wsq + 1e-8)                   # [N, out] fp32
        x = x * s.to(self.dtype)[:, :, None, None]
        if layer.upsample:
            x = F.conv_transpose2d(x, layer.weight, stride=2)                # [N, out, 2h+1, 2h+1]
            x = blur(x, layer.fir)                                           # [N, out, 2h, 2h]
        else:
            x = F.conv2d(x, layer.weight, padding=layer.padding)             # [N, out, h, h]
        # leaky_relu(y · demod + nw · noise + bias) · √2 = leaky_relu(y · demod√2 + (nw · noise + bias)√2):
        # the gain folds in (lrelu is positively homogeneous), and the additive terms make one map [1 or N, out, h', h']
        # built once per chunk (`_shift`), so the epilogue is one addcmul and one in-place lrelu.
        x = torch.addcmul(shift, x, (demod * LRELU_GAIN).to(self.dtype)[:, :, None, None])
        F.leaky_relu_(x, LRELU_SLOPE)
        if self.clamp is not None:
            # in place when no gradient is recorded; with autograd the leaky ReLU keeps its output for the backward
            x = x.clamp(-self.clamp, self.clamp) if x.requires_grad else x.clamp_(-self.clamp, self.clamp)
        return x

    def _rgb_layer(self, x: torch.Tensor, layer: _ConvLayer, w: torch.Tensor) -> torch.Tensor:
        """ToRGB: 1×1 modulated conv without demodulation, x [N, C, h, h] -> [N, 3, h, h] fp32 (plus its bias)."""
        s = layer.styles(w)                                                  # [N, C] fp32
        m = (layer.weight.float() * s[:, None, :]).to(self.dtype)            # per-sample [N, 3, C]
        n, c, h, wd = x.shape
        if self.channels_last:
            y = _PixelsTimesWeights.apply(x.permute(0, 2, 3, 1).reshape(n, h * wd, c), m)         # [N, hw, 3]
            y = y.reshape(n, h, wd, 3).permute(0, 3, 1, 2)
        else:
            y = torch.bmm(m, x.reshape(n, c, h * wd)).reshape(n, 3, h, wd)
        y = y.float() + layer.bias
        if self.clamp is not None:
            y = y.clamp(-self.clamp, self.clamp)
        return y

    def _synthesize(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None,
                    size: int | None = None) -> torch.Tensor:
        """One chunk: ws [n, L, D] fp32 -> images [n, 3, H, W] fp32; noise: one map per layer [n or 1, 1, r, r] (None:
        the stored noise, whose epilogue maps are kept). size: stop after the block of this resolution (the skip
        path's image so far, [n, 3, size, size])."""
        def shift(j: int) -> torch.Tensor:
            return self._stored_shift(j) if noise is None else self._shift(self._convs[j], noise[j])

        x = self._const.expand(ws.shape[0], -1, -1, -1)
        x = x.contiguous(memory_format=self._memory_format)
        x = self._conv_layer(x, self._convs[0], ws[:, 0], shift(0))
        skip = self._rgb_layer(x, self._rgbs[0], ws[:, 1])
        for k, rgb in enumerate(self._rgbs[1:]):
            if size is not None and skip.shape[-1] >= size:
                break
            i = 1 + 2 * k  # W+ index of the upsampling conv of this resolution
            x = self._conv_layer(x, self._convs[1 + 2 * k], ws[:, i], shift(1 + 2 * k))
            x = self._conv_layer(x, self._convs[2 + 2 * k], ws[:, i + 1], shift(2 + 2 * k))
            skip = self._rgb_layer(x, rgb, ws[:, i + 2]) + upsample_skip(skip, self._skip_kernel)
        return skip

    # ---- chunking -----------------------------------------------------------------------------------------

    def bytes_per_frame(self) -> int:
        """Estimated peak activation bytes of one frame: the largest layer's input, its modulated copy, the
        transposed-conv output, the blur/activation temporaries (2 live at once) and the fp32 RGB path."""
        g = self.stylegan
        table = g.config.channel_table()
        item = torch.empty((), dtype=self.dtype).element_size()
        peak = 0
        for log_res in range(3, g.log_size + 1):
            r = 2 ** log_res
            c_in, c_out = table[r // 2], table[r]
            act = item * (2 * c_in * (r // 2) ** 2 + c_out * (r + 1) ** 2 + 2 * c_out * r * r)
            rgb = 4 * 3 * r * r * 3
            peak = max(peak, act + rgb)
        return int(peak)

    def planned_chunk_size(self, n: int) -> int:
        """Frames per chunk for a request of n frames (explicit size, else the memory budget), capped at n."""
        if self.chunk_size is not None:
            size = self.chunk_size
        else:
            budget = self.memory_budget_bytes
            if budget is None:
                if self.device.type == "cuda":
                    free, _ = torch.cuda.mem_get_info(self.device)
                    budget = int(free * CUDA_FREE_FRACTION)
                else:
                    budget = DEFAULT_CPU_BUDGET
            size = max(1, budget // self.bytes_per_frame())
        if self._oom_cap is not None:
            size = min(size, self._oom_cap)
        return max(1, min(size, n))

    def _prepare(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None) -> tuple[torch.Tensor, list]:
        g = self.stylegan
        if not isinstance(ws, torch.Tensor):
            raise LganimError("ws must be a tensor of W+ codes [N, L, D] or W codes [N, D]")
        if ws.ndim == 2 and ws.shape[1] == g.style_dim:
            ws = ws[:, None, :].expand(-1, g.num_ws, -1)
        if ws.ndim != 3 or ws.shape[1:] != (g.num_ws, g.style_dim):
            raise LganimError(f"expected W+ codes [N, {g.num_ws}, {g.style_dim}] or W codes [N, {g.style_dim}], "
                              f"got {tuple(ws.shape)}")
        ws = ws.to(self.device, torch.float32)
        noise = g.stored_noise() if noise is None else list(noise)
        if len(noise) != g.num_layers:
            raise LganimError(f"expected {g.num_layers} noise maps, got {len(noise)}")
        for j, nz in enumerate(noise):
            r = 2 ** ((j + 5) // 2)
            if nz.ndim != 4 or nz.shape[1:] != (1, r, r) or nz.shape[0] not in (1, ws.shape[0]):
                raise LganimError(f"noise map {j} must be [1 or N, 1, {r}, {r}], got {tuple(nz.shape)}")
        return ws, [nz.to(self.device, torch.float32) for nz in noise]

    def _run_chunk(self, ws: torch.Tensor, noise: list, start: int, size: int) -> torch.Tensor:
        stop = min(start + size, ws.shape[0])
        part = ws[start:stop]
        maps = [nz[start:stop] if nz.shape[0] > 1 else nz for nz in noise]
        if not self._pad_chunks:
            return self._chunk_fn(part, maps)
        if part.shape[0] < size:
            # a fixed chunk shape lets the compiled graph (and its CUDA graphs) be reused for the last chunk
            extra = size - part.shape[0]
            part = torch.cat([part, part[-1:].expand(extra, -1, -1)])
            maps = [torch.cat([m, m[-1:].expand(extra, -1, -1, -1)]) if m.shape[0] > 1 else m for m in maps]
        # compiled outputs may live in CUDA-graph memory that the next replay overwrites: copy them out
        return self._chunk_fn(part, maps)[:stop - start].clone()

    def stream(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None) -> Iterator[torch.Tensor]:
        """Render ws [N, L, D] chunk by chunk: yields images [≤chunk, 3, H, W] fp32 in order, as each is done."""
        ws, noise = self._prepare(ws, noise)
        n = ws.shape[0]
        size = self.planned_chunk_size(n)
        start = 0
        while start < n:
            try:
                with torch.inference_mode():  # per chunk: the caller's code between chunks keeps its own mode
                    out = self._run_chunk(ws, noise, start, size)
            except torch.OutOfMemoryError:
                out = None
            if out is None:
                if size == 1:
                    raise LganimError(f"out of memory rendering one {self.stylegan.size}px frame on "
                                      f"{self.device}; free memory, use bf16, or render on another device")
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                size = max(1, size // 2)
                self._oom_cap = size
                continue
            start += out.shape[0]
            yield out

    def synthesis(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None,
                  size: int | None = None) -> torch.Tensor:
        """Differentiable `stylegan.synthesis`: ws [N, L, D] (or [N, D]) -> images [N, 3, H, W] fp32, all N frames in
        one call, under the caller's autograd mode (no chunks, no inference mode, never compiled).

        Gradients reach ws (and `noise`) only: the StyleGAN2's parameters stay frozen. Because the style modulates
        the activations (x · s), the backward of a layer is one input-gradient convolution plus elementwise work;
        the reference's grouped convolution must also compute the gradient of every per-sample modulated weight
        [N, out, in, k, k] (a second convolution as costly as the forward) to reach the styles.

        size: a power of two below the StyleGAN2's resolution renders only the blocks up to it and returns the image
        the skip path holds there, [N, 3, size, size] (what a loss that looks at no more pixels needs); the W+
        layers of the finer blocks are not used.
        """
        g = self.stylegan
        if size is not None and (size < 4 or size > g.size or size & (size - 1)):
            raise LganimError(f"size must be a power of two from 4 to {g.size}, got {size}")
        stored = noise is None
        ws, noise = self._prepare(ws, noise)
        return self._synthesize(ws, None if stored else noise, size)   # stored noise: its epilogue maps are kept

    def __call__(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Render all of ws [N, L, D] (or [N, D]) -> images [N, 3, H, W] fp32 on the StyleGAN2's device."""
        chunks = list(self.stream(ws, noise))
        if not chunks:
            g = self.stylegan
            return torch.empty(0, 3, g.size, g.size, device=self.device)
        return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


class ReferenceRenderer:
    """The fp32 reference behind the renderer interface: `stylegan.synthesis` on `chunk_size` frames per call
    (1: frame by frame, as the official inference renders). ws [N, L, D] -> images [N, 3, H, W]."""

    def __init__(self, stylegan: Generator, chunk_size: int = 1):
        if chunk_size < 1:
            raise LganimError(f"chunk_size must be a positive integer, got {chunk_size}")
        self.stylegan, self.chunk_size = stylegan, chunk_size

    def stream(self, ws: torch.Tensor) -> Iterator[torch.Tensor]:
        """Render ws [N, L, D] chunk by chunk: yields images [≤chunk, 3, H, W] in order."""
        for start in range(0, ws.shape[0], self.chunk_size):
            with torch.inference_mode():  # per chunk: never held across a yield
                yield self.stylegan.synthesis(ws[start:start + self.chunk_size])

    def __call__(self, ws: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.stylegan.synthesis(ws)


RENDERERS = ("fast", "reference")


def make_renderer(name: str, stylegan: Generator, dtype: torch.dtype | None = None,
                  chunk_size: int | None = None) -> Renderer:
    """A renderer by name: "fast" (batched, `dtype`) or "reference" (fp32 grouped convolutions, the StyleGAN2's
    own dtype); `chunk_size` frames per call (None: the fast renderer's memory budget, one frame for the
    reference)."""
    if name == "fast":
        return FastRenderer(stylegan, dtype=dtype, chunk_size=chunk_size)
    if name == "reference":
        return ReferenceRenderer(stylegan, chunk_size or 1)
    raise LganimError(f"Unknown renderer {name!r}: use {' or '.join(RENDERERS)}.")


__all__ = ["Renderer", "FP16_CLAMP", "FastRenderer", "ReferenceRenderer", "RENDERERS", "make_renderer", "blur",
           "fir_kernel", "upsample_skip"]
