"""Running `python -m lganim` as a user does, and what a user mistake must look like: exit status 2, nothing on
stdout, one line on stderr starting `error:` (after the status lines, such as `device: …`, when the mistake is
found only once the models are loaded), no traceback."""
import os
import subprocess
import sys

from tests import ROOT

STATUS_PREFIXES = ("device: ",)       # status lines a command prints on stderr before its work


def lganim(*args, cwd=ROOT, env=None, timeout=300):
    """Run `python -m lganim ARGS`; `env` overrides the environment (a None value removes the variable)."""
    env = {k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "lganim", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=timeout)


def assert_one_line_error(proc, *words, report: bool = False):
    """A user mistake: exit status 2, one `error:` line naming `words`, nothing else on stderr but status lines,
    nothing on stdout (`report`: a command whose output is a report, e.g. `doctor`, prints it before the error)."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and (report or proc.stdout == ""), proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith(STATUS_PREFIXES)]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert all(word in lines[0] for word in words), lines[0]
