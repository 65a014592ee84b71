import json

import numpy as np
import pytest
import torch
from torch import nn

from lganim.models.irse import (
    IRSE50,
    ArcFaceIdentity,
    BottleneckIRSE,
    get_blocks,
    make_body,
    make_input_layer,
)
from tests import FIXTURES, ROOT

MANIFEST = FIXTURES / "e4e_encoder_keys.json"


def test_get_blocks_50_layout():
    stages = get_blocks(50)
    assert [len(s) for s in stages] == [3, 4, 14, 3]
    assert [s[0].channels for s in stages] == [64, 128, 256, 512]
    assert [s[0].in_channels for s in stages] == [64, 64, 128, 256]
    assert all(s[0].stride == 2 and all(u.stride == 1 for u in s[1:]) for s in stages)


def test_body_keys_match_e4e_manifest():
    shapes = json.loads(MANIFEST.read_text())["shapes"]
    expected = {k[len("encoder."):]: v for k, v in shapes.items()
                if k.startswith(("encoder.input_layer.", "encoder.body."))}
    with torch.device("meta"):
        m = torch.nn.Module()
        m.input_layer = make_input_layer(64)
        m.body = make_body(get_blocks(50))
    got = {k: list(v.shape) for k, v in m.state_dict().items()}
    assert got == expected


def test_irse50_keys_and_output():
    with torch.device("meta"):
        net = IRSE50()
    sd = net.state_dict()
    heads = sorted({k.split(".")[0] for k in sd})
    assert heads == ["body", "input_layer", "output_layer"]
    out_keys = {k: list(v.shape) for k, v in sd.items() if k.startswith("output_layer.")}
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert out_keys == {**{f"output_layer.0.{n}": ([512] if n != "num_batches_tracked" else []) for n in bn},
                        "output_layer.3.weight": [512, 512 * 7 * 7], "output_layer.3.bias": [512],
                        **{f"output_layer.4.{n}": ([512] if n != "num_batches_tracked" else []) for n in bn}}
    assert max(int(k.split(".")[1]) for k in sd if k.startswith("body.")) == 23


def test_irse50_forward_is_unit_norm():
    torch.manual_seed(0)
    net = IRSE50().eval()
    x = torch.rand(2, 3, 112, 112) * 2 - 1
    with torch.no_grad():
        y = net(x)
    assert y.shape == (2, 512)
    torch.testing.assert_close(y.norm(dim=1), torch.ones(2))
    assert (y[0] - y[1]).abs().max() > 1e-3


def test_unit_shortcut_kinds():
    same = BottleneckIRSE(64, 64, 2)
    assert isinstance(same.shortcut_layer, torch.nn.MaxPool2d)
    x = torch.randn(1, 64, 8, 8)
    assert same(x).shape == (1, 64, 4, 4)
    wider = BottleneckIRSE(64, 128, 2)
    assert wider(x).shape == (1, 128, 4, 4)


REAL_IRSE = ROOT / "weights" / "ir_se50.pth"


@pytest.mark.real_weights("ir_se50.pth")
def test_real_ir_se50_loads_strictly_and_recognises_a_face():
    from lganim.face.align import align_face
    from lganim.face.photo import load_photo
    from lganim.models.e4e import images_to_tensor

    net = IRSE50()
    net.load_state_dict(torch.load(REAL_IRSE, map_location="cpu", weights_only=True), strict=True)
    net.eval()
    # the identity-loss convention of pSp/e4e: the inner 188x188 of a 256 FFHQ crop, resized to 112
    face = np.ascontiguousarray(align_face(load_photo(MANIFEST.parent / "faces" / "astronaut.png"),
                                           size=256).image[35:223, 32:220])
    x = images_to_tensor(np.stack([face, face[:, ::-1], np.full_like(face, 128)]), 112, "cpu", torch.float32)
    with torch.no_grad():
        e = net(x)
    same, other = float(e[0] @ e[1]), float(e[0] @ e[2])
    assert same > 0.5 and same > other + 0.2


class Recorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.seen = None

    @property
    def dtype(self):
        return self.lin.weight.dtype

    def forward(self, x):
        self.seen = x.shape
        return nn.functional.normalize(self.lin(x.mean(dim=(2, 3))), dim=-1)


def test_arcface_preprocessing_crops_face_region_to_112():
    rec = Recorder()
    ident = ArcFaceIdentity(rec)
    out = ident(torch.randn(2, 3, 64, 64))
    assert rec.seen == (2, 3, 112, 112)
    assert out.shape == (2, 2)
    assert not any(p.requires_grad for p in rec.parameters())
    assert not ident.train().backbone.training
