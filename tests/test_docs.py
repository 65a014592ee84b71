"""The map stays true: every repository path and every `lganim.…` name that README.md, docs/ and
benchmarks/README.md mention exists, and the code passes the project's own lint settings (ruff, pinned in
requirements-dev.txt)."""
import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lganim.tracks.track import FORMAT
from tests import ROOT

PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = r"(?:lganim|ui|docs|tests|benchmarks|examples|weights|\.ci)"
# a path from the repository root (or a root file), not part of a longer path or word
PATH = re.compile(rf"(?<![\w./-])({TOP}/[\w./*-]*[\w*]|app\.py|Dockerfile|requirements(?:-dev)?\.txt|packages\.txt|"
                  r"pyproject\.toml)")
DOTTED = re.compile(r"(?<![\w./\"-])(lganim(?:\.\w+)+)")      # lganim.models.renderer.FastRenderer
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")              # [text](relative/target.md#anchor)


def ignored(path: str) -> bool:
    """Files the repository never holds (.gitignore: users place weights, runs write outputs)."""
    patterns = [line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    hit = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatch(part, pattern) for part in [path, *(str(p) for p in Path(path).parents)]):
            hit = not negated
    return hit


def path_exists(text: str) -> bool:
    """A path named from the repository root, or from the package (the docs' own shorthand, e.g. weights/hub.py),
    with or without its .py."""
    return any((base / name).exists() for base in (ROOT, ROOT / "lganim") for name in (text, text + ".py"))


def name_exists(dotted: str) -> bool:
    """lganim.a.b(.Name): the longest module prefix exists, and a trailing name is defined in it."""
    parts = dotted.split(".")
    for k in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:k])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            if k == len(parts):
                return True
            name = re.escape(parts[k])
            return re.search(rf"^\s*(?:def|class)\s+{name}\b|^{name}\s*[:=]|import .*\b{name}\b",
                             source.read_text(), re.M) is not None
    return False


def stale(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    missing = [p for p in (m.group(1).rstrip(".") for m in PATH.finditer(text))
               if "*" not in p and not ignored(p) and not path_exists(p)]
    missing += [f"link {t}" for t in (m.group(1) for m in LINK.finditer(text))
                if not t.startswith(("http://", "https://", "mailto:")) and not (page.parent / t).exists()]
    missing += [d for d in (m.group(1).rstrip(".") for m in DOTTED.finditer(text))
                if d != FORMAT and not name_exists(d)]
    return missing


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_page_names_exists(page):
    assert stale(page) == [], f"{page.relative_to(ROOT)} names what does not exist"


def test_the_check_finds_a_stale_path(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See `lganim/motion.py`, `lganim.render.FastRenderer`, [x](nowhere.md) and "
                    "`lganim.models.renderer.FastRenderer`, `weights/ffhq.pt`, `lganim/__init__`.\n")
    assert stale(page) == ["lganim/motion.py", "link nowhere.md", "lganim.render.FastRenderer"]


@pytest.mark.slow                # starts ruff in a subprocess
def test_ruff_passes_with_the_project_settings():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))   # installed beside this Python
    assert ruff is not None, "ruff is missing: install requirements-dev.txt"
    done = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_runs_the_readme_test_command():
    """CI runs exactly what the README tells a newcomer to type, so the first hour and CI fail together."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"Run the tests.*?```bash\n(.+?)\n```", readme, re.S).group(1)
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
