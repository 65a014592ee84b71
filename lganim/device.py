"""Device and dtype, resolved once from what the caller asked for ("auto" picks the best available), and one line
that says which device is used and, when a GPU was expected but is not usable, why."""
from __future__ import annotations

import functools
import warnings

import torch

from .errors import LganimError

DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
          "fp16": torch.float16, "float16": torch.float16}


@functools.lru_cache(maxsize=1)
def cuda_status() -> tuple[bool, str]:
    """(CUDA usable, why not). torch answers "no CUDA" without raising, with a warning that says why (e.g. "The
    NVIDIA driver on your system is too old (found version 12080)"): that warning is the reason, kept once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    if available:
        return True, ""
    if torch.version.cuda is None:
        return False, "this torch is a CPU build"
    reasons = [" ".join(str(w.message).split()) for w in caught]
    reason = next((r for r in reasons if "CUDA" in r or "driver" in r), "")
    return False, reason.removeprefix("CUDA initialization: ") or "no NVIDIA GPU or driver was found"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if cuda_status()[0] else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise LganimError(f"Unknown device {device!r}: use auto, cpu or cuda.") from None
    if dev.type == "cuda" and not cuda_status()[0]:
        raise LganimError(f"CUDA was asked for but there is no CUDA device to use ({cuda_status()[1]}): use "
                          f"--device cpu.")
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


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: a CUDA device with bf16, or a CPU with AVX512-BF16 or AMX (torch's
    own probes; other CPUs emulate bf16, slower than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return device.type == "cpu" and any(probe is not None and probe() for probe in probes)


def device_line(device: torch.device) -> str:
    """One line naming the device actually used, and why not the GPU when torch has CUDA but cannot use it."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"device: {device} ({torch.cuda.get_device_name(index)}, torch {torch.__version__})"
    usable, why = cuda_status()
    if usable or torch.version.cuda is None:
        return f"device: {device} (torch {torch.__version__})"
    return f"device: {device} — CUDA is not usable, running on the CPU: {why}"


__all__ = ["DTYPES", "cuda_status", "resolve_device", "resolve_dtype", "native_bf16", "device_line"]
