"""Test session setup: offline, isolated caches (set before lganim or huggingface_hub is imported), and the markers
that need something this machine may not have, enforced here and skipped visibly:

    @pytest.mark.gpu                         a CUDA device
    @pytest.mark.real_weights("FILE", ...)   the real public files, placed in the repository's weights/ folder
    @pytest.mark.browser                     Debian chromium (for Playwright)
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from tests import FIXTURES, ROOT

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lganim-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(_SESSION_DIR / "hf")
os.environ["LGANIM_CACHE"] = str(_SESSION_DIR / "cache")
os.environ["LGANIM_WEIGHTS"] = str(_SESSION_DIR / "weights")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

REAL_WEIGHTS = ROOT / "weights"                       # where the real-weight tests look for the public files
CHROMIUM = Path("/usr/bin/chromium")


def missing(item) -> str | None:
    """Why `item` cannot run here (None: it can)."""
    if item.get_closest_marker("gpu") and not torch.cuda.is_available():
        return "needs a CUDA device"
    marker = item.get_closest_marker("real_weights")
    if marker is not None:
        absent = [name for name in marker.args if not (REAL_WEIGHTS / name).is_file()]
        if absent:
            return f"weights/{absent[0]} is absent (see weights/README.md)"
    if item.get_closest_marker("browser") and not CHROMIUM.is_file():
        return f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = missing(item)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


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
    from lganim.models.stylegan2 import Generator
    g = Generator(64, 512, 8, channel_multiplier=1)
    g.load_state_dict(torch.load(FIXTURES / "ref_g64.pt", weights_only=True), strict=True)
    return g.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def io():
    """Inputs and reference outputs of the g64 generator (tests/fixtures/STYLEGAN2_README.md)."""
    return torch.load(FIXTURES / "ref_g64_io.pt", weights_only=True)
