"""Reading videos: their true frames and presentation times, through the ffmpeg binary of imageio-ffmpeg.

That package ships ffmpeg but no ffprobe, so the header is read from the stderr of `ffmpeg -i`, and
limits (length, resolution) are checked there before anything is decoded. Decoding then runs ffmpeg
with:

- `-fps_mode passthrough`: every decoded frame comes out once, so a variable-frame-rate clip gives
  its true frames (a constant-rate conversion would duplicate or drop some);
- `-vf showinfo`: logs each frame's pts and the stream time base on stderr, from which the frame's
  time in seconds is exact (pts * time base);
- a final `scale=W:H` to the size computed from the header, so the raw RGB frames on stdout have a
  known shape. ffmpeg applies a display rotation (phone videos) before the filters, so W and H are
  the upright ones (swapped for 90/270 degrees).

Only common video containers are opened (`-format_whitelist`), from local files only
(`-protocol_whitelist file`): a playlist or concat script disguised as a video cannot make ffmpeg
read other files.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LganimError

MAX_SECONDS = 600.0                 # longest accepted video
MAX_PIXELS = 4096 * 2160            # largest accepted frame (DCI 4K); 8K is refused
MAX_BYTES = 4 * 1024 ** 3           # largest accepted set of decoded frames in `read_video`
# Demuxers allowed to open an input: MP4/MOV, Matroska/WebM, AVI, MPEG-TS/PS, FLV, Ogg, ASF/WMV, GIF.
FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg,asf,gif"

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\d+)x(\d+)[\s,\[]")
_FPS = re.compile(r", (\d+(?:\.\d+)?)(k?) fps")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_TIME_BASE = re.compile(r"config in time_base: (\d+)/(\d+)")
_SHOWINFO = re.compile(r"\bn:\s*(\d+) pts:\s*(-?\d+|NOPTS)")


@dataclass(frozen=True)
class VideoInfo:
    """What the header of a video says.

    width, height: the upright frame size in pixels (after the display rotation, i.e. what
        `read_video` returns without max_side).
    duration: seconds (None when the container does not say, e.g. some browser recordings).
    fps: the average frame rate the header gives (None when absent).
    has_audio: whether there is an audio stream.
    rotation: the display rotation in degrees, counter-clockwise, in [0, 360) (0 if none; 90 = the
        stored frames are turned a quarter counter-clockwise to be shown).
    codec: the video codec's name.
    """

    width: int
    height: int
    duration: float | None
    fps: float | None
    has_audio: bool
    rotation: float
    codec: str


@dataclass
class VideoFrames:
    """Decoded frames: uint8 [T, H, W, 3] RGB, their presentation times float64 [T] in seconds (strictly
    increasing), the average frame rate over them, and the header they came from."""

    frames: np.ndarray
    t: np.ndarray
    fps: float
    info: VideoInfo

    def __len__(self) -> int:
        return len(self.frames)


def _ffmpeg() -> str:
    import imageio_ffmpeg  # heavy-ish and optional for the rest of lganim: only needed to read videos
    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise LganimError(f"The video '{path}' does not exist or is not a file; check the path.")
    return path


def _input_args(path: Path) -> list[str]:
    # "file:" keeps a name with a colon from being read as a protocol.
    return ["-format_whitelist", FORMATS, "-protocol_whitelist", "file", "-i", f"file:{os.fspath(path.resolve())}"]


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read the header of a video file and check it against MAX_SECONDS and MAX_PIXELS.

    Raises:
        LganimError: the file is missing, is not a video ffmpeg can open (or not in FORMATS), has no
            video stream, or is longer or larger than the limits.
    """
    path = _check_file(path)
    try:
        text = subprocess.run([_ffmpeg(), "-hide_banner", "-nostdin", *_input_args(path)],
                              capture_output=True, text=True, errors="replace", timeout=60).stderr
    except subprocess.TimeoutExpired:
        raise LganimError(f"Reading the header of '{path.name}' took over a minute; re-encode the video "
                          "(e.g. to MP4) and try again.") from None
    if "Input #0" not in text:
        reason = text.strip().splitlines()[-1] if text.strip() else "ffmpeg could not open it"
        raise LganimError(f"'{path.name}' is not a video lganim can read ({reason.strip()}); "
                          "use an MP4, MOV, WebM, MKV or AVI file.")
    video = _VIDEO.search(text)
    if video is None:
        raise LganimError(f"'{path.name}' has no video stream; use a video file.")
    codec, coded_w, coded_h = video.group(1), int(video.group(2)), int(video.group(3))
    line = text[video.start():text.find("\n", video.start())]       # the video stream's line
    fps_match = _FPS.search(line)
    fps = float(fps_match.group(1)) * (1000 if fps_match.group(2) else 1) if fps_match else None
    rot_match = _ROTATION.search(text[video.start():])
    rotation = float(rot_match.group(1)) % 360 if rot_match else 0.0
    quarter_turns = int(round(rotation / 90)) % 2                     # ffmpeg autorotates by multiples of 90
    width, height = (coded_h, coded_w) if quarter_turns else (coded_w, coded_h)
    dur_match = _DURATION.search(text)
    duration = None
    if dur_match:
        duration = int(dur_match.group(1)) * 3600 + int(dur_match.group(2)) * 60 + float(dur_match.group(3))
    info = VideoInfo(width=width, height=height, duration=duration, fps=fps, has_audio=" Audio: " in text,
                     rotation=rotation, codec=codec)
    if width * height > MAX_PIXELS:
        raise LganimError(f"'{path.name}' is {width}x{height}; lganim accepts videos of up to {MAX_PIXELS:,} pixels "
                          "a frame (4096x2160); scale it down first.")
    if duration is not None and duration > MAX_SECONDS:
        raise LganimError(f"'{path.name}' lasts {duration:.0f} s; lganim accepts videos of up to {MAX_SECONDS:.0f} s; "
                          "trim it first.")
    return info


