"""Device and dtype: resolved once; one line names the device used and why a GPU is not."""
import warnings

import pytest
import torch

import app
import lganim.device
from lganim.cli import main
from lganim.device import device_line, resolve_device, resolve_dtype
from lganim.errors import LganimError


def test_auto_and_explicit():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype(None) is torch.float32 and resolve_dtype("bf16") is torch.bfloat16


def test_bad_values():
    with pytest.raises(LganimError, match="Unknown device"):
        resolve_device("quantum")
    with pytest.raises(LganimError, match="Unknown dtype"):
        resolve_dtype("fp8")
    if not torch.cuda.is_available():
        with pytest.raises(LganimError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.fixture
def old_driver(monkeypatch):
    """torch as a CUDA build sees a too-old NVIDIA driver: it warns (as it does) and reports no CUDA."""
    def is_available():
        warnings.warn("CUDA initialization: The NVIDIA driver on your system is too old (found version 12080). "
                      "Please update your GPU driver by downloading and installing a new version from the URL: "
                      "http://www.nvidia.com/Download/index.aspx", UserWarning)
        return False

    lganim.device.cuda_status.cache_clear()
    monkeypatch.setattr(torch.cuda, "is_available", is_available)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    yield
    lganim.device.cuda_status.cache_clear()


def test_a_too_old_driver_is_named_in_one_line(old_driver):
    device = resolve_device("auto")
    assert device.type == "cpu"
    line = device_line(device)
    assert "\n" not in line and line.startswith("device: cpu")
    assert "CUDA is not usable" in line and "driver on your system is too old (found version 12080)" in line
    with pytest.raises(LganimError, match="no CUDA device to use .*driver .*too old"):
        resolve_device("cuda")


def test_the_cpu_line_of_a_cpu_build_names_no_problem(monkeypatch):
    lganim.device.cuda_status.cache_clear()
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    try:
        assert device_line(resolve_device("auto")) == f"device: cpu (torch {torch.__version__})"
    finally:
        lganim.device.cuda_status.cache_clear()


@pytest.mark.filterwarnings("ignore:CUDA initialization")
@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_the_cli_and_the_app_print_the_fallback_at_startup(old_driver, tmp_path, capsys, monkeypatch):
    assert main(["animate", "--domain", "demo", "--seed", "1", "--prompt", "The person is smiling.", "--frames", "2",
                 "--out", str(tmp_path / "a.mp4")]) == 0
    status = capsys.readouterr().err.splitlines()                      # a status line: on stderr
    assert status[0].startswith("device: cpu — CUDA is not usable") and "too old (found version 12080)" in status[0]
    monkeypatch.setattr(app.demo, "launch", lambda **kwargs: None)
    app.main([])
    assert "driver on your system is too old" in capsys.readouterr().out
