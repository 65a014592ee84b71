"""CLIP text and image encoders through clip-anytorch (`import clip`).

The motion generator conditions on CLIP RN50 embeddings (E = 1024) and the training/fitting losses use ViT-B/32
(E = 512). `ClipEncoder` wraps a `clip.model.CLIP` built by clip-anytorch's `build_model` from a state dict
(`weights/encoders.py` reads OpenAI's weights from the Hub: OpenAI's own URLs answer 404). `build_tiny_clip` makes
small random CLIP state dicts that load through the same function, for tests and the offline demo.

clip-anytorch's `clip/clip.py` imports torchvision's transforms (for `clip.load`'s preprocessing, which lganim does
not use: `ClipEncoder.preprocess` is its own). The torchvision wheels on the index are CUDA builds whose import
fails on a CPU-only torch (`operator torchvision::nms does not exist`). Where that happens, `import_clip` imports
clip with a stand-in torchvision seen only by that import (docs/facts.md, "Dependencies"): no operator is
registered, and `sys.modules` is left as it was, so the next `import torchvision` behaves exactly as before.
"""
from __future__ import annotations

import math
import sys
import types
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..device import resolve_device
from ..errors import LganimError

# CLIP's image normalisation (RGB in [0, 1]), from its preprocessing transform.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_VOCAB_SIZE = 49408
CLIP_CONTEXT_LENGTH = 77

# `clip.model.CLIP` arguments of OpenAI's released models, as `clip.model.build_model` reads them off their state
# dicts; `random_clip` builds them with random weights (the real cost, for benchmarks where the files are absent).
_CLIP_TEXT = dict(context_length=CLIP_CONTEXT_LENGTH, vocab_size=CLIP_VOCAB_SIZE, transformer_width=512,
                  transformer_heads=8, transformer_layers=12)
CLIP_ARCHITECTURES = {
    "RN50": dict(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64,
                 vision_patch_size=None, **_CLIP_TEXT),
    "ViT-B/32": dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32,
                     **_CLIP_TEXT),
}


def _torchvision_error() -> Exception | None:
    """Why `import torchvision` fails here (None: it imports)."""
    if "torchvision" in sys.modules:
        return None
    try:
        import torchvision  # noqa: F401  (only to learn whether it imports)
    except (ImportError, RuntimeError) as err:
        return err
    return None


def _standin_torchvision() -> dict[str, types.ModuleType]:
    """`torchvision` and `torchvision.transforms` modules whose transforms only say that torchvision is unusable:
    what clip/clip.py imports at its top, for `clip.load`'s preprocessing that lganim never calls."""
    def unusable(*args, **kwargs):
        raise LganimError("torchvision does not import here, so clip.load's preprocessing is unavailable; lganim "
                          "preprocesses images itself (ClipEncoder.preprocess).")

    package, transforms = types.ModuleType("torchvision"), types.ModuleType("torchvision.transforms")
    for name in ("Compose", "Resize", "CenterCrop", "ToTensor", "Normalize"):
        setattr(transforms, name, unusable)
    package.transforms = transforms
    return {"torchvision": package, "torchvision.transforms": transforms}


def import_clip():
    """Import and return the `clip` module (clip-anytorch). Where torchvision does not import, clip is imported
    beside a stand-in torchvision that only this import sees (module docstring)."""
    if "clip" in sys.modules:
        return sys.modules["clip"]
    before = {name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")}
    broken = _torchvision_error()
    if broken is not None and "torchvision::" not in str(broken) and not isinstance(broken, ImportError):
        raise LganimError(f"torchvision failed to import ({broken}); reinstall the torchvision that matches "
                          f"torch {torch.__version__}.")
    standin = _standin_torchvision() if broken is not None else {}
    sys.modules.update(standin)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            import clip
    except ImportError as err:
        raise LganimError(f"clip-anytorch could not be imported ({err}); install the packages in "
                          "requirements.txt.") from err
    finally:
        for name in [n for n in sys.modules if (n == "torchvision" or n.startswith("torchvision."))
                     and n not in before]:
            del sys.modules[name]                    # the stand-in and what the failed import left are gone
    return clip


def _check_prompts(prompts) -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, (list, tuple)) or len(prompts) == 0:
        raise LganimError("Give at least one prompt (a sentence such as 'The person is smiling.').")
    for prompt in prompts:
        if not isinstance(prompt, str):
            raise LganimError(f"A prompt must be text, got {type(prompt).__name__}.")
        if not prompt.strip():
            raise LganimError("The prompt is empty; type a sentence such as 'The person is smiling.'")
    return list(prompts)