def _output_size(info: VideoInfo, max_side: int | None) -> tuple[int, int]:
    """(W, H) of the decoded frames: the upright size, shrunk so the longer side is at most max_side."""
    if max_side is not None and (not isinstance(max_side, int) or max_side < 16):
        raise LganimError(f"max_side must be an integer of at least 16 pixels, got {max_side!r}.")
    if max_side is None or max(info.width, info.height) <= max_side:
        return info.width, info.height
    s = max_side / max(info.width, info.height)
    return max(int(round(info.width * s)), 1), max(int(round(info.height * s)), 1)


class _StderrReader(threading.Thread):
    """Reads ffmpeg's stderr on a thread (so the pipes cannot deadlock): frame times from showinfo, and
    the last error line."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.times: list[float | None] = []      # presentation time of frame n, seconds (None: no pts)
        self.error = ""                          # last error-level message
        self.cond = threading.Condition()
        self.done = False

    def run(self):
        time_base = None
        try:
            for raw in self.stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if (m := _TIME_BASE.search(line)) is not None:
                    time_base = (int(m.group(1)), int(m.group(2)))
                elif (m := _SHOWINFO.search(line)) is not None and "pts_time:" in line:
                    t = None
                    if m.group(2) != "NOPTS" and time_base is not None and time_base[1] > 0:
                        t = int(m.group(2)) * time_base[0] / time_base[1]
                    with self.cond:
                        self.times.append(t)
                        self.cond.notify_all()
                elif "[error]" in line or "[fatal]" in line:
                    self.error = line.split("]")[-1].strip() or self.error
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def time_of(self, n: int) -> float | None:
        """The time of frame n, waiting for its showinfo line; None if ffmpeg ended without it."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.times) > n or self.done, timeout=60)
            return self.times[n] if len(self.times) > n else None


