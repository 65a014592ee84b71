import pytest
import torch

from lganim.device import resolve_device, resolve_dtype
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
