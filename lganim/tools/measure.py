"""What the benchmarks share: random weights of the real architecture, peak memory, device timing.

Peak memory: on CUDA `max_memory_allocated` above what was allocated before the block; on the CPU the growth of the
process's peak resident set (Linux `VmHWM`, reset before the block through `/proc/self/clear_refs`, after glibc's
`malloc_trim` returned the freed heap), or None where that is not available.
"""
from __future__ import annotations

import ctypes
import platform
import re
from pathlib import Path

import torch

from ..config import GeneratorConfig
from ..models.stylegan2 import Generator

PARAM_STD = 0.1  # biases and noise strengths (zero in a fresh network) are drawn N(0, 0.1²) so every term counts


def random_stylegan(config: GeneratorConfig, device: torch.device, seed: int):
    """A `Generator` of the real architecture with every parameter drawn from a seeded `torch.Generator`.

    Weights keep the architecture's init (N(0, 1), the mapping's divided by lr_mul); biases and noise strengths,
    zero in a fresh network, are drawn N(0, PARAM_STD²) so that the benchmark's error covers every term.
    """
    rng = torch.Generator(device="cpu").manual_seed(seed)
    g = Generator.from_config(config)
    with torch.no_grad():
        for name, t in g.state_dict().items():
            if name.endswith(".kernel"):
                continue  # the fixed blur FIR
            noise = torch.randn(t.shape, generator=rng)
            if name.startswith("style.") and name.endswith(".weight"):
                t.copy_(noise / config.lr_mlp)
            elif name.endswith(("bias", "noise.weight")):
                t.add_(noise * PARAM_STD)  # modulation biases stay centred on their init of 1
            else:
                t.copy_(noise)  # conv/modulation weights, the constant input, the noise maps
    return g.to(device).eval().requires_grad_(False)


class PeakMemory:
    """Peak memory above the starting level during a `with` block (bytes; None where it cannot be measured)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.bytes: int | None = None

    @staticmethod
    def _reset_peak_rss() -> int | None:
        """Reset the process's peak resident set (VmHWM) to the current one and return that, in bytes. Freed heap
        memory is handed back to the system first (glibc's malloc_trim), so that a block measured after another
        one is not measured as reusing what that one freed."""
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass                                            # not glibc: the peak may be understated
        try:
            Path("/proc/self/clear_refs").write_text("5")
            m = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
        except OSError:
            return None
        return int(m.group(1)) * 1024 if m else None

    @staticmethod
    def _read_hwm() -> int | None:
        try:
            m = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
        except OSError:
            return None
        return int(m.group(1)) * 1024 if m else None

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = self._reset_peak_rss()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self._start
        elif self._start is not None:
            peak = self._read_hwm()
            self.bytes = None if peak is None else max(0, peak - self._start)
        return False


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA), so that a timing covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


__all__ = ["PARAM_STD", "random_stylegan", "PeakMemory", "sync", "device_name"]
