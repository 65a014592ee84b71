"""The encoders' files: CLIP from a file, from a copy placed by hand or from the Hub as open_clip keeps OpenAI's
weights (compared with open_clip itself), refusals of what is not CLIP."""
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants as hub_constants
from safetensors.torch import save_file

from lganim.errors import LganimError
from lganim.models.clip import (
    import_clip,
)
from lganim.weights.encoders import clip_file, load_clip
from lganim.weights.registry import CLIP_FILES
from tests import ROOT


def test_missing_file(tmp_path):
    with pytest.raises(LganimError, match="No CLIP model file at .*nope.pt.*ViT-B/32"):
        load_clip(tmp_path / "nope.pt")


def test_not_a_clip_checkpoint(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(LganimError, match="not a readable PyTorch checkpoint"):
        load_clip(tmp_path / "junk.pt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(LganimError, match="not a complete CLIP model"):
        load_clip(tmp_path / "other.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"nope")
    with pytest.raises(LganimError, match="not a readable safetensors file of CLIP weights"):
        load_clip(tmp_path / "junk.safetensors")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_archives_are_refused_without_running_them(tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    scripted.save(str(tmp_path / "RN50.pt"))                          # OpenAI's downloads were TorchScript archives
    with pytest.raises(LganimError, match="TorchScript archive.*timm/resnet50_clip.openai"):
        load_clip(tmp_path / "RN50.pt")


def test_offline_without_the_file_explains_manual_placement(weights_dir):
    with pytest.raises(LganimError) as info:
        load_clip("ViT-B/32")
    message = str(info.value)
    assert "\n" not in message and "timm/vit_base_patch32_clip_224.openai" in message
    assert "clip-vit-b-32-openai.safetensors in the folder the LGANIM_WEIGHTS setting names" in message
    assert str(weights_dir) not in message and info.value.where == str(weights_dir / "clip-vit-b-32-openai.safetensors")
    with pytest.raises(LganimError, match="Unknown CLIP model"):
        clip_file("RN9000")


def test_a_model_placed_by_hand_in_the_weights_folder_is_used(weights_dir, tiny_clip_files):
    # a (tiny) state dict under the registry's local name stands in for ViT-B/32: no download is attempted
    save_file(torch.load(tiny_clip_files["ViT"], weights_only=True), weights_dir / "clip-vit-b-32-openai.safetensors")
    enc = load_clip("ViT-B/32")
    assert enc.input_resolution == load_clip(tiny_clip_files["ViT"]).input_resolution


def test_no_code_path_reaches_openais_download_urls():
    """clip-anytorch's own `clip.load` would download from OpenAI's CDN (404 since late 2025): lganim never calls it."""
    sources = "\n".join(p.read_text() for p in (ROOT / "lganim").rglob("*.py"))
    assert "clip.load(" not in sources and "_MODELS" not in sources and "openaipublic" not in sources
    assert "clip._download" not in sources and "clip.clip" not in sources


def serve_from_hub_cache(weight, tensors, as_pickle=False):
    """Put `tensors` into the Hub cache as `weight` (repo, revision, filename), as a download would leave them."""
    folder = Path(hub_constants.HF_HUB_CACHE) / f"models--{weight.repo_id.replace('/', '--')}" / "snapshots"
    path = folder / weight.revision / weight.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if as_pickle:
        torch.save(tensors, path)
    else:
        save_file({k: v.contiguous() for k, v in tensors.items()}, path)
    return path


@pytest.fixture
def hub_cache():
    """The session's Hub cache, emptied after the test."""
    yield Path(hub_constants.HF_HUB_CACHE)
    shutil.rmtree(hub_constants.HF_HUB_CACHE, ignore_errors=True)


@pytest.fixture(scope="module")
def open_clip():
    """open_clip_torch, the reference implementation (a test dependency). It imports torchvision, which does not
    import beside this CPU torch: the two operators whose fake kernels torchvision registers at import are declared
    first, in this test process only (lganim itself never registers them)."""
    try:
        import torchvision  # noqa: F401  (only to learn whether it imports)
    except RuntimeError:
        for name in ("nms", "qnms"):
            if not hasattr(torch.ops.torchvision, name):
                torch.library.define(f"torchvision::{name}",
                                     "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return pytest.importorskip("open_clip", reason="open_clip_torch is a test dependency")


@pytest.mark.slow
@pytest.mark.parametrize("name, open_clip_name", [("RN50", "RN50-quickgelu"), ("ViT-B/32", "ViT-B-32-quickgelu")])
def test_open_clip_hub_files_give_open_clips_embeddings(hub_cache, open_clip, name, open_clip_name):
    torch.manual_seed(0)
    reference = open_clip.create_model(open_clip_name, pretrained=None).eval()
    # OpenAI's released values are fp16 (and clip-anytorch's builder casts to fp16): round the random weights so
    # both sides hold the same numbers
    state = {k: v.half().float() if v.is_floating_point() else v for k, v in reference.state_dict().items()}
    reference.load_state_dict(state)
    serve_from_hub_cache(CLIP_FILES[name][0], state)
    encoder = load_clip(name)                       # offline: from the Hub cache at the pinned revision
    assert isinstance(encoder.model, import_clip().model.CLIP)
    prompts = ["The person is smiling.", "a photo of a dog"]
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.inference_mode():
        text = torch.nn.functional.normalize(reference.encode_text(open_clip.tokenize(prompts)).float(), dim=-1)
        image = torch.nn.functional.normalize(reference.encode_image(encoder.preprocess(images)).float(), dim=-1)
        torch.testing.assert_close(encoder.encode_text(prompts), text, atol=1e-4, rtol=0)
        torch.testing.assert_close(encoder.encode_image(images), image, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_the_pickle_serves_when_the_safetensors_file_is_absent(hub_cache, tiny_clip_files):
    state = torch.load(tiny_clip_files["RN"], weights_only=True)
    path = serve_from_hub_cache(CLIP_FILES["RN50"][1], state, as_pickle=True)
    assert clip_file("RN50") == path
    enc = load_clip("RN50")
    reference = load_clip(tiny_clip_files["RN"])
    torch.testing.assert_close(enc.encode_text(["hello"]), reference.encode_text(["hello"]))
