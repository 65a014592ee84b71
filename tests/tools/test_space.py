"""The Space and the GPU boxes users run: README front matter, ZeroGPU torch, the `space` command, Docker (as text:
no Docker engine here), and the app's ZeroGPU wiring."""
import re
from pathlib import Path

import pytest
import yaml
from gradio_client import Client
from packaging.markers import default_environment
from packaging.requirements import Requirement

from lganim.cli import main
from lganim.tools.space import ZEROGPU_TORCH, front_matter, linked, preload_entries
from lganim.weights.registry import CLIP_FILES, DOMAINS, E4E_FFHQ
from tests import ROOT
from tests.ui.servers import serve
from tests.videos import count_frames

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
    readme = (out / "README.md").read_text()
    assert readme.startswith(front_matter("human"))
    assert not list(out.rglob("__pycache__")) and not (out / "tests").exists()
    assert linked(readme) and all((out / target).exists() for target in linked(readme))   # its pages and pictures
    assert sorted(p.name for p in (out / "docs" / "screenshots").iterdir()) == sorted(
        p.name for p in (ROOT / "docs" / "screenshots").iterdir())
    assert main(["space", str(out)]) == 2                                # an existing folder is never overwritten
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["space", str(tmp_path / "other"), "--push", "me/lganim"]) == 2   # offline (conftest)
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_a_written_space_starts_and_animates(tmp_path):
    """The folder `space` writes is the whole Space: `python app.py` in it, outside the checkout and without
    PYTHONPATH, serves /animate."""
    out = tmp_path / "space"
    assert main(["space", str(out)]) == 0
    with serve(tmp_path / "run", cwd=out) as server:
        client = Client(server.url, verbose=False)
        mp4 = client.predict(image=None, domain="demo", seed=1, prompt="The person is smiling.", num_frames=4, fps=4,
                             api_name="/animate")[0]
        assert count_frames(mp4) == 4
