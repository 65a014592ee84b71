"""Reading rosinality .pt, NVIDIA .pkl (restricted unpickling) and our safetensors files."""
import json
import math
import os
import pickle
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from lganim.config import GeneratorConfig
from lganim.errors import LganimError
from lganim.weights.nvidia import convert_nvidia_state
from lganim.weights.stylegan_files import (
    infer_generator_config,
    load_generator,
    read_nvidia_pkl,
)
from tests import FIXTURES

# --------------------------------------------------------------------------- NVIDIA pickles
#
# The fakes below stand in for NVIDIA's `torch_utils.persistence` and `dnnlib.util` modules while a
# pickle is *written*, so the bytes name the real module paths exactly as NVIDIA snapshots do.
# Like the real one, the fake `_reconstruct_persistent_obj` runs the embedded `module_src`.

NV_SIZE, NV_DIM, NV_MLP, NV_CHANNELS = 8, 32, 2, {4: 16, 8: 8}


def fake_nvidia_modules(marker: Path) -> dict[str, types.ModuleType]:
    persistence = types.ModuleType("torch_utils.persistence")
    torch_utils = types.ModuleType("torch_utils")
    torch_utils.persistence = persistence

    def _reconstruct_persistent_obj(meta):
        exec(meta["module_src"], {})
        marker.with_suffix(".reconstructed").touch()
        return meta["state"]

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = EasyDict
    dnnlib = types.ModuleType("dnnlib")
    dnnlib.util, dnnlib.EasyDict = util, EasyDict
    return {"torch_utils": torch_utils, "torch_utils.persistence": persistence, "dnnlib": dnnlib,
            "dnnlib.util": util}


class NvModule(torch.nn.Module):
    """An nn.Module that pickles like an NVIDIA @persistent_class instance (source embedded in meta)."""

    def __init__(self, class_name: str, module_src: str):
        super().__init__()
        self.class_name, self.module_src = class_name, module_src

    def __reduce__(self):
        reconstruct = sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj
        meta = dict(type="class", version=6, module_src=self.module_src, class_name=self.class_name,
                    state=dict(self.__dict__))
        return reconstruct, (meta,)


def nvidia_generator(seed: int, module_src: str, easydict) -> NvModule:
    """A tiny stylegan2-ada-pytorch `Generator` (8 px, w_dim 32, 2 mapping layers) with random tensors."""
    gen = torch.Generator().manual_seed(seed)

    def rnd(*shape):
        return torch.randn(*shape, generator=gen)

    def node(name, params=(), buffers=(), children=()):
        m = NvModule(name, module_src)
        for k, v in params:
            m.register_parameter(k, torch.nn.Parameter(v, requires_grad=False))
        for k, v in buffers:
            m.register_buffer(k, v)
        for k, v in children:
            m.add_module(k, v)
        return m

    fir = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64

    def fc(n_in, n_out, scale=1.0, bias=0.0):
        return node("FullyConnectedLayer", [("weight", rnd(n_out, n_in) * scale), ("bias", bias + rnd(n_out) * 0.2)])

    def layer(c_in, c_out, res):
        return node("SynthesisLayer", [("weight", rnd(c_out, c_in, 3, 3)), ("noise_strength", rnd(()).abs() * 0.3),
                                       ("bias", rnd(c_out) * 0.1)],
                    [("resample_filter", fir.clone()), ("noise_const", rnd(res, res))],
                    [("affine", fc(NV_DIM, c_in, bias=1.0))])

    def torgb(c_in):
        return node("ToRGBLayer", [("weight", rnd(3, c_in, 1, 1)), ("bias", rnd(3) * 0.1)], [],
                    [("affine", fc(NV_DIM, c_in, bias=1.0))])

    mapping = node("MappingNetwork", [], [("w_avg", rnd(NV_DIM))],
                   [(f"fc{i}", fc(NV_DIM, NV_DIM, scale=100.0, bias=0.0)) for i in range(NV_MLP)])
    b4 = node("SynthesisBlock", [("const", rnd(NV_CHANNELS[4], 4, 4))], [("resample_filter", fir.clone())],
              [("conv1", layer(NV_CHANNELS[4], NV_CHANNELS[4], 4)), ("torgb", torgb(NV_CHANNELS[4]))])
    b8 = node("SynthesisBlock", [], [("resample_filter", fir.clone())],
              [("conv0", layer(NV_CHANNELS[4], NV_CHANNELS[8], 8)), ("conv1", layer(NV_CHANNELS[8], NV_CHANNELS[8], 8)),
               ("torgb", torgb(NV_CHANNELS[8]))])
    synthesis = node("SynthesisNetwork", children=[("b4", b4), ("b8", b8)])
    g = node("Generator", children=[("synthesis", synthesis), ("mapping", mapping)])
    g._init_kwargs = easydict(z_dim=NV_DIM, c_dim=0, w_dim=NV_DIM, img_resolution=NV_SIZE, img_channels=3,
                              mapping_kwargs=easydict(num_layers=NV_MLP),
                              synthesis_kwargs=easydict(channel_base=64, channel_max=16, num_fp16_res=0))
    g.weight_gain = torch.tensor(0).numpy().dtype.type(0.5)  # a numpy scalar attribute, as NVIDIA modules have
    return g