class ClipEncoder(nn.Module):
    """A frozen CLIP model with text/image encoders that return L2-normalised float32 embeddings.

    Parameters do not require gradients and the model stays in eval mode (the ResNet variant has
    BatchNorm), but `encode_image` is differentiable with respect to its input, so it can serve
    as a loss. Build it with `weights.encoders.load_clip`.
    """

    def __init__(self, model: nn.Module, name: str):
        super().__init__()
        self.model = model  # clip.model.CLIP
        self.name = name
        device = model.text_projection.device
        self.register_buffer("mean", torch.tensor(CLIP_MEAN, device=device).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD, device=device).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        """CLIP is frozen: the module always stays in eval mode."""
        return super().train(False)

    @property
    def embed_dim(self) -> int:
        """E, the size of the joint text/image embedding (1024 for RN50, 512 for ViT-B/32)."""
        return int(self.model.text_projection.shape[1])

    @property
    def input_resolution(self) -> int:
        """Side of the square image the visual encoder takes (224 for RN50 and ViT-B/32)."""
        return int(self.model.visual.input_resolution)

    @property
    def context_length(self) -> int:
        return int(self.model.context_length)

    @property
    def device(self) -> torch.device:
        return self.model.text_projection.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.text_projection.dtype

    def tokenize(self, prompts) -> torch.Tensor:
        """Token ids [B, 77] (int64, on the model's device) for a prompt or a list of prompts.

        A prompt longer than the context is truncated (its last token becomes end-of-text) with a
        warning; an empty prompt raises LganimError.
        """
        clip = import_clip()
        rows = []
        for prompt in _check_prompts(prompts):
            try:
                rows.append(clip.tokenize([prompt], context_length=self.context_length))
            except RuntimeError:
                warnings.warn(f"The prompt is longer than CLIP's {self.context_length} tokens and was truncated: "
                              f"{prompt[:60]!r}...", stacklevel=2)
                rows.append(clip.tokenize([prompt], context_length=self.context_length, truncate=True))
        return torch.cat(rows).to(self.device)

    def encode_text(self, prompts) -> torch.Tensor:
        """L2-normalised text embeddings, float32 [B, E], for a prompt or a list of B prompts."""
        tokens = self.tokenize(prompts)  # [B, 77]
        # The text transformer is causal and the embedding is read at the end-of-text token (the largest id), so the
        # positions after the last one change nothing: drop them (28 expression prompts: 77 -> 13 positions, 6x less
        # work; clip's encode_text takes any length up to the context and slices its causal mask to it).
        tokens = tokens[:, :int(tokens.argmax(dim=-1).max()) + 1]
        features = self.model.encode_text(tokens)  # [B, E] in the model dtype
        return F.normalize(features.float(), dim=-1)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Images [B, 3, H, W] in [-1, 1] → CLIP input [B, 3, R, R], normalised, in the model dtype.

        Non-square images are centre-cropped to a square; the resize is bicubic with antialiasing
        (CLIP's own transform resizes with bicubic PIL). Differentiable.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise LganimError(f"CLIP images must be a tensor [B, 3, H, W] in [-1, 1], got {shape}.")
        if not images.is_floating_point():
            raise LganimError(f"CLIP images must be floating point in [-1, 1], got {images.dtype}.")
        x = (images.to(self.device, torch.float32) + 1) / 2  # [B, 3, H, W] in [0, 1]
        height, width = x.shape[-2:]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        x = x[:, :, top:top + side, left:left + side]
        res = self.input_resolution
        if side != res:
            x = F.interpolate(x, size=(res, res), mode="bicubic", align_corners=False, antialias=True)
        x = x.clamp(0, 1)  # CLIP sees 8-bit images; bicubic overshoot would leave that range
        return ((x - self.mean) / self.std).to(self.dtype)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalised image embeddings, float32 [B, E], for images [B, 3, H, W] in [-1, 1].

        Differentiable with respect to `images` (use it under `torch.inference_mode()` when no
        gradient is needed).
        """
        features = self.model.encode_image(self.preprocess(images))  # [B, E]
        return F.normalize(features.float(), dim=-1)


def clip_from_state_dict(state: dict, device="cpu", dtype: torch.dtype = torch.float32,
                         name: str = "CLIP state dict") -> ClipEncoder:
    """A frozen ClipEncoder from a full CLIP state dict (OpenAI's, open_clip's, or the fine-tuned RN50 of an
    official motion checkpoint)."""
    clip = import_clip()
    try:
        model = clip.model.build_model(dict(state))
    except Exception as err:
        raise LganimError(f"The {name} is not a complete CLIP model ({type(err).__name__}: {err}).") from err
    return ClipEncoder(_cast_clip(model.to(resolve_device(device)), dtype), name)


def random_clip(name: str, device="cpu", dtype: torch.dtype = torch.float32, seed: int = 0) -> ClipEncoder:
    """CLIP `name` ("RN50" or "ViT-B/32") with CLIP's own random initialisation, seeded: the real architecture and
    cost with meaningless embeddings. For benchmarks on machines without the weights; never for results."""
    if name not in CLIP_ARCHITECTURES:
        raise LganimError(f"No architecture for CLIP {name!r}; choose one of {', '.join(CLIP_ARCHITECTURES)}.")
    clip = import_clip()
    with torch.random.fork_rng(devices=[]):  # the constructor draws from the global RNG: leave no trace in it
        torch.manual_seed(seed)
        model = clip.model.CLIP(**CLIP_ARCHITECTURES[name])
    return ClipEncoder(_cast_clip(model.to(resolve_device(device)), dtype), f"{name} (random weights)")


def _cast_clip(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Cast CLIP the way `clip.model.convert_weights` does for fp16, for any `dtype`.

    Convolutions, linear layers, attention projections and the two output projections take
    `dtype`; LayerNorm/BatchNorm parameters stay float32 (CLIP's LayerNorm runs in float32), so
    half and bfloat16 models also run on CPU.
    """
    model.float()
    if dtype == torch.float32:
        return model
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            names = ("weight", "bias")
        elif isinstance(module, nn.MultiheadAttention):
            names = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                     "bias_k", "bias_v")
        else:
            names = ("text_projection", "proj")
        for name in names:
            tensor = getattr(module, name, None)
            if isinstance(tensor, torch.Tensor):
                tensor.data = tensor.data.to(dtype)
    return model


