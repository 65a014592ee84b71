"""The app as a real server for the tests: `python app.py --port P` in a subprocess, from a folder of its own."""
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests import ROOT


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    cache: Path

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def log_size(self) -> int:
        return len(self.log.read_text())

    def wait_for_log(self, pattern: str, since: int, timeout: float = 30) -> re.Match:
        """The first match of `pattern` in what the server logged after offset `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text()[since:])
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared in the server log:\n{self.log.read_text()[-2000:]}")

    def request_dirs(self) -> list[Path]:
        return sorted(self.cache.glob("lganim-*"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(tmp: Path, cwd: Path = ROOT, python: str = sys.executable, **env):
    """A running app (its gradio cache and log under `tmp`) until the block ends; `env`: more settings."""
    tmp.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), tmp / "server.log"
    settings = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(tmp / "gradio"), **env}
    settings.pop("PYTHONPATH", None)
    with open(log, "w") as out:
        proc = subprocess.Popen([python, "app.py", "--port", str(port)], cwd=cwd, env=settings, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"app.py did not answer within 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Server(url, proc, log, tmp / "gradio")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
