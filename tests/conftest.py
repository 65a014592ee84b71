"""Test session setup: offline, isolated caches (set before lganim or huggingface_hub is imported)."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lganim-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(_SESSION_DIR / "hf")
os.environ["LGANIM_CACHE"] = str(_SESSION_DIR / "cache")
os.environ["LGANIM_WEIGHTS"] = str(_SESSION_DIR / "weights")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def weights_dir():
    """The LGANIM_WEIGHTS folder of this session, emptied after the test."""
    path = Path(os.environ["LGANIM_WEIGHTS"])
    path.mkdir(parents=True, exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def g64():
    """rosinality's Generator(64, 512, 8, channel_multiplier=1) with the reference weights (frozen)."""
    from lganim.stylegan2 import Generator
    g = Generator(64, 512, 8, channel_multiplier=1)
    g.load_state_dict(torch.load(FIXTURES / "ref_g64.pt", weights_only=True), strict=True)
    return g.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def io():
    """Inputs and reference outputs of the g64 generator (tests/fixtures/STYLEGAN2_README.md)."""
    return torch.load(FIXTURES / "ref_g64_io.pt", weights_only=True)
