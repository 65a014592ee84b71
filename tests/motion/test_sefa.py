"""SeFa components of a StyleGAN2's layer groups."""
import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.motion.directions import LAYER_GROUPS
from lganim.motion.sefa import modulations, place, sefa
from tests.motion.test_calibration import tiny_generator


def test_modulations_read_the_layers_they_claim():
    g = tiny_generator()
    ws = torch.randn(2, g.num_ws, g.style_dim)
    seen = {}

    def record(module, inputs, output):
        seen[id(module)] = inputs[0].clone()
    hooks = [m.register_forward_hook(record) for name, m in g.named_modules() if name.endswith("conv.modulation")]
    g.synthesis(ws)
    for h in hooks:
        h.remove()
    claimed = [m for j in range(g.num_ws) for m in modulations(g, j)]
    assert len(claimed) == len({id(m) for m in claimed}) == len(seen) == 1 + 1 + len(g.convs) + len(g.to_rgbs)
    for j in range(g.num_ws):
        for m in modulations(g, j):
            assert torch.equal(seen[id(m)], ws[:, j])


def test_sefa_matches_svd_and_is_ordered():
    g = tiny_generator()
    for layers in LAYER_GROUPS.values():
        d = sefa(g, layers, 6)                                                          # [6, D]
        assert d.shape == (6, g.style_dim) and d.dtype == torch.float32
        assert torch.allclose(d @ d.T, torch.eye(6), atol=1e-5)                          # unit and orthogonal
        a = np.concatenate([(m.weight.numpy() * m.scale).astype(np.float64)
                            for j in layers for m in modulations(g, j)])               # [ΣC, D]
        _, s, vt = np.linalg.svd(a)
        assert np.allclose(np.abs(np.sum(vt[:6] * d.double().numpy(), 1)), 1.0, atol=1e-5)
        gains = np.linalg.norm(a @ d.double().numpy().T, axis=0)                          # √eigenvalue, in order
        assert np.allclose(gains, s[:6], rtol=1e-5) and np.all(np.diff(gains) <= 0)
    placed = place(sefa(g, (3, 4, 5, 6), 2), (3, 4, 5, 6), g.num_ws)                  # [2, L, D]
    norms = placed.norm(dim=2)
    assert torch.allclose(norms[:, 3:7], torch.ones(2, 4)) and norms[:, :3].abs().sum() == 0
    assert norms[:, 7:].abs().sum() == 0
    with pytest.raises(LganimError):
        sefa(g, (0, 99), 2)
    with pytest.raises(LganimError):
        sefa(g, (0,), 0)


