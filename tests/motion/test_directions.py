"""Control directions: the channel tables and the offsets they make."""
import numpy as np
import pytest
import torch

from lganim.config import DRIVEN_CHANNELS, REGIONS
from lganim.errors import LganimError
from lganim.motion.calibration import calibrate
from lganim.motion.directions import (
    CHANNEL_GROUP,
    FALLBACK_COMPONENT,
    LAYER_GROUPS,
    TYPICAL,
)
from lganim.weights.registry import get_domain
from tests.motion.test_calibration import tiny_generator


def test_channel_tables_agree():
    assert set(REGIONS["all"]) == set(DRIVEN_CHANNELS)
    assert set(REGIONS["lips"]) | set(REGIONS["eyes"]) == set(REGIONS["expression"])
    assert all(max(layers) < 9 for layers in LAYER_GROUPS.values())
    assert set(FALLBACK_COMPONENT) == set(DRIVEN_CHANNELS) == set(CHANNEL_GROUP) == set(TYPICAL)


def test_offsets():
    g = tiny_generator()
    controls = calibrate(get_domain("demo"), g)
    values = {"yaw": np.array([0.0, 1.0, -2.0]), "smile": np.array([0.0, 0.1, 0.1]), "roll": np.ones(3)}
    dw = controls.offsets(values, scales={"smile": 2.0})                                 # roll: no direction
    assert dw.shape == (3, g.num_ws, g.style_dim) and dw.dtype == torch.float32
    expected = (torch.tensor([0.0, 1.0, -2.0])[:, None, None] * controls.directions["yaw"]
                + 0.2 * torch.tensor([0.0, 1.0, 1.0])[:, None, None] * controls.directions["smile"])
    assert torch.allclose(dw, expected, atol=1e-6)
    assert controls.offsets({"roll": np.ones(4)}).abs().sum() == 0
    for bad in ({}, {"yaw": np.array([np.nan])}, {"yaw": np.zeros(2), "pitch": np.zeros(3)}, {"yaw": np.zeros((2, 2))},
                {"yaw": ["a", "b"]}, [1.0]):
        with pytest.raises(LganimError):
            controls.offsets(bad)
    with pytest.raises(LganimError):
        controls.offsets({"yaw": np.zeros(2)}, scales={"yaw": float("inf")})
    with pytest.raises(LganimError):
        controls.offsets({"yaw": np.zeros(2)}, scales=[2.0])


