"""The batched FastRenderer computes the reference `Generator.synthesis` (tests/fixtures/STYLEGAN2_README.md)."""

import pytest
import torch

from lganim.errors import LganimError
from lganim.models.renderer import (
    FP16_CLAMP,
    FastRenderer,
    blur,
    fir_kernel,
    upsample_skip,
)
from lganim.models.stylegan2 import Generator, make_kernel, upfirdn2d
from tests import FIXTURES

FIXTURES = FIXTURES
FP32_TOL = 1e-3  # brief's bound; measured 1.5e-5 (NCHW) and 2.3e-5 (channels_last) on images with |x| up to 10.5
# bf16 keeps 8 significant bits (unit roundoff 2^-9 ≈ 0.2 %); activations and weights are rounded at each of the
# ~20 layers, so the error compounds to a few tenths of a percent of the image scale on average and about 1 %
# at worst (measured on the fixture: max 0.078 = 0.74 % of max |img| 10.5; mean 0.1 % of it). Bounds: 3 % max,
# 0.5 % mean. fp16 has 11 bits: measured max 0.015; bound 0.5 % max.
BF16_MAX, BF16_MEAN, FP16_MAX = 0.03, 0.005, 0.005


def tiny_generator(seed: int = 0, size: int = 32) -> Generator:
    """A small channel-table model with every parameter random (biases and noise strengths included)."""
    table = {4: 16, 8: 16, 16: 12, 32: 8, 64: 8}
    g = Generator(size, style_dim=32, n_mlp=2, channels={r: c for r, c in table.items() if r <= size})
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in g.state_dict().items():
            if not name.endswith(".kernel"):
                t.add_(0.3 * torch.randn(t.shape, generator=rng))
    return g.eval().requires_grad_(False)


def codes(g: Generator, n: int, seed: int = 1) -> torch.Tensor:
    rng = torch.Generator().manual_seed(seed)
    return g.mapping(torch.randn(n * g.num_ws, g.style_dim, generator=rng)).view(n, g.num_ws, g.style_dim)


