"""Device and dtype, resolved once from what the caller asked for ("auto" picks the best available)."""
from __future__ import annotations

import torch

from .errors import LganimError

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise LganimError(f"Unknown device {device!r}: use auto, cpu or cuda.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LganimError("CUDA was asked for but no CUDA device is available: use --device cpu.")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """None -> float32 (the reference). Strings: fp32 / bf16 / fp16."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[dtype]
    except KeyError:
        raise LganimError(f"Unknown dtype {dtype!r}: use fp32, bf16 or fp16.") from None
