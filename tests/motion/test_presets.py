"""Presets: a bundle of prompts fitted ahead and control directions — made by prefit (resumed), loaded from a folder,
LGANIM_PRESETS or a stand-in Hub, refused in one line when made for something else or damaged; a preset prompt fits
nothing and calibrates nothing."""
import json
import shutil

import httpx2
import pytest
import torch

import lganim.motion.fitted
from lganim.config import FitSettings
from lganim.errors import LganimError
from lganim.models.renderer import make_renderer
from lganim.motion.fitted import fitted_dir
from lganim.motion.presets import ENV, bundle_for, configured_bundles, load_presets, open_bundle, what_is_fitted
from lganim.pipeline import Animator
from lganim.tools.prefit import prefit
from lganim.weights.domain_files import domain_files, resolve
from lganim.weights.hub import sha256_of
from lganim.weights.registry import get_domain
from lganim.weights.stylegan_files import load_generator

SMILE, FROWN = "The person is smiling.", "The person is frowning."
QUICK = FitSettings(steps=2, batch=1)            # the fit of these tests' bundles: seconds, not minutes


@pytest.fixture(scope="module")
def demo():
    """The demo domain's spec, files and loaded StyleGAN2."""
    spec = get_domain("demo")
    files = domain_files(spec)
    return spec, files, load_generator(resolve(files.stylegan), spec.stylegan, device=torch.device("cpu"))


@pytest.fixture(scope="module")
def bundle(demo, tmp_path_factory):
    """A bundle of SMILE made by prefit (QUICK settings) in a cache of its own."""
    spec, files, g = demo
    out = tmp_path_factory.mktemp("presets") / "smile"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LGANIM_CACHE", str(tmp_path_factory.mktemp("prefit-cache")))
        prefit(spec, files, g, make_renderer("fast", g), out, [SMILE], QUICK, say=lambda line: None)
    return out


