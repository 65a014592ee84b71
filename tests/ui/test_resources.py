"""What one request and many requests cost the server: memory that does not grow with the clip, flat memory and
file descriptors over a soak, an upload cap that refuses before any endpoint runs."""
import os
import threading
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests import ROOT
from tests.synth import write_speech
from tests.videos import count_frames

pytestmark = pytest.mark.slow                # a server in a subprocess
PHOTO = ROOT / "examples" / "astronaut.png"  # 512 px: a frame pasted back is 0.75 MB


@pytest.fixture(scope="module")
def server(app_server):
    """The session's app server (tests/conftest.py)."""
    return app_server


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the ffmpeg encoders), MB."""
    pids = [pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and child_of(int(p), pid)]
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def child_of(p: int, parent: int) -> bool:
    try:
        return int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]) == parent
    except (OSError, IndexError, ValueError):
        return False


def peak_growth(server, run) -> float:
    """The largest RSS over the baseline while `run()` works, MB (sampled every 0.1 s)."""
    base, peak, done = tree_rss_mb(server.proc.pid), [0.0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(server.proc.pid) - base)
            done.wait(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run()
    finally:
        done.set()
        watcher.join()
    return peak[0]


def test_memory_of_a_talk_request_does_not_grow_with_its_length(client, server, tmp_path):
    """A photo talking for 10 s and for 30 s at 30 fps (300 and 900 frames of 512 px): the longer clip costs no more
    memory (before frames streamed to the encoder, 600 more frames held 0.45 GB more)."""
    photo = handle_file(str(PHOTO))
    warm = write_speech(tmp_path / "warm.wav", seconds=1.0, bursts=((0.2, 0.6),))
    client.predict(image=photo, domain="demo", seed=1, audio=handle_file(str(warm)), fps=10, api_name="/talk")
    growth = {}
    for seconds in (10, 30):
        speech = write_speech(tmp_path / f"speech{seconds}.wav", seconds=seconds,
                              bursts=tuple((s + 0.1, s + 0.7) for s in range(seconds)))
        answer = []
        growth[seconds] = peak_growth(server, lambda: answer.append(client.predict(
            image=photo, domain="demo", seed=1, audio=handle_file(str(speech)), fps=30, api_name="/talk")))
        mp4 = answer[0][0]["video"] if isinstance(answer[0][0], dict) else answer[0][0]
        assert count_frames(mp4) == 30 * seconds
    print(f"\n/talk with a 512 px photo at 30 fps: peak RSS growth {growth[10]:.0f} MB at 300 frames, "
          f"{growth[30]:.0f} MB at 900 frames")
    assert growth[30] - growth[10] < 200


def test_a_soak_keeps_memory_and_file_descriptors_flat(client, server):
    def fds() -> int:
        return len(os.listdir(f"/proc/{server.proc.pid}/fd"))

    def one(seed: int):
        mp4 = client.predict(image=None, domain="demo", seed=seed, prompt="The person is smiling.", num_frames=4,
                             fps=8, api_name="/animate")[0]
        assert count_frames(mp4) == 4

    for seed in range(10):                                  # warm: models, caches, thread pools
        one(seed)
    rss, files = tree_rss_mb(server.proc.pid), fds()
    for seed in range(10, 50):
        one(seed)
    rss_after, files_after = tree_rss_mb(server.proc.pid), fds()
    print(f"\nsoak of 40 requests: RSS {rss:.0f} -> {rss_after:.0f} MB, fds {files} -> {files_after}")
    assert rss_after - rss < 80 and files_after - files <= 4


def test_an_upload_over_the_limit_is_refused_and_a_small_one_accepted(server, tmp_path):
    big, small = tmp_path / "big.mp4", tmp_path / "small.mp4"
    with open(big, "wb") as f:
        f.truncate(25 * 10 ** 6)                            # over LGANIM_UPLOAD_MB=20
    small.write_bytes(os.urandom(10 ** 6))
    with open(big, "rb") as f:
        refused = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.mp4", f)}, timeout=60)
    assert refused.status_code == 413 and "\n" not in refused.text.strip(), refused.text
    with open(small, "rb") as f:
        accepted = httpx.post(server.url + "gradio_api/upload", files={"files": ("small.mp4", f)}, timeout=60)
    assert accepted.status_code == 200 and len(accepted.json()) == 1
    assert not any(p.name == "big.mp4" for p in server.cache.rglob("*"))       # nothing of it was kept