def nv_flat(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach() for k, v in module.state_dict().items()}


def write_nvidia_pickle(path: Path, marker: Path, protocol: int, extra=None) -> dict[str, torch.Tensor]:
    """Write a snapshot pickle like stylegan2-ada-pytorch's training loop; returns G_ema's NVIDIA state dict."""
    fakes = fake_nvidia_modules(marker)
    src = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('module_src ran')"
    with pytest.MonkeyPatch.context() as mp:
        for name, module in fakes.items():
            mp.setitem(sys.modules, name, module)
        easydict = fakes["dnnlib.util"].EasyDict
        g_ema = nvidia_generator(1, src, easydict)
        snapshot = {"training_set_kwargs": easydict(resolution=NV_SIZE, use_labels=False),
                    "G": nvidia_generator(2, src, easydict), "D": None, "G_ema": g_ema, "augment_pipe": None}
        if extra is not None:
            snapshot["extra"] = extra
        path.write_bytes(pickle.dumps(snapshot, protocol=protocol))
    return nv_flat(g_ema)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_nvidia_pickle_converts_exactly(tmp_path, protocol):
    from lganim.models.stylegan2 import Generator

    marker = tmp_path / "marker"
    nv = write_nvidia_pickle(tmp_path / "net.pkl", marker, protocol)
    sd, w_avg, config = read_nvidia_pkl(tmp_path / "net.pkl")
    assert not marker.exists() and not marker.with_suffix(".reconstructed").exists()
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    assert config == GeneratorConfig(NV_SIZE, NV_DIM, NV_MLP, channels=tuple(NV_CHANNELS.items()), lr_mlp=0.01)

    # Every mapped tensor equals its NVIDIA source, reshaped only.
    pairs = {"style.1.weight": "mapping.fc0.weight", "style.2.bias": "mapping.fc1.bias",
             "input.input": "synthesis.b4.const", "conv1.conv.weight": "synthesis.b4.conv1.weight",
             "conv1.conv.modulation.weight": "synthesis.b4.conv1.affine.weight",
             "conv1.conv.modulation.bias": "synthesis.b4.conv1.affine.bias",
             "conv1.noise.weight": "synthesis.b4.conv1.noise_strength",
             "conv1.activate.bias": "synthesis.b4.conv1.bias", "noises.noise_0": "synthesis.b4.conv1.noise_const",
             "to_rgb1.conv.weight": "synthesis.b4.torgb.weight", "to_rgb1.bias": "synthesis.b4.torgb.bias",
             "convs.0.conv.weight": "synthesis.b8.conv0.weight", "convs.1.conv.weight": "synthesis.b8.conv1.weight",
             "convs.0.conv.modulation.bias": "synthesis.b8.conv0.affine.bias",
             "noises.noise_1": "synthesis.b8.conv0.noise_const", "noises.noise_2": "synthesis.b8.conv1.noise_const",
             "convs.1.noise.weight": "synthesis.b8.conv1.noise_strength",
             "to_rgbs.0.conv.modulation.weight": "synthesis.b8.torgb.affine.weight",
             "to_rgbs.0.bias": "synthesis.b8.torgb.bias"}
    for dst, src in pairs.items():
        assert torch.equal(sd[dst].flatten(), nv[src].flatten()), dst
    assert sd["input.input"].shape == (1, 16, 4, 4) and sd["to_rgb1.bias"].shape == (1, 3, 1, 1)
    assert sd["convs.0.conv.weight"].shape == (1, 8, 16, 3, 3) and sd["noises.noise_1"].shape == (1, 1, 8, 8)
    assert torch.equal(w_avg, nv["mapping.w_avg"])

    g = Generator.from_config(config)
    g.load_state_dict(sd, strict=True)
    expected = g.state_dict()
    assert set(expected) == set(sd)
    for k, v in sd.items():
        assert v.shape == expected[k].shape, k
    # Blur/upsample kernels are rosinality's own (normalised [1,3,3,1] × 4), not NVIDIA's filter.
    torch.testing.assert_close(sd["convs.0.conv.blur.kernel"], expected["convs.0.conv.blur.kernel"])

    loaded = load_generator(tmp_path / "net.pkl")
    assert torch.equal(loaded.latent_avg, nv["mapping.w_avg"])
    assert not marker.exists()


