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
from tests.ui.browser import CHROMIUM
from tests.ui.servers import serve

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="lganim-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = str(_SESSION_DIR / "hf")
os.environ["LGANIM_CACHE"] = str(_SESSION_DIR / "cache")
os.environ["LGANIM_WEIGHTS"] = str(_SESSION_DIR / "weights")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

REAL_WEIGHTS = ROOT / "weights"                       # where the real-weight tests look for the public files


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


class FakeHub:
    """What a test's stand-in for the Hub saw: every HTTP request huggingface_hub (or lganim's probe) sent, and every
    back-off sleep of huggingface_hub's retries (recorded, not slept). `answer(request)` makes the response; the
    default refuses the connection, as a machine without network does."""

    def __init__(self):
        self.requests: list = []
        self.sleeps: list[float] = []
        self.answer = self.refuse

    @staticmethod
    def refuse(request):
        import httpx2
        raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)

    def handle(self, request):
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture
def fake_hub(monkeypatch):
    """HF_HUB_OFFLINE unset for the test, huggingface_hub's HTTP client replaced by one that answers through a
    `FakeHub` (no network is touched), and lganim's memory of Hub probes empty."""
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    from lganim.weights import hub

    fake = FakeHub()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(_http, "time", type("Clock", (), {"sleep": staticmethod(fake.sleeps.append)}))
    monkeypatch.setattr(hub, "HUB_PROBE", hub.HubProbe())
    huggingface_hub.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(fake.handle)))
    huggingface_hub.close_session()
    yield fake
    huggingface_hub.set_client_factory(_http.default_client_factory)
    huggingface_hub.close_session()


@pytest.fixture(scope="session")
def g64():
    """rosinality's Generator(64, 512, 8, channel_multiplier=1) with the reference weights (frozen)."""
    from lganim.models.stylegan2 import Generator  # lganim only once the environment above is set
    g = Generator(64, 512, 8, channel_multiplier=1)
    g.load_state_dict(torch.load(FIXTURES / "ref_g64.pt", weights_only=True), strict=True)
    return g.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def tiny_clip_files(tmp_path_factory):
    """Two tiny random CLIP checkpoints in OpenAI's layout, {"RN": path, "ViT": path}."""
    from lganim.models.clip import build_tiny_clip  # lganim only once the environment above is set
    folder = tmp_path_factory.mktemp("clip")
    files = {}
    for kind in ("RN", "ViT"):
        files[kind] = folder / f"tiny_{kind}.pt"
        torch.save(build_tiny_clip(kind, embed_dim=48, seed=0), files[kind])
    return files


@pytest.fixture(scope="session")
def io():
    """Inputs and reference outputs of the g64 generator (tests/fixtures/STYLEGAN2_README.md)."""
    return torch.load(FIXTURES / "ref_g64_io.pt", weights_only=True)


# The one app server the tests that talk to a running app share (each start costs seconds of imports and loading):
# the demo domain, a short queue (a test fills it) and a small upload cap (a test exceeds it).
SHARED_SERVER = {"LGANIM_DOMAIN": "demo", "LGANIM_QUEUE_SIZE": "6", "LGANIM_CONCURRENCY": "1", "LGANIM_UPLOAD_MB": "20"}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """`python app.py` on the demo domain, started once for the session (tests/ui/servers.py)."""
    with serve(tmp_path_factory.mktemp("app-server"), **SHARED_SERVER) as running:
        yield running
