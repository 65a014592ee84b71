"""The CLIP wrapper: tiny random CLIP models (the real builder and preprocessing), the real architectures, and
clip imported without disturbing torchvision."""
import subprocess
import sys

import pytest
import torch

from lganim.errors import LganimError
from lganim.models.clip import (
    CLIP_MEAN,
    CLIP_STD,
    ClipEncoder,
    build_tiny_clip,
    import_clip,
    random_clip,
)
from lganim.weights.encoders import load_clip

EOT = 49407  # CLIP's <|endoftext|> token id
PROMPTS = ["The person is smiling.", "The person looks surprised.", "A face."]


@pytest.fixture(scope="module")
def encoders(tiny_clip_files):
    return {kind: load_clip(path) for kind, path in tiny_clip_files.items()}


@pytest.mark.slow
def test_clip_imports_without_touching_torchvision_for_anyone_else():
    """Where torchvision does not import (a CPU torch beside a CUDA torchvision), clip still does, beside a stand-in
    only its own import sees: no torchvision operator is registered, and a later `import torchvision` behaves as it
    did before (fails the same way here; works where torchvision works)."""
    probe = ("def outcome():\n"
             "    try:\n        import torchvision\n        return 'imports'\n"
             "    except Exception as e:\n        return f'{type(e).__name__}: {e}'\n")
    before = subprocess.run([sys.executable, "-c", probe + "print(outcome())"], capture_output=True, text=True)
    code = (probe + "import sys, torch\nfrom lganim.models import clip as c\n"
            "assert 'clip' not in sys.modules and 'torchvision' not in sys.modules\n"
            "a = c.import_clip(); b = c.import_clip(); assert a is b and hasattr(a, 'tokenize')\n"
            "assert a.model.build_model is not None\n"
            "working = 'torchvision' in sys.modules\n"
            "assert working or not hasattr(torch.ops.torchvision, 'nms')\n"
            "print(outcome())\n")
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert after.returncode == 0, after.stderr[-2000:]
    assert after.stdout.strip().splitlines()[-1] == before.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("kind, resolution", [("RN", 64), ("ViT", 32)])
def test_tiny_model_loads_with_inferred_architecture(tiny_clip_files, encoders, kind, resolution):
    enc = encoders[kind]
    assert isinstance(enc, ClipEncoder)
    assert enc.embed_dim == 48 and enc.input_resolution == resolution and enc.context_length == 77
    assert enc.dtype == torch.float32 and not enc.training
    assert all(not p.requires_grad for p in enc.parameters())
    saved = torch.load(tiny_clip_files[kind], map_location="cpu", weights_only=True)
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


@pytest.mark.parametrize("kind", ["RN", "ViT"])
def test_text_embeddings_skip_the_positions_after_end_of_text(encoders, kind):
    """The text transformer is causal and read at end-of-text: the embedding equals the full 77-position one."""
    enc = encoders[kind]
    tokens = enc.tokenize(PROMPTS)
    assert int(tokens.argmax(dim=-1).max()) + 1 < 77
    with torch.inference_mode():
        full = torch.nn.functional.normalize(enc.model.encode_text(tokens).float(), dim=-1)   # [3, 48]
        torch.testing.assert_close(enc.encode_text(PROMPTS), full, rtol=0, atol=1e-6)


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
def test_dtype_cast(tiny_clip_files, kind):
    enc = load_clip(tiny_clip_files[kind], dtype=torch.bfloat16)
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
        load_clip(tiny_clip_files[kind], dtype=torch.int8)


def test_import_clip_returns_the_clip_module():
    clip = import_clip()
    assert callable(clip.tokenize) and callable(clip.model.build_model)


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

