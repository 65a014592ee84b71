"""The one ffmpeg runner: every read and write of a media file goes through here.

The binary is the one imageio-ffmpeg ships (it has no ffprobe, so headers are read from the stderr of `ffmpeg -i`,
parsed once, in `probe`). Every call:

- opens inputs only in the container formats of FORMATS (`-format_whitelist`), from local files only
  (`-protocol_whitelist file`, `file:` paths): a playlist or concat script disguised as a video cannot make ffmpeg
  read other files, and a name with a colon is never read as a protocol;
- is stopped after TIMEOUT seconds (`run`), or after TIMEOUT seconds without progress (`Stream`, the processes
  that read frames from or feed frames to lganim through pipes);
- dies with lganim: on Linux the child is started with PR_SET_PDEATHSIG, so a killed server leaves no ffmpeg
  writing on.
"""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..config import FFMPEG_TIMEOUT
from ..errors import LganimError

TIMEOUT = FFMPEG_TIMEOUT
# Demuxers allowed to open an input: the sound formats, then the video containers (MP4/MOV, Matroska/WebM, AVI,
# MPEG-TS/PS, FLV, Ogg, ASF/WMV, GIF). No playlists (hls), concat scripts or image sequences.
FORMATS = ("wav,w64,mp3,aac,loas,flac,ogg,aiff,caf,amr,au,wv,ape,tta,mpc,mpc8,xwma,"
           "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,asf,gif")
PR_SET_PDEATHSIG, SIGKILL = 1, 9

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #0:\d+\S*: (Audio|Video): (.*)")
_VIDEO = re.compile(r"^(\w+).*?, (\d+)x(\d+)(?:[\s,\[]|$)")
_FPS = re.compile(r", (\d+(?:\.\d+)?)(k?) fps")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_AUDIO = re.compile(r"(\d+) Hz, ([^,]+)")


def executable() -> str:
    """The path of the ffmpeg binary."""
    import imageio_ffmpeg  # third-party, only when a media file is first touched
    return imageio_ffmpeg.get_ffmpeg_exe()


def input_args(path: str | os.PathLike) -> list[str]:
    """ffmpeg's options that open `path` as an input, safely (module docstring)."""
    return ["-format_whitelist", FORMATS, "-protocol_whitelist", "file", "-i",
            f"file:{os.fspath(Path(path).resolve())}"]


def _die_with_parent() -> None:  # runs in the child between fork and exec: one system call
    _LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL)


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
# PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so every child is started from this one
# thread, which lives as long as the process (a request's worker threads come and go).
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lganim-ffmpeg")


def _start(cmd: list[str], **kwargs) -> subprocess.Popen:
    preexec = _die_with_parent if _LIBC is not None else None
    return _SPAWNER.submit(subprocess.Popen, [executable(), "-hide_banner", "-nostdin", *cmd],
                           preexec_fn=preexec, **kwargs).result()