def _tiny_init(name: str, value: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Deterministic stand-in for CLIP's initialisation of one state-dict entry."""
    if not value.is_floating_point() or "running_" in name or name == "logit_scale":
        return value  # BatchNorm statistics, counters and the logit scale keep their constants
    if value.ndim == 1:
        if name.endswith(".weight"):
            return torch.ones_like(value)  # LayerNorm / BatchNorm scale
        if name.endswith("bias"):
            return torch.zeros_like(value)
        std = value.shape[0] ** -0.5  # visual.class_embedding [width]
    elif "embedding" in name:
        std = 0.02  # token and positional embeddings
    elif name in ("text_projection", "visual.proj"):
        std = value.shape[0] ** -0.5  # [width, E], applied as x @ proj
    else:
        std = math.prod(value.shape[1:]) ** -0.5  # [out, in, ...] weights: 1 / sqrt(fan_in)
    return torch.randn(value.shape, generator=generator) * std


def build_tiny_clip(kind: str = "RN", embed_dim: int = 64, seed: int = 0) -> dict[str, torch.Tensor]:
    """State dict of a tiny random `clip.model.CLIP` that `load_clip(path)` rebuilds from its keys.

    kind "RN": ModifiedResNet with one bottleneck per stage, width 16, 64 px input (attention-pool
    grid 2x2); kind "ViT": one transformer layer of width 64, patch 16, 32 px input. Text: one layer of
    width 64 (one head), CLIP's vocabulary (49408) and context (77). The same seed gives the same
    weights; values are rounded to fp16, as `build_model` stores them, so a saved and reloaded model
    holds exactly these tensors. Save it with `torch.save(state_dict, path)`.
    """
    if kind not in ("RN", "ViT"):
        raise LganimError(f"Tiny CLIP kind must be 'RN' or 'ViT', got {kind!r}.")
    if isinstance(embed_dim, bool) or not isinstance(embed_dim, int) or embed_dim < 1:
        raise LganimError(f"Tiny CLIP embed_dim must be a positive integer, got {embed_dim!r}.")
    clip = import_clip()
    if kind == "RN":
        vision = dict(image_resolution=64, vision_layers=(1, 1, 1, 1), vision_width=16, vision_patch_size=None)
    else:
        vision = dict(image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=16)
    # The constructor draws from the global RNG; fork it so building leaves no trace, then
    # overwrite every random entry from the seeded generator.
    with torch.random.fork_rng(devices=[]):
        model = clip.model.CLIP(embed_dim=embed_dim, **vision, context_length=CLIP_CONTEXT_LENGTH,
                                vocab_size=CLIP_VOCAB_SIZE, transformer_width=64, transformer_heads=1,
                                transformer_layers=1)
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, value in model.state_dict().items():
        value = _tiny_init(name, value, generator)
        state[name] = value.half().float() if value.is_floating_point() else value.clone()
    return state


__all__ = ["CLIP_MEAN", "CLIP_STD", "CLIP_ARCHITECTURES", "import_clip", "ClipEncoder", "clip_from_state_dict",
           "random_clip", "build_tiny_clip"]
