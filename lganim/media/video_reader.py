"""Reading videos: their true frames and presentation times, through the one ffmpeg runner (`ffmpeg.py`).

The header is read first (`probe_video`) and limits (length, resolution) are checked there before anything is
decoded. Decoding then runs ffmpeg with:

- `-fps_mode passthrough`: every decoded frame comes out once, so a variable-frame-rate clip gives
  its true frames (a constant-rate conversion would duplicate or drop some);
- `-vf showinfo`: logs each frame's pts and the stream time base on stderr, from which the frame's
  time in seconds is exact (pts * time base);
- a final `scale=W:H` to the size computed from the header, so the raw RGB frames on stdout have a
  known shape. ffmpeg applies a display rotation (phone videos) before the filters, so W and H are
  the upright ones (swapped for 90/270 degrees).
"""
from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import MAX_VIDEO_PIXELS, MAX_VIDEO_SECONDS
from ..errors import LganimError
from . import ffmpeg
from .ffmpeg import MediaInfo

MAX_BYTES = 4 * 1024 ** 3           # largest accepted set of decoded frames in `read_video`

_TIME_BASE = re.compile(r"config in time_base: (\d+)/(\d+)")
_SHOWINFO = re.compile(r"\bn:\s*(\d+) pts:\s*(-?\d+|NOPTS)")


@dataclass
class VideoFrames:
    """Decoded frames: uint8 [T, H, W, 3] RGB, their presentation times float64 [T] in seconds (strictly
    increasing), the average frame rate over them, and the header they came from."""

    frames: np.ndarray
    t: np.ndarray
    fps: float
    info: MediaInfo

    def __len__(self) -> int:
        return len(self.frames)


def probe_video(path: str | os.PathLike) -> MediaInfo:
    """Read the header of a video file and check it against MAX_VIDEO_SECONDS and MAX_VIDEO_PIXELS.

    Raises:
        LganimError: the file is missing, is not a video ffmpeg can open (or not in ffmpeg.FORMATS), has no
            video stream, or is longer or larger than the limits.
    """
    path = Path(path)
    info = ffmpeg.probe(path, ffmpeg.VIDEO)
    if not info.has_video:
        raise LganimError(f"'{path.name}' has no video stream; use a video file.")
    if info.width * info.height > MAX_VIDEO_PIXELS:
        raise LganimError(f"'{path.name}' is {info.width}x{info.height}; lganim accepts videos of up to "
                          f"{MAX_VIDEO_PIXELS:,} pixels a frame (4096x2160); scale it down first.")
    if info.duration is not None and info.duration > MAX_VIDEO_SECONDS:
        raise LganimError(f"'{path.name}' lasts {info.duration:.0f} s; lganim accepts videos of up to "
                          f"{MAX_VIDEO_SECONDS:.0f} s; trim it first.")
    return info


def output_size(info: MediaInfo, max_side: int | None) -> tuple[int, int]:
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
               info: MediaInfo | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Decode a video frame by frame: yields (presentation time in seconds, uint8 [H, W, 3] RGB frame).

    Every frame of the file comes out once, upright, with its own time (variable frame rates stay
    as they are); frames whose time is not after the previous frame's are skipped. `max_side`
    shrinks the frames (area filter) so the longer side is at most that many pixels. `info` skips
    probing when the caller already has it. Stopping the iteration early stops ffmpeg.

    Raises:
        LganimError: see `probe_video`; also when decoding fails or stalls, the file turns out truncated or
            damaged, no frame can be decoded, or the frames run past MAX_VIDEO_SECONDS.
    """
    path = Path(path)
    info = probe_video(path) if info is None else info
    width, height = output_size(info, max_side)
    frame_bytes = width * height * 3
    cmd = ["-nostats", "-loglevel", "level+info", *ffmpeg.input_args(path),
           "-map", "0:v:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
           "-vf", f"showinfo,scale={width}:{height}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    count, first, last = 0, None, -math.inf
    with ffmpeg.Stream(cmd, stdout=True) as decoder:
        proc = decoder.proc
        reader = _StderrReader(proc.stderr)
        reader.start()
        while True:
            buf = proc.stdout.read(frame_bytes)
            decoder.alive()
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
            if t - first > MAX_VIDEO_SECONDS:
                raise LganimError(f"'{path.name}' runs past {MAX_VIDEO_SECONDS:.0f} s; lganim accepts videos of up "
                                  f"to {MAX_VIDEO_SECONDS:.0f} s; trim it first.")
            last = t
            yield t, np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    if decoder.stalled:
        raise LganimError(f"ffmpeg stopped making progress on '{path.name}' and was stopped; re-encode the video "
                          "(e.g. to MP4) and try again.")
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
        path: a video file (see ffmpeg.FORMATS); at most MAX_VIDEO_SECONDS long and MAX_VIDEO_PIXELS a frame.
        max_side: shrink the frames so the longer side is at most this many pixels (faster tracking).

    Returns:
        VideoFrames with frames uint8 [T, H, W, 3], t float64 [T] seconds, fps = the average rate of
        those frames ((T - 1) / (t[-1] - t[0]); the header's rate for a single frame).

    Raises:
        LganimError: see `iter_video`; also when the decoded frames would exceed MAX_BYTES of memory.
    """
    info = probe_video(path)
    width, height = output_size(info, max_side)
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


__all__ = ["VideoFrames", "probe_video", "output_size", "iter_video", "read_video", "MAX_BYTES"]