def run(cmd: list[str], what: str, *, timeout: float = TIMEOUT, stdin: bytes | None = None
        ) -> subprocess.CompletedProcess:
    """Run ffmpeg with `cmd` (after `-hide_banner -nostdin`), its output captured; stopped after `timeout` seconds
    with a one-line error naming `what` it was working on."""
    proc = _start(cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise LganimError(f"ffmpeg took over {timeout:g} s on {what} and was stopped; re-encode the file "
                          f"(e.g. to MP4 or WAV) and try again.") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class Stream:
    """An ffmpeg process that lganim feeds or reads through pipes (`stdin`/`stdout`), stopped when it makes no
    progress for `timeout` seconds (call `alive()` on every chunk read or written) and killed on `close()` if it is
    still running. Use it as a context manager."""

    def __init__(self, cmd: list[str], *, stdin: bool = False, stdout: bool = False,
                 timeout: float = TIMEOUT):
        self.proc = _start(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                           stdout=subprocess.PIPE if stdout else subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.timeout, self.last = timeout, time.monotonic()
        self.stalled = False
        self._done = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="lganim-ffmpeg-watch").start()

    def alive(self) -> None:
        """Progress was made (a chunk read or written)."""
        self.last = time.monotonic()

    def _watch(self) -> None:
        while not self._done.wait(1.0):
            if time.monotonic() - self.last > self.timeout and self.proc.poll() is None:
                self.stalled = True
                self.proc.kill()
                return

    def close(self) -> None:
        self._done.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except BrokenPipeError:           # frames still buffered for a killed ffmpeg: dropped (closed anyway)
                    pass

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class MediaInfo:
    """What the header of a media file says (`ffmpeg -i`).

    duration: seconds (None when the container does not say, e.g. some browser recordings).
    width, height: the first video stream's upright frame size in pixels (after the display rotation); 0 without
        video. fps: its average frame rate (None when absent); rotation: its display rotation in degrees,
        counter-clockwise, in [0, 360) (90 = the stored frames are turned a quarter counter-clockwise to be
        shown); codec: its codec ("" without video). Cover art (an attached picture) is not a video stream.
    has_audio, sample_rate, channels, audio_codec: the first audio stream (None, or "", where ffmpeg does not say).
    """

    duration: float | None
    has_video: bool
    width: int = 0
    height: int = 0
    fps: float | None = None
    rotation: float = 0.0
    codec: str = ""
    has_audio: bool = False
    sample_rate: int | None = None
    channels: int | None = None
    audio_codec: str = ""


def last_line(text: bytes | str) -> str:
    """The last non-empty line of ffmpeg's stderr, for a one-line error."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def channel_count(layout: str) -> int | None:
    """Channels of an ffmpeg layout name: "mono", "5.1(side)", "7.1.4", "6 channels", ..."""
    layout = layout.strip()
    named = {"mono": 1, "stereo": 2, "binaural": 2, "downmix": 2, "quad": 4, "hexagonal": 6,
             "octagonal": 8, "cube": 8, "hexadecagonal": 16}
    base = layout.split("(")[0]
    if base in named:
        return named[base]
    if re.fullmatch(r"\d+(\.\d+)+", base):                  # "5.1" = 5 + 1, "7.1.4" = 7 + 1 + 4
        return sum(int(x) for x in base.split("."))
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else None


def parse_header(text: str) -> MediaInfo | None:
    """The MediaInfo in the stderr of `ffmpeg -i`, or None when ffmpeg could not open the input."""
    if "Input #0" not in text:
        return None
    match = _DURATION.search(text)
    duration = int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3)) if match else None
    streams = _STREAM.findall(text)
    video = next((desc for kind, desc in streams if kind == "Video" and "attached pic" not in desc), None)
    audio = next((desc for kind, desc in streams if kind == "Audio"), None)
    fields: dict = {}
    if video is not None and (v := _VIDEO.search(video)) is not None:
        codec, coded_w, coded_h = v.group(1), int(v.group(2)), int(v.group(3))
        fps_match = _FPS.search(video)
        fps = float(fps_match.group(1)) * (1000 if fps_match.group(2) else 1) if fps_match else None
        after = text[text.find(video):]                      # the rotation is in the stream's side data
        next_stream = after.find("Stream #", 1)
        rot_match = _ROTATION.search(after if next_stream < 0 else after[:next_stream])
        rotation = float(rot_match.group(1)) % 360 if rot_match else 0.0
        quarter_turns = int(round(rotation / 90)) % 2        # ffmpeg autorotates by multiples of 90
        width, height = (coded_h, coded_w) if quarter_turns else (coded_w, coded_h)
        fields.update(width=width, height=height, fps=fps, rotation=rotation, codec=codec)
    if audio is not None:
        fields.update(has_audio=True, audio_codec=audio.split()[0].rstrip(","))
        if (a := _AUDIO.search(audio)) is not None:
            fields.update(sample_rate=int(a.group(1)), channels=channel_count(a.group(2)))
    return MediaInfo(duration=duration, has_video="width" in fields, **fields)


MEDIA = ("an audio or video file", "use a WAV, MP3, M4A, OGG or FLAC sound, or an MP4, MOV, WebM, MKV or AVI video")
VIDEO = ("a video", "use an MP4, MOV, WebM, MKV or AVI file")


def probe(path: str | os.PathLike, expected: tuple[str, str] = MEDIA) -> MediaInfo:
    """Read the header of a media file. `expected`: what the file should be and what to use instead, for the error
    when it is not (MEDIA, VIDEO).

    Raises:
        LganimError: the file is missing or not a file, or ffmpeg cannot open it (or not in FORMATS).
    """
    path = Path(path)
    what, instead = expected
    if not path.is_file():
        raise LganimError(f"'{path.name}' does not exist or is not a file; check the path.")
    done = run(input_args(path), f"the header of '{path.name}'", timeout=60)
    info = parse_header(done.stderr.decode(errors="replace"))
    if info is None:
        raise LganimError(f"'{path.name}' is not {what} lganim can read ({last_line(done.stderr)}); {instead}.")
    return info


__all__ = ["TIMEOUT", "FORMATS", "executable", "input_args", "run", "Stream", "MediaInfo", "last_line",
           "channel_count", "parse_header", "probe", "MEDIA", "VIDEO"]
