"""What the benchmarks share: seeded random weights of the real architecture, peak memory."""
import os
import subprocess
import sys

import pytest
import torch

from lganim.config import GeneratorConfig
from lganim.tools.measure import random_stylegan
from tests import ROOT


def test_random_stylegan_is_seeded_and_complete():
    cfg = GeneratorConfig(16, style_dim=32, n_mlp=2, channels=((4, 8), (8, 8), (16, 8)))
    a, b, c = (random_stylegan(cfg, torch.device("cpu"), s) for s in (0, 0, 1))
    for (name, x), y, z in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(x, y), name
        if not name.endswith(".kernel"):
            assert not torch.equal(x, z), name  # every parameter is drawn, biases and noise strengths too


PEAK_SCRIPT = """
import torch
from lganim.tools.measure import PeakMemory
with PeakMemory(torch.device("cpu")) as mem:
    x = torch.ones(64 * 2 ** 20 // 4)  # 64 MiB
    del x
print(mem.bytes)
"""


@pytest.mark.slow
def test_peak_memory_on_cpu_sees_an_allocation():
    # A fresh process: in a long one the allocator may reuse freed pages that are already resident.
    root = ROOT
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert out.returncode == 0, out.stderr
    peak = out.stdout.strip().splitlines()[-1]
    if peak == "None":
        pytest.skip("peak RSS is not readable on this system")
    assert int(peak) >= 48 * 2 ** 20