def iter_video(path: str | os.PathLike, max_side: int | None = None,
               info: VideoInfo | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Decode a video frame by frame: yields (presentation time in seconds, uint8 [H, W, 3] RGB frame).

    Every frame of the file comes out once, upright, with its own time (variable frame rates stay
    as they are); frames whose time is not after the previous frame's are skipped. `max_side`
    shrinks the frames (area filter) so the longer side is at most that many pixels. `info` skips
    probing when the caller already has it. Stopping the iteration early stops ffmpeg.

    Raises:
        LganimError: see `probe_video`; also when decoding fails, the file turns out truncated or
            damaged, no frame can be decoded, or the frames run past MAX_SECONDS.
    """
    path = _check_file(path)
    info = probe_video(path) if info is None else info
    width, height = _output_size(info, max_side)
    frame_bytes = width * height * 3
    cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info", *_input_args(path),
           "-map", "0:v:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
           "-vf", f"showinfo,scale={width}:{height}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader = _StderrReader(proc.stderr)
    reader.start()
    count, first, last = 0, None, -math.inf
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break                                # end of the stream (a partial frame is dropped)
            t = reader.time_of(count)
            count += 1
            if t is None:
                raise LganimError(f"Frame {count - 1} of '{path.name}' has no timestamp; re-encode the video "
                                  "(e.g. to MP4) and try again.")
            if t <= last:
                continue
            first = t if first is None else first
            if t - first > MAX_SECONDS:
                raise LganimError(f"'{path.name}' runs past {MAX_SECONDS:.0f} s; lganim accepts videos of up to "
                                  f"{MAX_SECONDS:.0f} s; trim it first.")
            last = t
            yield t, np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        reader.join(timeout=10)
        proc.stderr.close()
    if proc.returncode != 0:
        raise LganimError(f"ffmpeg could not decode '{path.name}' ({reader.error or f'exit {proc.returncode}'}); "
                          "the file may be damaged: re-encode it and try again.")
    if first is None:
        raise LganimError(f"No frame could be decoded from '{path.name}'; the file may be damaged: "
                          "re-encode it and try again.")
    # A truncated file with its index up front decodes "successfully" up to the cut: compare with the header.
    if reader.error and info.duration is not None and last - first < info.duration - max(1.0, 0.1 * info.duration):
        raise LganimError(f"Only {last - first:.1f} s of the {info.duration:.1f} s of '{path.name}' could be decoded "
                          f"({reader.error}); the file is truncated or damaged.")


def read_video(path: str | os.PathLike, max_side: int | None = None) -> VideoFrames:
    """Decode a whole video into memory: its true frames, upright, with their presentation times.

    Args:
        path: a video file (see FORMATS); at most MAX_SECONDS long and MAX_PIXELS a frame.
        max_side: shrink the frames so the longer side is at most this many pixels (faster tracking).

    Returns:
        VideoFrames with frames uint8 [T, H, W, 3], t float64 [T] seconds, fps = the average rate of
        those frames ((T - 1) / (t[-1] - t[0]); the header's rate for a single frame).

    Raises:
        LganimError: see `iter_video`; also when the decoded frames would exceed MAX_BYTES of memory.
    """
    info = probe_video(path)
    width, height = _output_size(info, max_side)
    limit = MAX_BYTES // (width * height * 3)                                  # most frames that fit
    if info.duration is not None and info.fps is not None and info.duration * info.fps > limit * 1.05:
        raise LganimError(f"Decoding '{Path(path).name}' at {width}x{height} needs about "
                          f"{info.duration * info.fps * width * height * 3 / 1024 ** 3:.1f} GiB; pass a smaller "
                          f"max_side or use a shorter clip.")
    times, frames = [], []
    for t, frame in iter_video(path, max_side=max_side, info=info):
        if len(frames) >= limit:
            raise LganimError(f"The frames of '{Path(path).name}' need more than {MAX_BYTES / 1024 ** 3:.0f} GiB; "
                              "pass a smaller max_side or use a shorter clip.")
        times.append(t)
        frames.append(frame)
    t = np.array(times, dtype=np.float64)
    fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 else (info.fps or 25.0)
    return VideoFrames(frames=np.stack(frames), t=t, fps=float(fps), info=info)


__all__ = ["VideoInfo", "VideoFrames", "probe_video", "iter_video", "read_video", "MAX_SECONDS", "MAX_PIXELS",
           "MAX_BYTES", "FORMATS"]
