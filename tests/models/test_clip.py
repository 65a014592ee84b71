"""CLIP: tiny random models through the real loading path, and OpenAI's weights as the Hub keeps them."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants as hub_constants
from safetensors.torch import save_file

from lganim.errors import LganimError
from lganim.models.clip import (
    CLIP_MEAN,
    CLIP_STD,
    ClipEncoder,
    build_tiny_clip,
    import_clip,
    random_clip,
)
from lganim.weights.encoders import clip_file, load_clip
from lganim.weights.registry import CLIP_FILES
from tests import ROOT

EOT = 49407  # CLIP's <|endoftext|> token id
PROMPTS = ["The person is smiling.", "The person looks surprised.", "A face."]


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    files = {}
    for kind in ("RN", "ViT"):
        files[kind] = folder / f"tiny_{kind}.pt"
        torch.save(build_tiny_clip(kind, embed_dim=48, seed=0), files[kind])
    return files


@pytest.fixture(scope="module")
def encoders(tiny_files):
    return {kind: load_clip(path) for kind, path in tiny_files.items()}


@pytest.mark.slow
def test_import_is_lazy_and_the_torchvision_shim_is_idempotent():
    code = ("import sys; import lganim.encoders as e; "
            "assert 'clip' not in sys.modules and 'torchvision' not in sys.modules; "
            "a = e.import_clip(); b = e.import_clip(); assert a is b; "
            "import torchvision, clip; assert clip is a and hasattr(clip, 'tokenize')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("kind, resolution", [("RN", 64), ("ViT", 32)])
def test_tiny_model_loads_with_inferred_architecture(tiny_files, encoders, kind, resolution):
    enc = encoders[kind]
    assert isinstance(enc, ClipEncoder)
    assert enc.embed_dim == 48 and enc.input_resolution == resolution and enc.context_length == 77
    assert enc.dtype == torch.float32 and not enc.training
    assert all(not p.requires_grad for p in enc.parameters())
    saved = torch.load(tiny_files[kind], map_location="cpu", weights_only=True)
    loaded = enc.model.state_dict()
    assert set(saved) == set(loaded)
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


@pytest.mark.parametrize("kind", ["RN", "ViT"])
def test_embeddings_shapes_and_unit_norm(encoders, kind):
    enc = encoders[kind]
    with torch.inference_mode():
        text = enc.encode_text(PROMPTS)
        image = enc.encode_image(torch.rand(2, 3, 80, 96) * 2 - 1)
        single = enc.encode_text(PROMPTS[0])
    assert text.shape == (3, 48) and image.shape == (2, 48) and single.shape == (1, 48)
    assert text.dtype == image.dtype == torch.float32
    torch.testing.assert_close(text.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(image.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(single[0], text[0])
    assert not torch.allclose(text[0], text[1])  # different prompts, different embeddings


def test_same_seed_same_weights_and_embeddings(tmp_path, encoders):
    a, b, c = build_tiny_clip("ViT", 48, seed=0), build_tiny_clip("ViT", 48, seed=0), build_tiny_clip("ViT", 48, seed=1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["visual.conv1.weight"], c["visual.conv1.weight"])
    torch.save(b, tmp_path / "again.pt")
    again = load_clip(tmp_path / "again.pt")
    images = torch.linspace(-1, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(again.encode_text(PROMPTS), encoders["ViT"].encode_text(PROMPTS), rtol=0, atol=0)
        torch.testing.assert_close(again.encode_image(images), encoders["ViT"].encode_image(images), rtol=0, atol=0)


def test_building_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    build_tiny_clip("ViT", seed=3)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("kind", ["RN", "ViT"])
def test_gradient_reaches_the_images(encoders, kind):
    enc = encoders[kind]
    images = (torch.rand(2, 3, 72, 72) * 1.6 - 0.8).requires_grad_(True)
    target = enc.encode_text(PROMPTS[:1]).detach()
    loss = 1 - (enc.encode_image(images) * target).sum(-1).mean()
    loss.backward()
    assert images.grad is not None and torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())


def test_preprocess_normalisation_and_resize(encoders):
    enc = encoders["ViT"]
    grey = torch.full((1, 3, 50, 70), 0.2)  # non-square: centre crop 50x50, resize to 32x32
    x = enc.preprocess(grey)
    assert x.shape == (1, 3, 32, 32)
    expected = (0.6 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
    torch.testing.assert_close(x[0, :, 16, 16], expected)
    for bad in (torch.zeros(3, 32, 32), torch.zeros(1, 4, 32, 32), torch.zeros(1, 3, 8, 8, dtype=torch.uint8)):
        with pytest.raises(LganimError, match="CLIP images"):
            enc.preprocess(bad)


def test_long_prompt_warns_and_truncates(encoders):
    enc = encoders["ViT"]
    long_prompt = " ".join(["smiling"] * 120)
    with pytest.warns(UserWarning, match="truncated"):
        tokens = enc.tokenize([PROMPTS[0], long_prompt])
    assert tokens.shape == (2, 77) and tokens.dtype == torch.long
    assert tokens[1, -1] == EOT and (tokens[1] != 0).all()
    assert (tokens[0] == EOT).nonzero().numel() == 1 and tokens[0, -1] == 0
    with pytest.warns(UserWarning, match="truncated"):
        assert enc.encode_text(long_prompt).shape == (1, 48)


@pytest.mark.parametrize("prompts", ["", "   \n", [PROMPTS[0], " "]])
def test_empty_prompt(encoders, prompts):
    with pytest.raises(LganimError, match="The prompt is empty"):
        encoders["ViT"].encode_text(prompts)


@pytest.mark.parametrize("prompts", [[], None, [3]])
def test_bad_prompt_types(encoders, prompts):
    with pytest.raises(LganimError, match="prompt"):
        encoders["ViT"].tokenize(prompts)


def test_train_keeps_eval_mode(encoders):
    enc = encoders["RN"]
    enc.train()
    assert not enc.training and not enc.model.visual.bn1.training


@pytest.mark.parametrize("kind", ["RN", "ViT"])
def test_dtype_cast(tiny_files, kind):
    enc = load_clip(tiny_files[kind], dtype=torch.bfloat16)
    assert enc.dtype == torch.bfloat16
    assert enc.model.visual.conv1.weight.dtype == enc.model.transformer.resblocks[0].attn.in_proj_weight.dtype \
        == enc.model.text_projection.dtype == torch.bfloat16
    assert enc.model.ln_final.weight.dtype == torch.float32  # CLIP's LayerNorm computes in float32
    with torch.inference_mode():
        image = enc.encode_image(torch.zeros(1, 3, 32, 32))
        text = enc.encode_text(PROMPTS[0])
    assert image.dtype == text.dtype == torch.float32
    assert torch.isfinite(image).all() and torch.isfinite(text).all()
    with pytest.raises(LganimError, match="dtype"):
        load_clip(tiny_files[kind], dtype=torch.int8)


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
    assert str(weights_dir / "clip-vit-b-32-openai.safetensors") in message
    with pytest.raises(LganimError, match="Unknown CLIP model"):
        clip_file("RN9000")


def test_import_clip_returns_the_clip_module():
    clip = import_clip()
    assert callable(clip.tokenize) and callable(clip.model.build_model)


def test_a_model_placed_by_hand_in_the_weights_folder_is_used(weights_dir, tiny_files):
    # a (tiny) state dict under the registry's local name stands in for ViT-B/32: no download is attempted
    save_file(torch.load(tiny_files["ViT"], weights_only=True), weights_dir / "clip-vit-b-32-openai.safetensors")
    enc = load_clip("ViT-B/32")
    assert enc.input_resolution == load_clip(tiny_files["ViT"]).input_resolution


def test_no_code_path_reaches_openais_download_urls():
    """clip-anytorch's own `clip.load` would download from OpenAI's CDN (404 since late 2025): lganim never calls it."""
    sources = "\n".join(p.read_text() for p in (ROOT / "lganim").rglob("*.py"))
    assert "clip.load(" not in sources and "_MODELS" not in sources and "openaipublic" not in sources
    assert "clip._download" not in sources and "clip.clip" not in sources


@pytest.mark.slow
@pytest.mark.parametrize("name, params, embed", [("RN50", 102_007_137, 1024), ("ViT-B/32", 151_277_313, 512)])
def test_random_clip_has_the_released_architecture(name, params, embed):
    """Parameter counts of OpenAI's released models; build_model infers the same shapes from the state dict."""
    clip = random_clip(name)
    state = clip.model.state_dict()
    assert sum(p.numel() for p in clip.model.parameters()) == params
    assert clip.embed_dim == embed and clip.input_resolution == 224
    rebuilt = import_clip().model.build_model(dict(state)).state_dict()
    assert {k: v.shape for k, v in rebuilt.items()} == {k: v.shape for k, v in state.items()}
    with pytest.raises(LganimError, match="No architecture"):
        random_clip("RN101")


# ---- OpenAI's weights as open_clip keeps them on the Hub -----------------------------------------------------------

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


@pytest.mark.slow
@pytest.mark.parametrize("name, open_clip_name", [("RN50", "RN50-quickgelu"), ("ViT-B/32", "ViT-B-32-quickgelu")])
def test_open_clip_hub_files_give_open_clips_embeddings(hub_cache, name, open_clip_name):
    import_clip()                                   # torchvision importable on a CPU torch before open_clip imports it
    open_clip = pytest.importorskip("open_clip", reason="open_clip_torch is a test dependency")
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
def test_the_pickle_serves_when_the_safetensors_file_is_absent(hub_cache, tiny_files):
    state = torch.load(tiny_files["RN"], weights_only=True)
    path = serve_from_hub_cache(CLIP_FILES["RN50"][1], state, as_pickle=True)
    assert clip_file("RN50") == path
    enc = load_clip("RN50")
    reference = load_clip(tiny_files["RN"])
    torch.testing.assert_close(enc.encode_text(["hello"]), reference.encode_text(["hello"]))