def scale_err(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """(max, mean) abs difference relative to the reference's max |value|."""
    d = (a.float() - b).abs()
    s = b.abs().max().item()
    return d.max().item() / s, d.mean().item() / s


@pytest.mark.parametrize("channels_last", [False, True])
def test_fp32_matches_reference_outputs(g64, io, channels_last):
    out, inp = io["outputs_f32"], io["inputs"]
    fast = FastRenderer(g64, channels_last=channels_last)
    with torch.inference_mode():
        assert (fast(out["w_plus"]) - out["img_wplus"]).abs().max() < FP32_TOL
        explicit = fast(out["w_plus"], noise=inp["noise_list"])
        assert (explicit - out["img_wplus_explicit_noise"]).abs().max() < FP32_TOL
        assert (explicit - out["img_wplus"]).abs().max() > 0.1  # the noise really is used
        # 2-D w (one code for every layer), as the reference's broadcast
        assert (fast(out["w_from_z"]) - out["img_w_2d"]).abs().max() < FP32_TOL


@pytest.mark.parametrize("channels_last", [False, True])
def test_fp32_reuses_the_generator_weights(g64, channels_last):
    fast = FastRenderer(g64, channels_last=channels_last)
    params = {p.untyped_storage().data_ptr() for p in g64.parameters()}
    convs = fast._convs + fast._rgbs
    assert all(layer.weight.untyped_storage().data_ptr() in params for layer in convs)


@pytest.mark.parametrize("dtype,max_tol,mean_tol", [
    (torch.bfloat16, BF16_MAX, BF16_MEAN),
    pytest.param(torch.float16, FP16_MAX, FP16_MAX, marks=pytest.mark.slow),   # CPU fp16 convolutions: ~30 s
])
def test_reduced_precision_close_to_fp32_reference(g64, io, dtype, max_tol, mean_tol):
    w_plus, ref = io["outputs_f32"]["w_plus"][:1], io["outputs_f32"]["img_wplus"][:1]
    with torch.inference_mode():
        for channels_last in (False, True):
            img = FastRenderer(g64, dtype=dtype, channels_last=channels_last)(w_plus)
            assert img.dtype == torch.float32 and torch.isfinite(img).all()
            worst, mean = scale_err(img, ref)
            assert worst < max_tol and mean < mean_tol, (dtype, channels_last, worst, mean)


def test_tiny_channel_table_models_and_per_frame_noise():
    g = tiny_generator()
    ws = codes(g, 5)
    rng = torch.Generator().manual_seed(3)
    noise = [torch.randn(5, 1, *t.shape[-2:], generator=rng) for t in g.stored_noise()]  # one map per frame
    with torch.inference_mode():
        ref = g.synthesis(ws, noise=noise)
        for channels_last in (False, True):
            fast = FastRenderer(g, channels_last=channels_last, chunk_size=2)
            assert (fast(ws, noise=noise) - ref).abs().max() < 1e-4
        for dtype, tolerance in ((torch.bfloat16, BF16_MAX), (torch.float16, FP16_MAX)):
            worst, _ = scale_err(FastRenderer(g, dtype=dtype)(ws, noise=noise), ref)
            assert worst < tolerance, dtype


def image_and_gradient(synthesis, ws: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, d Σ(images · weight) / d ws): a fixed random loss of the image, backpropagated to the codes."""
    ws = ws.clone().requires_grad_(True)
    images = synthesis(ws)
    (images * weight).sum().backward()
    return images.detach(), ws.grad


@pytest.mark.parametrize("channels_last", [False, True])
def test_differentiable_synthesis_matches_the_reference_and_its_gradient(channels_last):
    g = tiny_generator(size=64)
    ws = codes(g, 3)
    weight = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    ref, ref_grad = image_and_gradient(g.synthesis, ws, weight)
    fast = FastRenderer(g, channels_last=channels_last)
    img, grad = image_and_gradient(fast.synthesis, ws, weight)
    assert (img - ref).abs().max() < 1e-4
    assert ((grad - ref_grad).norm() / ref_grad.norm()).item() < 1e-4   # measured 8e-7
    assert grad.abs().min(dim=-1).values.gt(0).all()                     # every layer's style gets a gradient
    assert all(p.grad is None for p in g.parameters())                   # the StyleGAN2 stays frozen


def test_differentiable_synthesis_keeps_the_epilogue_maps_of_the_stored_noise():
    """A fit renders the same noise and bias maps at every step: made once per layer, whichever mode asked first."""
    g = tiny_generator(size=64)
    ws = codes(g, 2)
    fast = FastRenderer(g)
    made = []
    shift = fast._shift
    fast._shift = lambda layer, noise: made.append(layer) or shift(layer, noise)
    with torch.inference_mode():
        first = fast.synthesis(ws, size=16)                                      # layers of 4² to 16²: 5 maps
    assert len(made) == 5
    weight = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    img, grad = image_and_gradient(fast.synthesis, ws, weight)                   # with autograd, all 9 layers
    again, _ = image_and_gradient(fast.synthesis, ws, weight)
    assert len(made) == 9 and torch.equal(img, again)
    torch.testing.assert_close(first, fast.synthesis(ws, noise=g.stored_noise(), size=16), rtol=0, atol=0)
    assert len(made) == 9 + 5                                                    # explicit noise: made per call
    _, ref_grad = image_and_gradient(g.synthesis, ws, weight)
    assert ((grad - ref_grad).norm() / ref_grad.norm()).item() < 1e-4


def reference_up_to(g: Generator, ws: torch.Tensor, size: int) -> torch.Tensor:
    """`Generator.synthesis` stopped after the block of resolution `size`: the skip path's image there."""
    noise = g.stored_noise()
    x = g.conv1(g.input(ws.shape[0]), ws[:, 0], noise[0])
    skip = g.to_rgb1(x, ws[:, 1])
    for k, (conv_up, conv, to_rgb) in enumerate(zip(g.convs[::2], g.convs[1::2], g.to_rgbs)):
        if skip.shape[-1] >= size:
            break
        x = conv(conv_up(x, ws[:, 1 + 2 * k], noise[1 + 2 * k]), ws[:, 2 + 2 * k], noise[2 + 2 * k])
        skip = to_rgb(x, ws[:, 3 + 2 * k], skip)
    return skip


def test_differentiable_synthesis_up_to_a_smaller_size():
    g = tiny_generator(size=64)
    ws = codes(g, 2)
    weight = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    ref, ref_grad = image_and_gradient(lambda w: reference_up_to(g, w, 16), ws, weight)
    img, grad = image_and_gradient(lambda w: FastRenderer(g).synthesis(w, size=16), ws, weight)
    assert img.shape == (2, 3, 16, 16) and (img - ref).abs().max() < 1e-4
    assert ((grad - ref_grad).norm() / ref_grad.norm()).item() < 1e-4
    assert grad[:, 6:].abs().max() == 0 and grad[:, :6].abs().min(dim=-1).values.gt(0).all()   # 16²: ws 0..5 used
    assert torch.equal(FastRenderer(g).synthesis(ws, size=64), FastRenderer(g).synthesis(ws))
    for bad in (3, 48, 128):
        with pytest.raises(LganimError, match="power of two"):
            FastRenderer(g).synthesis(ws, size=bad)


@pytest.mark.parametrize("dtype,tolerance", [(torch.bfloat16, 0.08), (torch.float16, 0.05)])
def test_reduced_precision_gradients_are_close_to_the_reference(dtype, tolerance):
    # rounding at every layer, forward and backward: the gradient's relative error is a few % (measured: bf16
    # 2.8-3.4 %, fp16 0.8-2.7 %); the fit keeps the direction and Adam in fp32
    g = tiny_generator(size=64)
    ws = codes(g, 2)
    weight = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    _, ref_grad = image_and_gradient(g.synthesis, ws, weight)
    _, grad = image_and_gradient(FastRenderer(g, dtype=dtype).synthesis, ws, weight)
    assert grad.dtype == torch.float32 and torch.isfinite(grad).all()
    assert ((grad - ref_grad).norm() / ref_grad.norm()).item() < tolerance, dtype


def test_chunked_equals_unchunked_and_streams_in_order():
    g = tiny_generator(size=64)
    ws = codes(g, 6)
    with torch.inference_mode():
        whole = FastRenderer(g)(ws)
        chunks = list(FastRenderer(g, chunk_size=4).stream(ws))
        assert [c.shape[0] for c in chunks] == [4, 2]
        torch.testing.assert_close(torch.cat(chunks), whole, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(whole, g.synthesis(ws), atol=1e-4, rtol=0)
        assert FastRenderer(g)(ws[:0]).shape == (0, 3, 64, 64)


def test_chunk_size_from_memory_budget(g64):
    fp32, bf16 = FastRenderer(g64), FastRenderer(g64, dtype=torch.bfloat16)
    per_frame = fp32.bytes_per_frame()
    assert bf16.bytes_per_frame() < per_frame  # 2-byte activations
    # the 64² layer: input 512×32², two copies; transposed-conv output 256×65²; two 256×64² temporaries
    assert per_frame >= 4 * (2 * 512 * 32 ** 2 + 256 * 65 ** 2 + 2 * 256 * 64 ** 2)
    budgeted = FastRenderer(g64, memory_budget_bytes=3 * per_frame + 1)
    assert budgeted.planned_chunk_size(100) == 3
    assert budgeted.planned_chunk_size(2) == 2
    assert FastRenderer(g64, memory_budget_bytes=1).planned_chunk_size(5) == 1
    assert FastRenderer(g64, chunk_size=7).planned_chunk_size(100) == 7


def flaky_renderer(g, limit: int) -> tuple[FastRenderer, list[int]]:
    """A renderer whose chunks above `limit` frames raise torch.OutOfMemoryError (as a GPU would)."""
    fast = FastRenderer(g, chunk_size=8)
    tried = []

    def synthesize(ws, noise):
        tried.append(ws.shape[0])
        if ws.shape[0] > limit:
            raise torch.OutOfMemoryError(f"fake: {ws.shape[0]} frames do not fit")
        return fast._synthesize(ws, noise)

    fast._chunk_fn = synthesize
    return fast, tried


def test_out_of_memory_halves_the_chunk_and_remembers():
    g = tiny_generator()
    ws = codes(g, 7)
    fast, tried = flaky_renderer(g, limit=2)
    with torch.inference_mode():
        chunks = list(fast.stream(ws))
        assert tried[:3] == [7, 3, 1]            # 7 fails, 3 fails, then chunks of 1
        assert [c.shape[0] for c in chunks] == [1] * 7
        assert (torch.cat(chunks) - g.synthesis(ws)).abs().max() < 1e-4
        tried.clear()
        fast(ws[:5])
        assert tried == [1] * 5                  # the smaller size is kept


def test_out_of_memory_on_one_frame_is_a_clear_error():
    g = tiny_generator()
    fast, _ = flaky_renderer(g, limit=0)
    with pytest.raises(LganimError, match="out of memory rendering one 32px frame"):
        fast(codes(g, 3))


def test_fp16_clamps_but_fp32_does_not():
    g = tiny_generator()
    with torch.no_grad():
        g.conv1.activate.bias.fill_(1e5)     # activations far beyond the fp16 range (65504) and the clamp (256)
    ws = codes(g, 2)
    with torch.inference_mode():
        ref = g.synthesis(ws)
        assert ref.abs().max() > 10 * FP16_CLAMP
        assert (FastRenderer(g)(ws) - ref).abs().max() / ref.abs().max() < 1e-5   # fp32: not clamped
        half = FastRenderer(g, dtype=torch.float16)(ws)
        assert torch.isfinite(half).all()
        # each ToRGB output is clamped to ±256; the skip sums one per resolution (4 at 32 px)
        assert half.abs().max() <= 4 * FP16_CLAMP


def test_fir_helpers_match_the_reference_upfirdn():
    x = torch.randn(2, 5, 9, 9, generator=torch.Generator().manual_seed(0))
    k = make_kernel((1, 3, 3, 1), 4)
    torch.testing.assert_close(blur(x, fir_kernel(5, torch.float32, x.device)), upfirdn2d(x, k, pad=(1, 1)))
    torch.testing.assert_close(upsample_skip(x, fir_kernel(5, torch.float32, x.device)),
                               upfirdn2d(x, k, up=2, pad=(2, 1)))


def test_bad_inputs_are_one_line_errors(g64):
    fast = FastRenderer(g64)
    with pytest.raises(LganimError, match="expected W\\+ codes"):
        fast(torch.zeros(1, 3, 512))
    with pytest.raises(LganimError, match="noise maps"):
        fast(torch.zeros(1, g64.num_ws, 512), noise=[torch.zeros(1, 1, 4, 4)])
    with pytest.raises(LganimError, match="noise map 0"):
        fast(torch.zeros(2, g64.num_ws, 512), noise=[torch.zeros(3, 1, 4, 4)] + g64.stored_noise()[1:])
    with pytest.raises(LganimError, match="dtype"):
        FastRenderer(g64, dtype=torch.float64)
    with pytest.raises(LganimError, match="chunk_size"):
        FastRenderer(g64, chunk_size=0)
    with pytest.raises(LganimError, match="memory_budget_bytes"):
        FastRenderer(g64, memory_budget_bytes=0)


@pytest.mark.gpu
def test_cuda_paths_match_the_reference(g64, io):
    g = Generator(64, 512, 8, channel_multiplier=1)
    g.load_state_dict(g64.state_dict())
    g = g.cuda().eval().requires_grad_(False)
    w_plus = io["outputs_f32"]["w_plus"].cuda()
    with torch.inference_mode():
        ref = g64.synthesis(io["outputs_f32"]["w_plus"])
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # fp32 means fp32 here, not TF32
            img = FastRenderer(g, dtype=torch.float32, channels_last=True)(w_plus).cpu()
        assert (img - ref).abs().max() < FP32_TOL
        for dtype, tol in ((torch.bfloat16, BF16_MAX), (torch.float16, FP16_MAX)):
            for compile in (False, "reduce-overhead"):
                img = FastRenderer(g, dtype=dtype, compile=compile, chunk_size=2)(w_plus).cpu()
                assert scale_err(img, ref)[0] < tol, (dtype, compile)


def test_fixed_shape_chunks_pad_the_last_one_and_copy_out():
    """The compiled path's padding logic, exercised eagerly (compiling takes tens of seconds on the CPU)."""
    g = tiny_generator()
    ws = codes(g, 6)
    fast = FastRenderer(g, chunk_size=4)
    fast._pad_chunks = True
    shapes = []

    def synthesize(ws, noise):
        shapes.append(ws.shape[0])
        return fast._synthesize(ws, noise)

    fast._chunk_fn = synthesize
    with torch.inference_mode():
        chunks = list(fast.stream(ws))
        assert shapes == [4, 4] and [c.shape[0] for c in chunks] == [4, 2]
        assert (torch.cat(chunks) - g.synthesis(ws)).abs().max() < 1e-4


def test_stream_leaves_the_callers_grad_mode_alone():
    g = tiny_generator()
    for chunk in FastRenderer(g, chunk_size=1).stream(codes(g, 2)):
        assert not torch.is_inference_mode_enabled() and chunk.shape == (1, 3, 32, 32)