def nvidia_reference_forward(nv: dict[str, torch.Tensor], z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(w, image) with NVIDIA's conventions (stylegan2-ada-pytorch networks.py, noise_mode='const'), written out."""
    sqrt2 = math.sqrt(2)
    fir = nv["synthesis.b8.resample_filter"] * 4  # setup_filter(...) with the up² gain

    def fc(x, prefix, lr):
        w = nv[prefix + ".weight"]
        return x @ (w * lr / math.sqrt(w.shape[1])).t() + nv[prefix + ".bias"] * lr

    def fir_filter(x, pad):
        c = x.shape[1]
        x = F.pad(x, pad)
        return F.conv2d(x, fir.expand(c, 1, 4, 4), groups=c)

    def modconv(x, weight, styles, demodulate, up):
        w = weight[None] * styles[:, None, :, None, None]  # [B, O, I, k, k]
        if demodulate:
            w = w * (w.square().sum([2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        out = []
        for b in range(x.shape[0]):
            if up:  # transposed conv on the unflipped weight, then the FIR with padding 1 each side
                y = F.conv_transpose2d(x[b:b + 1], w[b].transpose(0, 1), stride=2)
                out.append(fir_filter(y, [1, 1, 1, 1]))
            else:
                out.append(F.conv2d(x[b:b + 1], w[b], padding=w.shape[-1] // 2))
        return torch.cat(out)

    def layer(x, w, prefix, up=False):
        x = modconv(x, nv[prefix + ".weight"], fc(w, prefix + ".affine", 1.0), True, up)
        x = x + nv[prefix + ".noise_const"] * nv[prefix + ".noise_strength"]
        return F.leaky_relu(x + nv[prefix + ".bias"].reshape(1, -1, 1, 1), 0.2) * sqrt2

    def torgb(x, w, prefix):
        styles = fc(w, prefix + ".affine", 1.0) / math.sqrt(x.shape[1])
        return modconv(x, nv[prefix + ".weight"], styles, False, False) + nv[prefix + ".bias"].reshape(1, -1, 1, 1)

    x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
    for i in range(NV_MLP):
        x = F.leaky_relu(fc(x, f"mapping.fc{i}", 0.01), 0.2) * sqrt2
    w = x
    h = nv["synthesis.b4.const"][None].repeat(z.shape[0], 1, 1, 1)
    h = layer(h, w, "synthesis.b4.conv1")
    img = torgb(h, w, "synthesis.b4.torgb")
    h = layer(h, w, "synthesis.b8.conv0", up=True)
    h = layer(h, w, "synthesis.b8.conv1")
    up = torch.zeros(img.shape[0], 3, 8, 8)
    up[:, :, ::2, ::2] = img  # upsample2d: zero insertion, pad (2, 1), FIR
    img = fir_filter(up, [2, 1, 2, 1]) + torgb(h, w, "synthesis.b8.torgb")
    return w, img


def test_nvidia_conversion_matches_nvidia_math(tmp_path):
    from lganim.models.stylegan2 import Generator

    nv = write_nvidia_pickle(tmp_path / "net.pkl", tmp_path / "marker", 4)
    sd, _, config = read_nvidia_pkl(tmp_path / "net.pkl")
    g = Generator.from_config(config).eval()
    g.load_state_dict(sd, strict=True)
    z = torch.randn(3, NV_DIM, generator=torch.Generator().manual_seed(3))
    w_ref, img_ref = nvidia_reference_forward(nv, z)
    with torch.no_grad():
        w = g.mapping(z)
        img = g.synthesis(w[:, None].repeat(1, g.num_ws, 1))
    torch.testing.assert_close(w, w_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(img, img_ref, atol=1e-5, rtol=1e-5)


class RunsCommand:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("func", ["os.system", "builtins.exec", "builtins.eval", "builtins.getattr"])
def test_nvidia_pickle_refuses_code(tmp_path, func):
    marker = tmp_path / "pwned"
    command = {"os.system": (os.system, f"touch {marker}"),
               "builtins.exec": (exec, f"import pathlib; pathlib.Path({str(marker)!r}).touch()"),
               "builtins.eval": (eval, f"__import__('pathlib').Path({str(marker)!r}).touch()"),
               "builtins.getattr": (getattr, "text", "upper")}[func]
    payload = RunsCommand(*command)
    path = tmp_path / "evil.pkl"
    write_nvidia_pickle(path, tmp_path / "marker", 4, extra=payload)
    if func in ("os.system", "builtins.exec"):
        pickle.loads(pickle.dumps(RunsCommand(*command)))  # the payload really runs when loaded plainly
        assert marker.exists()
        marker.unlink()

    with pytest.raises(LganimError, match="may be unsafe"):
        read_nvidia_pkl(path)
    assert not marker.exists()
    with pytest.raises(LganimError, match="may be unsafe"):
        load_generator(path)
    assert not marker.exists()


def test_nvidia_module_src_is_never_executed(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "net.pkl"
    write_nvidia_pickle(path, marker, 4)

    # Loaded plainly (with NVIDIA's modules importable), the embedded source runs.
    with pytest.MonkeyPatch.context() as mp:
        for name, module in fake_nvidia_modules(marker).items():
            mp.setitem(sys.modules, name, module)
        pickle.loads(path.read_bytes())
        assert marker.read_text() == "module_src ran"
        marker.unlink()
        marker.with_suffix(".reconstructed").unlink()

        # Our reader ignores whatever `torch_utils` is importable and never runs module_src.
        sd, _, _ = read_nvidia_pkl(path)
    assert "input.input" in sd
    assert not marker.exists() and not marker.with_suffix(".reconstructed").exists()


def test_nvidia_storage_bytes_load_weights_only(tmp_path):
    # A storage blob that is itself a full (unsafe) torch pickle must not run either.
    marker = tmp_path / "pwned"
    blob = tmp_path / "blob.pt"
    torch.save(RunsCommand(os.system, f"touch {marker}"), blob, _use_new_zipfile_serialization=False)

    class StorageBlob:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (blob.read_bytes(),)

    path = tmp_path / "evil.pkl"
    write_nvidia_pickle(path, tmp_path / "marker", 4, extra=StorageBlob())
    with pytest.raises(LganimError):
        read_nvidia_pkl(path)
    assert not marker.exists()


def test_nvidia_pickle_structure_errors(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"G": None, "D": None}))
    with pytest.raises(LganimError, match="no 'G_ema'"):
        read_nvidia_pkl(path)
    path.write_bytes(b"\x80\x04garbage")
    with pytest.raises(LganimError, match="not a readable NVIDIA network pickle"):
        read_nvidia_pkl(path)
    with pytest.raises(LganimError, match="unknown weight format"):
        (tmp_path / "w.bin").write_bytes(b"")
        load_generator(tmp_path / "w.bin")


@pytest.mark.parametrize("size", [1024, 256])
def test_full_size_nvidia_layout_converts_to_the_rosinality_manifest(size):
    # NVIDIA config-f layout from its own rule (channels = min(32768 / res, 512)), shapes only (meta tensors).
    def t(*shape):
        return torch.empty(shape, device="meta")

    nv = {"mapping.w_avg": t(512)}
    for i in range(8):
        nv[f"mapping.fc{i}.weight"], nv[f"mapping.fc{i}.bias"] = t(512, 512), t(512)
    res, c_prev = 4, None
    while res <= size:
        c = min(32768 // res, 512)
        names = ["conv1"] if res == 4 else ["conv0", "conv1"]
        if res == 4:
            nv["synthesis.b4.const"] = t(c, 4, 4)
        for name in names:
            c_in = c_prev if name == "conv0" else c
            p = f"synthesis.b{res}.{name}"
            nv.update({f"{p}.weight": t(c, c_in, 3, 3), f"{p}.affine.weight": t(c_in, 512), f"{p}.affine.bias": t(c_in),
                       f"{p}.noise_strength": t(), f"{p}.bias": t(c), f"{p}.noise_const": t(res, res)})
        p = f"synthesis.b{res}.torgb"
        nv.update({f"{p}.weight": t(3, c, 1, 1), f"{p}.bias": t(3), f"{p}.affine.weight": t(c, 512),
                   f"{p}.affine.bias": t(c)})
        res, c_prev = res * 2, c

    sd, w_avg = convert_nvidia_state(nv)
    manifest = json.loads((FIXTURES / f"rosinality_g{size}_keys.json").read_text())["shapes"]
    assert {k: list(v.shape) for k, v in sd.items()} == manifest
    assert w_avg.shape == (512,)
    assert infer_generator_config(sd) == GeneratorConfig(size)