@pytest.fixture
def fits(monkeypatch, tmp_path):
    """An empty cache; the list of the prompts fitted from now on."""
    monkeypatch.setenv("LGANIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV, raising=False)
    fitted = []
    run = lganim.motion.fitted.PromptFitter._fit
    monkeypatch.setattr(lganim.motion.fitted.PromptFitter, "_fit",
                        lambda self, prompt, progress: fitted.append(prompt) or run(self, prompt, progress))
    return fitted


def edited(bundle, tmp_path, **changes):
    """A copy of `bundle` whose index has `changes` (a dict value replaces the whole entry)."""
    copy = tmp_path / "edited"
    shutil.copytree(bundle, copy)
    index = json.loads((copy / "index.json").read_text())
    index.update(changes)
    (copy / "index.json").write_text(json.dumps(index))
    return copy


def test_prefit_writes_the_bundle(bundle, demo):
    spec, files, g = demo
    index = json.loads((bundle / "index.json").read_text())
    assert index["format"] == "lganim-presets" and index["domain"] == "demo"
    assert index["generator"] == {"file": "generator.pt", "sha256": sha256_of(files.stylegan)}
    settings = index["settings"]
    assert settings["steps"] == 2 and settings["batch"] == 1 and "max_seconds" not in settings
    entry = index["prompts"][SMILE]
    assert entry["steps"] == 2 and entry["loss_last"] != entry["loss_first"]          # judged before and after
    assert set(index["directions"]["method"].values()) == {"sefa-fallback"}           # the untrained demo's
    for name in ("prompts.safetensors", "directions.safetensors", "README.md", f"strips/{entry['tensor']}.png"):
        assert (bundle / name).is_file(), name
    card = (bundle / "README.md").read_text()
    assert "license: mit" in card and SMILE in card and f"strips/{entry['tensor']}.png" in card
    assert files.stylegan.name in card and index["generator"]["sha256"] in card


def test_a_preset_prompt_fits_nothing_and_calibrates_nothing(bundle, fits, tmp_path):
    anim = Animator.from_pretrained("demo", motion="fit", fit_settings=QUICK, presets=bundle, device="cpu")
    result = anim(SMILE, seed=3, num_frames=4)
    assert fits == [] and not fitted_dir("demo").exists()                      # a fresh cache stays without fits
    a = open_bundle(bundle)
    tensors = load_presets(a, anim.domain, anim.files, anim.stylegan, QUICK).prompts[SMILE].direction
    assert torch.allclose(result.plan.motion.offsets[0, -1].float().cpu(), tensors)   # p(T-1) = 1: the direction
    assert anim.calibration_seconds() == 0.0 and anim.directions.meta["presets"] == str(bundle)
    anim.edit(seed=3, controls={"yaw": 5.0}, prompts={SMILE: 0.5})              # the editor shares them too
    assert fits == []
    anim(FROWN, seed=3, num_frames=4)                                           # a new prompt is fitted as ever
    assert fits == [FROWN] and list(fitted_dir("demo").glob("*.safetensors"))


def test_lganim_presets_names_bundles_each_for_its_own_domain(bundle, fits, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, f" {bundle} ")
    assert [b.domain for b in configured_bundles()] == ["demo"]
    assert bundle_for(get_domain("human"), None) is None                       # another domain's: not this one's
    anim = Animator.from_pretrained("demo", motion="fit", fit_settings=QUICK, device="cpu")
    anim(SMILE, seed=1, num_frames=3)
    assert fits == []
    monkeypatch.setenv(ENV, f"{bundle},{edited(bundle, tmp_path)}")
    with pytest.raises(LganimError, match="two bundles of the demo domain"):
        configured_bundles()
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere"))
    with pytest.raises(LganimError, match="neither a presets folder nor a Hub repo"):
        Animator.from_pretrained("demo", device="cpu")


@pytest.mark.parametrize("changes, message", [
    ({"generator": {"file": "generator.pt", "sha256": "0" * 64}}, "another demo generator file .sha256 000000000000"),
    ({"domain": "human"}, "for the human domain, not demo"),
    ({"fit_version": 2}, "fit version 2; this lganim fits with version 3"),
    ({"bundle_version": 9}, "bundle version 9"),
    ({"format": "something"}, "not a presets index"),
    ({"prompts": []}, "'prompts' is missing or wrong"),
    ({"prompts": {SMILE: {"tensor": "p999", "loss_first": 1, "loss_last": 1, "steps": 2, "seconds": 1}}},
     "names no direction"),
])
def test_a_bundle_made_for_something_else_is_refused_in_one_line(bundle, demo, tmp_path, changes, message):
    spec, files, g = demo
    with pytest.raises(LganimError, match=message) as err:
        load_presets(open_bundle(edited(bundle, tmp_path, **changes)), spec, files, g, QUICK)
    assert "\n" not in str(err.value)


def test_other_fit_settings_are_refused_naming_the_setting(bundle, demo):
    spec, files, g = demo
    with pytest.raises(LganimError, match=r"fitted with steps='2 passes over the faces', this Animator fits with "
                                          r"steps='200 passes over the faces'"):
        load_presets(open_bundle(bundle), spec, files, g, FitSettings(batch=1))
    with pytest.raises(LganimError, match=r"fitted with decay='hold-cosine', this Animator fits with decay='constant'"):
        load_presets(open_bundle(bundle), spec, files, g, FitSettings.reference(steps=2, batch=1))
    load_presets(open_bundle(bundle), spec, files, g, FitSettings(steps=2, batch=1, dtype="fp32"))  # dtype aside


def test_how_a_step_computes_is_not_what_is_fitted():
    """A GPU's bundle (all four faces a step, bf16) serves a CPU that fits fewer a step in fp32: the same passes."""
    gpu = FitSettings(batch=4, faces_per_step=4, steps=200, dtype="bf16").key_dict()
    cpu = FitSettings(batch=4, faces_per_step=1, steps=800, dtype="fp32").key_dict()
    assert what_is_fitted(gpu) == what_is_fitted(cpu)
    assert what_is_fitted(gpu)["steps"] == "200 passes over the faces" and "faces_per_step" not in what_is_fitted(gpu)
    assert what_is_fitted(FitSettings(batch=4, faces_per_step=1, steps=200).key_dict()) != what_is_fitted(gpu)


def test_a_damaged_bundle_is_refused_and_nothing_is_loaded(bundle, demo, tmp_path):
    spec, files, g = demo

    def refused(folder, message):
        with pytest.raises(LganimError, match=message) as err:
            load_presets(open_bundle(folder), spec, files, g, QUICK)
        assert "\n" not in str(err.value)

    copy = edited(bundle, tmp_path)
    (copy / "prompts.safetensors").write_bytes((copy / "prompts.safetensors").read_bytes()[:100])
    refused(copy, "prompts.safetensors cannot be read")
    (copy / "prompts.safetensors").unlink()
    refused(copy, "prompts.safetensors is missing")
    shutil.rmtree(copy)
    copy = edited(bundle, tmp_path)
    from safetensors.torch import save_file
    save_file({"p000": torch.zeros(3, 3)}, str(copy / "prompts.safetensors"))
    refused(copy, r"p000 of shape \[3, 3\], the generator's W\+ is \[12, 64\]")
    save_file({"p000": torch.full((g.num_ws, g.style_dim), float("nan"))}, str(copy / "prompts.safetensors"))
    refused(copy, "not finite")
    shutil.copy(bundle / "prompts.safetensors", copy)
    save_file({"yaw": torch.zeros(g.num_ws, g.style_dim)}, str(copy / "directions.safetensors"))
    refused(copy, "not one per channel")
    (copy / "index.json").write_text("{not json")
    refused(copy, "index.json of the presets in .* cannot be read")
    (copy / "index.json").unlink()
    refused(copy, "has no index.json")


def test_prefit_resumes_and_refuses_a_folder_made_otherwise(bundle, demo, fits, tmp_path):
    spec, files, g = demo
    out = tmp_path / "resumed"
    shutil.copytree(bundle, out)
    said = []
    index = prefit(spec, files, g, make_renderer("fast", g), out, [SMILE, FROWN], QUICK, say=said.append)
    assert fits == [FROWN] and list(index["prompts"]) == [SMILE, FROWN]        # the smile was kept, not refitted
    assert said[0].startswith(f"resuming {out}: 1 prompts")
    before = load_presets(open_bundle(bundle), spec, files, g, QUICK).prompts[SMILE].direction
    after = load_presets(open_bundle(out), spec, files, g, QUICK).prompts
    assert torch.equal(after[SMILE].direction, before) and set(after) == {SMILE, FROWN}
    assert (out / f"strips/{index['prompts'][FROWN]['tensor']}.png").is_file()
    with pytest.raises(LganimError, match="made otherwise .its settings"):
        prefit(spec, files, g, make_renderer("fast", g), out, [SMILE], FitSettings(steps=3, batch=1))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(LganimError, match="not a presets bundle: give a new or empty folder"):
        prefit(spec, files, g, make_renderer("fast", g), tmp_path / "other", [SMILE], QUICK)
    assert fits == [FROWN]


def hub_serving(fake_hub, folder, revision):
    """The stand-in Hub answers every file of `folder` in a repo at `revision` (HEAD and GET), 404 otherwise."""
    def answer(request):
        name = request.url.path.split(f"/resolve/{revision}/", 1)[-1]
        path = folder / name
        if not path.is_file():
            return httpx2.Response(404, headers={"x-error-code": "EntryNotFound"})
        content = path.read_bytes()
        headers = {"x-repo-commit": revision, "etag": f'"{sha256_of(path)}"', "content-length": str(len(content))}
        return httpx2.Response(200, headers=headers, content=content if request.method == "GET" else b"")
    fake_hub.answer = answer


def downloaded(fake_hub) -> list[str]:
    """The files the stand-in Hub sent, in order."""
    return [r.url.path.rsplit("/", 1)[-1] for r in fake_hub.requests if r.method == "GET" and "/resolve/" in r.url.path]


def test_a_bundle_on_the_hub_loads_through_hf_hub_download(bundle, demo, fake_hub):
    spec, files, g = demo
    revision = "c" * 40
    hub_serving(fake_hub, bundle, revision)
    hub = open_bundle(f"someone/demo-presets@{revision}")
    assert downloaded(fake_hub) == ["index.json"] and hub.domain == "demo" and hub.repo == "someone/demo-presets"
    presets = load_presets(hub, spec, files, g, QUICK)
    local = load_presets(open_bundle(bundle), spec, files, g, QUICK)
    assert torch.equal(presets.prompts[SMILE].direction, local.prompts[SMILE].direction)
    assert presets.directions is not None and presets.source == f"someone/demo-presets@{revision}"
    got = downloaded(fake_hub)
    assert got[0] == "index.json" and set(got[1:]) == {"prompts.safetensors", "directions.safetensors"}
    with pytest.raises(LganimError, match="someone/missing is not a folder here, and as a Hub repo: index.json") as err:
        open_bundle("someone/missing")
    assert "\n" not in str(err.value)


def test_an_offline_hub_serves_its_cache_or_says_so_in_one_line(bundle, demo, fake_hub, monkeypatch):
    from huggingface_hub import constants
    revision = "d" * 40
    hub_serving(fake_hub, bundle, revision)
    spec, files, g = demo
    load_presets(open_bundle(f"someone/cached@{revision}"), spec, files, g, QUICK)   # into huggingface_hub's cache
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    asked = len(fake_hub.requests)
    load_presets(open_bundle(f"someone/cached@{revision}"), spec, files, g, QUICK)   # offline: from the cache
    assert len(fake_hub.requests) == asked
    with pytest.raises(LganimError, match="HF_HUB_OFFLINE is set") as err:
        open_bundle("someone/never-seen")
    assert "\n" not in str(err.value)
