"""A Hugging Face Space of the app: its README front matter (from the registry), and a ready folder to push.

The repository root is itself the Space (its README.md starts with `front_matter("human")`); `python -m lganim space
OUT [--push USER/NAME]` writes (and uploads) a folder with only what the Space needs, and what its README links to.

Facts the configuration rests on (README "Deploy your own Space" has the sources):
- free accounts host Gradio Spaces on ZeroGPU only (since 2026-07-21); ZeroGPU runs Python 3.12.12 or 3.10.13 and
  the torch versions in ZEROGPU_TORCH; numpy 2.4 needs Python ≥ 3.11, so the Space runs 3.12;
- `preload_from_hub` entries are "repo file1,file2 commit" and land in the default Hub cache, where
  `huggingface_hub` finds them offline at that commit.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..errors import LganimError
from ..weights.registry import (
    CLIP_FILES,
    CLIP_LOSS_MODEL,
    CLIP_MOTION_MODEL,
    E4E_FFHQ,
    WeightFile,
    get_domain,
)

# hub-docs docs/hub/spaces-zerogpu.md (2026-08-22: 2.8.0, 2.9.1, 2.10.0, 2.11.0) and hub-docs PR #2763
# (merged 2026-09-04: adds 2.12.1 and 2.13.0).
ZEROGPU_TORCH = ("2.8.0", "2.9.1", "2.10.0", "2.11.0", "2.12.1", "2.13.0")
ZEROGPU_PYTHON = "3.12"
SDK_VERSION = "6.31.0"          # requirements.txt's gradio
ROOT = Path(__file__).resolve().parents[2]
SPACE_FILES = ("app.py", "ui", "requirements.txt", "packages.txt", "examples", "lganim", "weights/README.md")
LINK = re.compile(r"\]\(([^)#\s]+)")          # the target of a Markdown link or picture: ](target)


def preload_entries(domain: str) -> list[str]:
    """`preload_from_hub` lines for every public file a domain needs: its generator (and photo encoder), both CLIP
    models; files of one repo and revision share a line."""
    spec = get_domain(domain)
    files: list[WeightFile] = [] if spec.weights is None else [spec.weights]
    if spec.supports_photos and spec.weights is not None:
        files.append(E4E_FFHQ)
    files += [CLIP_FILES[CLIP_MOTION_MODEL][0], CLIP_FILES[CLIP_LOSS_MODEL][0]]
    lines: dict[tuple, list[str]] = {}
    for f in files:
        lines.setdefault((f.repo_id, f.revision), []).append(f.filename)
    return [f"{repo} {','.join(names)}" + (f" {rev}" if rev else "") for (repo, rev), names in lines.items()]


def front_matter(domain: str = "human") -> str:
    """The Space configuration block that opens README.md (YAML between --- lines)."""
    preload = "\n".join(f"  - {line}" for line in preload_entries(domain))
    return (f"---\ntitle: lganim\nemoji: 🙂\ncolorFrom: indigo\ncolorTo: pink\nsdk: gradio\n"
            f"sdk_version: {SDK_VERSION}\npython_version: \"{ZEROGPU_PYTHON}\"\napp_file: app.py\nlicense: mit\n"
            f"short_description: Animate a face from a sentence (Hang et al., TMM 2023)\n"
            f"startup_duration_timeout: 1h\npreload_from_hub:\n{preload}\n---\n")


def linked(readme: str) -> list[str]:
    """The paths of the repository a README links to (its pages and pictures), in order, once each."""
    return [target for target in dict.fromkeys(LINK.findall(readme)) if "://" not in target]


def write_space(out: Path, domain: str = "human") -> Path:
    """A folder holding the Space: the app, the library, its requirements, and a README opening with the front
    matter, with the pages and pictures it links to. `out` must not exist or be empty."""
    if not (ROOT / "app.py").is_file():
        raise LganimError("`space` copies the app from a checkout of lganim: run it from the repository.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LganimError(f"{out} exists and is not an empty folder: give a new folder.")
    out.mkdir(parents=True, exist_ok=True)
    body = (ROOT / "README.md").read_text(encoding="utf-8").split("---\n", 2)[-1]
    for name in sorted({*SPACE_FILES, *linked(body)}, key=lambda n: Path(n).parts):   # a folder before its files
        if (out / name).exists():                   # inside a folder copied already
            continue
        src, dst = ROOT / name, out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dst)
    (out / "README.md").write_text(front_matter(domain) + body, encoding="utf-8")
    return out


def push_space(folder: Path, repo: str, private: bool, token: str | None) -> str:
    """Create (or update) the Space `repo` from `folder`; returns its URL."""
    from huggingface_hub import HfApi  # only when pushing
    from huggingface_hub.errors import HfHubHTTPError
    api = HfApi(token=token)
    try:
        api.create_repo(repo, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="space",
                          commit_message="lganim: animate a face from a sentence")
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise LganimError(f"Could not push {folder} to the Space {repo} ({type(e).__name__}: {e}); check HF_TOKEN "
                          f"and the network.") from None
    return f"https://huggingface.co/spaces/{repo}"


__all__ = ["ZEROGPU_TORCH", "ZEROGPU_PYTHON", "preload_entries", "front_matter", "linked", "write_space",
           "push_space"]
