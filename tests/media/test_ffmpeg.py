"""The one ffmpeg runner: one header parser, a timeout on every call, stalled pipes stopped, children that die with
lganim."""
import os
import signal
import subprocess
import sys
import time

import pytest

from lganim.errors import LganimError
from lganim.media import ffmpeg
from tests import ROOT

pytestmark = pytest.mark.slow                # every test here runs ffmpeg (a subprocess)

HEADER = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/clip.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 1205 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, progressive), 1920x1080 \
[SAR 1:1 DAR 16:9], 1100 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 96 kb/s (default)
"""


def test_one_parser_reads_duration_video_rotation_and_sound():
    info = ffmpeg.parse_header(HEADER)
    assert info.duration == pytest.approx(62.5) and info.has_video and info.codec == "h264"
    assert (info.width, info.height) == (1080, 1920)                 # upright: a quarter turn swaps the sides
    assert info.rotation == 270 and info.fps == pytest.approx(29.97)
    assert info.has_audio and info.sample_rate == 44100 and info.channels == 2 and info.audio_codec == "aac"
    cover = ffmpeg.parse_header("Input #0, mp3, from 'a.mp3':\n  Duration: 00:00:03.00, start: 0\n"
                                "  Stream #0:0: Audio: mp3, 48000 Hz, 5.1(side), fltp, 320 kb/s\n"
                                "  Stream #0:1: Video: mjpeg (Baseline), yuvj420p, 300x300, 90k tbr (attached pic)\n")
    assert cover.has_audio and cover.channels == 6 and not cover.has_video     # cover art is not a video
    assert cover.audio_codec == "mp3"
    assert ffmpeg.parse_header("file:/tmp/x: Invalid data found when processing input") is None


def test_every_call_has_a_timeout():
    with pytest.raises(LganimError, match="took over 0.5 s on the test and was stopped"):
        ffmpeg.run(["-f", "lavfi", "-i", "nullsrc=s=64x64:r=25", "-f", "null", "-"], "the test", timeout=0.5)


def test_a_stream_that_makes_no_progress_is_stopped():
    with ffmpeg.Stream(["-loglevel", "error", "-f", "lavfi", "-i", "nullsrc=s=64x64:r=25", "-f", "rawvideo",
                        "pipe:1"], stdout=True, timeout=1.0) as stream:
        stream.proc.stdout.read(64 * 64 * 3)                         # one frame, then nothing is read
        stream.proc.wait(timeout=10)
        assert stream.stalled and stream.proc.returncode != 0


def test_inputs_are_local_files_of_known_formats(tmp_path):
    args = ffmpeg.input_args(tmp_path / "a:b.mp4")
    assert args[:4] == ["-format_whitelist", ffmpeg.FORMATS, "-protocol_whitelist", "file"]
    assert args[-1] == f"file:{tmp_path / 'a:b.mp4'}" and "hls" not in ffmpeg.FORMATS.split(",")
    for missing in (tmp_path / "none.mp4", tmp_path):
        with pytest.raises(LganimError, match="does not exist or is not a file"):
            ffmpeg.probe(missing)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_an_ffmpeg_child_dies_with_a_killed_parent():
    code = ("import sys, time\nfrom lganim.media import ffmpeg\n"
            "s = ffmpeg.Stream(['-loglevel', 'error', '-f', 'lavfi', '-i', 'nullsrc', '-f', 'rawvideo', "
            "'-y', '/dev/null'], timeout=600)\nprint(s.proc.pid, flush=True)\ntime.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):                                               # the kernel kills it at once; allow 10 s
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("ffmpeg outlived the process that started it")
