"""The README's first hour, as written: its command-line examples run (on the demo domain in place of the real ones,
which download gigabytes) with the `lganim` the test command installed, in a folder of their own beside the
examples; its Python example runs; its API examples answer through gradio_client from a running app."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lganim.cli import main
from tests import ROOT
from tests.videos import count_frames

pytestmark = pytest.mark.slow                 # runs the commands, and an app, as subprocesses
README = (ROOT / "README.md").read_text(encoding="utf-8")
# what an example needs that a CPU test cannot give: the network, a GPU, a run of eight processes, its output
OUT_OF_REACH = ("lganim download human", "--push ", "--device cuda", "torchrun ", "--motion runs/")


def blocks(language: str, section: str) -> list[str]:
    """The ```language blocks of the README section headed `section` (up to the next heading of its level)."""
    start = README.index(section)
    level = section.split(" ")[0]
    end = README.find(f"\n{level} ", start + len(section))
    return re.findall(rf"```{language}\n(.*?)```", README[start:end if end > 0 else None], re.S)


def commands() -> list[str]:
    """Every `lganim ...` line of the command-line section (continuations joined, comments dropped), on demo."""
    found = []
    for block in blocks("bash", "## Command line"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()
            if line.startswith("lganim ") and not any(x in line for x in OUT_OF_REACH):
                found.append(line.replace("--domain human", "--domain demo"))
    return found


def test_the_examples_are_found():
    lines = commands()
    assert len(lines) >= 15 and all("human" not in line for line in lines)
    assert any(line.startswith("lganim animate") for line in lines) and any("--image examples/" in x for x in lines)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A fresh folder with the examples beside it, as in the repository."""
    folder = tmp_path_factory.mktemp("first-hour")
    (folder / "examples").symlink_to(ROOT / "examples")
    return folder


def test_the_installed_command_runs(workdir):
    """`lganim` is the console script the README's install gives (the other examples call the same `main`)."""
    lganim = Path(sys.executable).parent / "lganim"
    assert lganim.is_file(), "the `lganim` command is missing: the README's commands install it (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(lganim), "animate", "--domain", "demo", "--seed", "1", "--prompt", "The person is "
                           "smiling.", "--frames", "4", "--out", "installed.mp4"], cwd=workdir, capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0 and count_frames(workdir / "installed.mp4") == 4, done.stderr
    assert done.stdout.startswith("wrote installed.mp4") and done.stderr.startswith("device: ")


def test_every_command_line_example_runs_as_written(workdir, monkeypatch, capsys):
    """Each example through the command line's own entry point (`lganim.cli.main`, what the `lganim` script runs),
    in one process: the same parsing, checks and commands, without starting Python twenty times."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("LGANIM_CACHE", str(workdir / ".cache"))
    for line in commands():
        try:
            status = main(shlex.split(line)[1:])
        except SystemExit as end:                     # --help
            status = end.code
        err = capsys.readouterr().err
        assert status == 0 and "error:" not in err, f"{line}\n{err[-2000:]}"
    assert count_frames(workdir / "smile.mp4") == 12 and (workdir / "me.gif").is_file()
    assert sorted(p.name for p in (workdir / "futures").iterdir())[-1] == "sample_03.mp4"
    assert count_frames(workdir / "v.mp4") == count_frames(workdir / "smiling.mp4") == 48    # the example's frames
    assert (workdir / "face.json").is_file()


def test_the_python_example_runs(workdir, monkeypatch):
    (code,) = blocks("python", "## Python")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("LGANIM_CACHE", str(workdir / ".cache"))
    exec(compile(code, "README.md (Python)", "exec"), {})
    assert count_frames(workdir / "smile.mp4") == 12 and count_frames(workdir / "b.mp4") == 16
    assert (workdir / "talk.mp4").is_file() and (workdir / "strip.png").is_file()
    assert count_frames(workdir / "edited.mp4") == 48


def test_the_api_examples_answer(app_server, monkeypatch):
    code = next(b for b in blocks("python", "## App, Space and Docker") if "gradio_client" in b)
    code = code.replace('Client("http://127.0.0.1:7860/")', f'Client("{app_server.url}", verbose=False)')
    monkeypatch.chdir(ROOT)                            # the examples' files are named from the repository root
    namespace: dict = {}
    exec(compile(code, "README.md (API)", "exec"), namespace)
    assert count_frames(namespace["mp4"]) > 0 and namespace["png"] is not None
    assert len(namespace["futures"]) == 4 and "domain demo" in namespace["status"]       # the last: /edit_video's
    assert count_frames(namespace["edited"]) == 48
