"""The Space and the GPU boxes users run: README front matter, ZeroGPU torch, the `space` command, Docker (as text:
no Docker engine here), and the app's ZeroGPU wiring."""
import ast
import pickle
import re
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from lganim import service
from lganim.cli import main
from lganim.domains import CLIP_FILES, DOMAINS, E4E_FFHQ
from lganim.request import Request
from lganim.space import ZEROGPU_TORCH, front_matter, preload_entries
from synth import write_speech

ROOT = Path(__file__).resolve().parent.parent
ASTRONAUT = ROOT / "tests" / "fixtures" / "faces" / "astronaut.png"
# CUDA of the default PyPI Linux x86_64 wheel of each torch (its nvidia/cuda-toolkit dependencies)
TORCH_CUDA = {"2.13.0": "13.0"}


def requirements_for(python: str, path: Path = ROOT / "requirements.txt") -> dict[str, Requirement]:
    """The pins pip installs from `path` on a given Python (environment markers evaluated)."""
    env = {**default_environment(), "python_version": python, "python_full_version": f"{python}.12"}
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                out[req.name.lower()] = req
    return out


def test_readme_front_matter_is_the_spaces_configuration():
    text = (ROOT / "README.md").read_text()
    assert text.startswith(front_matter("human"))                       # generated from the registry, never drifts
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["python_version"] == "3.12" and meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert "suggested_hardware" not in meta                           # no ZeroGPU value exists for it
    preload = meta["preload_from_hub"]
    human = DOMAINS["human"].weights
    assert f"{human.repo_id} {human.filename},{E4E_FFHQ.filename} {human.revision}" in preload
    for name in ("RN50", "ViT-B/32"):
        f = CLIP_FILES[name][0]
        assert f"{f.repo_id} {f.filename} {f.revision}" in preload
    assert preload == preload_entries("human")
    assert re.fullmatch(r"\d+[hm]", meta["startup_duration_timeout"])


def test_a_python_312_space_installs_a_torch_zerogpu_lists():
    pins = requirements_for("3.12")
    torch = pins["torch"]
    assert str(torch.specifier).startswith("==") and str(torch.specifier)[2:] in ZEROGPU_TORCH
    assert str(requirements_for("3.11")["torch"].specifier) == "==2.13.0"     # local and CI installs
    sdk_version = yaml.safe_load((ROOT / "README.md").read_text().split("---\n")[1])["sdk_version"]
    assert "spaces" in pins and str(pins["gradio"].specifier) == f"=={sdk_version}"


def test_debian_packages_are_installed_where_the_app_runs():
    assert "espeak-ng" in (ROOT / "packages.txt").read_text().split()
    assert "espeak-ng" in (ROOT / ".ci" / "run").read_text()
    assert "espeak-ng" in (ROOT / "Dockerfile").read_text()


def test_the_docker_base_image_is_the_cuda_the_pinned_torch_uses():
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM nvidia/cuda:(\d+\.\d+)\.\d+-(?:base|runtime)-ubuntu24\.04$", dockerfile, re.M)
    torch = str(requirements_for("3.12")["torch"].specifier)[2:]
    assert base and base.group(1) == TORCH_CUDA[torch]


def test_space_command_writes_a_ready_folder(tmp_path, capsys):
    out = tmp_path / "space"
    assert main(["space", str(out)]) == 0
    for name in ("app.py", "requirements.txt", "packages.txt", "lganim/pipeline.py", "examples/astronaut.png"):
        assert (out / name).is_file(), name
    assert (out / "README.md").read_text().startswith(front_matter("human"))
    assert not list(out.rglob("__pycache__")) and not (out / "tests").exists()
    assert main(["space", str(out)]) == 2                                # an existing folder is never overwritten
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["space", str(tmp_path / "other"), "--push", "me/lganim"]) == 2   # offline (conftest)
    assert not (tmp_path / "other").exists()


def test_spaces_is_imported_before_anything_else_in_the_app():
    tree = ast.parse((ROOT / "app.py").read_text())
    first = next(node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.Try))
                 and not (isinstance(node, ast.ImportFrom) and node.module == "__future__"))
    assert isinstance(first, ast.Try) and isinstance(first.body[0], ast.Import)
    assert first.body[0].names[0].name == "spaces"


def test_zero_gpu_is_detected_as_the_spaces_package_does(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert service.on_zero_gpu()
    monkeypatch.setenv("SPACES_ZERO_GPU", "0")
    assert not service.on_zero_gpu()
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert not service.on_space()


def test_gpu_time_grows_with_frames_resolution_and_fitting():
    animators = service.Animators()
    short = service.gpu_seconds(animators, "demo", Request("The person is smiling.", 1, num_frames=8))
    long = service.gpu_seconds(animators, "demo", Request("The person is smiling.", [1, 2, 3], num_frames=256))
    big = service.gpu_seconds(animators, "human", Request("The person is smiling.", [1, 2, 3], num_frames=256))
    assert 20 <= short < long < big <= 300


def test_every_update_pickles(tmp_path):
    """On ZeroGPU the GPU work runs in a forked worker: every update it yields crosses back pickled."""
    animators = service.Animators()
    for request in (Request("The person is smiling.", 1, num_frames=3), Request("x", image=ASTRONAUT, num_frames=2)):
        updates = list(service.run(animators, "demo", request, tmp_path, None, write_gif=True))
        for update in updates:
            back = pickle.loads(pickle.dumps(update))
            assert back.status == update.status
        clip = pickle.loads(pickle.dumps(updates[-1].clip))
        rerendered = list(service.rerender(animators, clip, tmp_path, None, strength=0.0, truncation=1.0, fps=6))
        assert rerendered[-1].videos and pickle.dumps(rerendered[-1])
    speech = write_speech(tmp_path / "speech.wav", seconds=1.0, bursts=((0.2, 0.6),))
    driving = pickle.loads(pickle.dumps(service.Driving("audio", speech)))
    face = Request("talking", 1, num_frames=1, fps=10, driven=True)
    for update in [*service.drive(animators, "demo", face, driving, tmp_path, None),
                   *service.predict(animators, "demo", Request("x", 1, num_frames=4, fps=4), 2, tmp_path, None)]:
        assert pickle.loads(pickle.dumps(update)).status == update.status
