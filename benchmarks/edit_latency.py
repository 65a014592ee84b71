"""The Edit tab's latency as an API client sees it: the median of ten /edit calls (after a warm-up) against a
16-frame /animate of the same face, for a seed's face and a photo's, on a real server (app.py in a subprocess).

    python benchmarks/edit_latency.py [--domain demo] [--photo examples/astronaut.png] [--json out.json]

Run from the repository root. The acceptance of the Edit tab asks that an /edit be under a third of the /animate.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
UPDATES = 10                    # timed /edit calls per face
CLIPS = 3                       # timed /animate calls per face
FRAMES = 16


def serve(port: int, log: Path) -> subprocess.Popen:
    """app.py on 127.0.0.1:port, once it answers."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(log.parent / "gradio")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"app.py exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    sys.exit("app.py did not answer within 180 s")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(client: Client, domain: str, face: dict) -> dict:
    """Seconds of /edit (first call, then the median of UPDATES after two warm-ups) and of a FRAMES-frame
    /animate (median of CLIPS after one warm-up) on one face."""
    first = timed(lambda: client.predict(domain=domain, **face, api_name="/edit"))
    edits = [timed(lambda i=i: client.predict(domain=domain, **face, yaw=2.0 * (i % 10) - 9.0, smile=0.05,
                                              api_name="/edit"))
             for i in range(UPDATES + 2)][2:]
    animate = dict(domain=domain, prompt="The person is smiling.", num_frames=FRAMES, fps=12, strength=1.0, **face)
    clips = [timed(lambda: client.predict(**animate, api_name="/animate")) for _ in range(CLIPS + 1)][1:]
    out = {"first_edit_s": first, "edit_s": statistics.median(edits), "edits_s": edits,
           "animate_s": statistics.median(clips), "animates_s": clips}
    out["edit_over_animate"] = out["edit_s"] / out["animate_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="demo")
    parser.add_argument("--photo", type=Path, default=ROOT / "examples" / "astronaut.png")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lganim-edit-latency-") as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        proc = serve(port, Path(tmp) / "server.log")
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            result = {"domain": args.domain, "updates": UPDATES, "clips": CLIPS, "frames": FRAMES,
                      "load_avg_1min": os.getloadavg()[0],
                      "seed": measure(client, args.domain, {"seed": 1, "image": None}),
                      "photo": measure(client, args.domain, {"seed": 0, "image": handle_file(str(args.photo))})}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    for face in ("seed", "photo"):
        r = result[face]
        print(f"{face:>5}: /edit {1e3 * r['edit_s']:.0f} ms (median of {UPDATES}; first {1e3 * r['first_edit_s']:.0f} "
              f"ms), /animate {FRAMES} frames {r['animate_s']:.2f} s: {r['edit_over_animate']:.3f} of it")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
