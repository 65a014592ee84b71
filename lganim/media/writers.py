"""MP4 and GIF export of a frame sequence, with exactly T frames in the file.

Both formats go through the one ffmpeg runner (`ffmpeg.py`), fed raw RGB frames on its standard input (so the count
is the frames given, whatever the fps):

- MP4: libx264, yuv420p, `+faststart`. Frames can arrive in chunks (`write_mp4_stream`), so a long driven clip is
  encoded while it renders, in constant memory. An audio track (any file ffmpeg reads) is muxed in afterwards
  without re-encoding the video: AAC, padded with silence or cut to the video's length, so the file keeps exactly
  T frames.
- a live view (`Mp4Recorder`): frames pushed as they are shown, with their times, encoded at a constant rate (each
  output frame shows what was on screen at its time) by `write_mp4_stream` in a thread.
- GIF: one palette for the whole clip (palettegen/paletteuse), looping forever. Pillow is not used to write GIFs
  because it merges identical consecutive frames (a still first frame, or strength 0), which would change the
  frame count.

Every write goes to a hidden temporary file in the target folder and is moved into place with
`os.replace` only when it succeeded, so a failed export never leaves a file that looks like a result.
"""
from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import checks
from ..config import MAX_FPS, VIDEO_SUFFIXES
from ..errors import LganimError
from ..files import atomic_path, temp_beside
from . import ffmpeg

_FRAME_COUNT = re.compile(r"frame=\s*(\d+)")


def _as_frames(frames) -> np.ndarray:
    """Validate `frames` (numpy or torch, uint8 [T, H, W, 3]) and return a C-contiguous numpy array."""
    if hasattr(frames, "detach"):  # a torch.Tensor; torch itself is not imported by this module
        if str(frames.dtype) != "torch.uint8":
            raise LganimError(f"Video frames must be uint8 in [0, 255], got {frames.dtype}; "
                              "convert them with (x.clamp(-1, 1) + 1) * 127.5 and .to(torch.uint8).")
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise LganimError(f"Video frames must be uint8 in [0, 255], got {frames.dtype}; "
                          "convert them before writing.")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise LganimError(f"Video frames must have shape [T, H, W, 3] (RGB), got {list(frames.shape)}.")
    if frames.shape[0] < 1 or frames.shape[1] < 1 or frames.shape[2] < 1:
        raise LganimError(f"A video needs at least one non-empty frame, got shape {list(frames.shape)}.")
    return np.ascontiguousarray(frames)


def _check_fps(fps) -> float:
    return checks.number("fps", fps, 1, MAX_FPS)


def _check_path(path, suffix: str | None = None) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES or (suffix is not None and path.suffix.lower() != suffix):
        wanted = suffix or " or ".join(VIDEO_SUFFIXES)
        raise LganimError(f"The video file name must end in {wanted}, got '{path.name}'.")
    if path.is_dir():
        raise LganimError(f"'{path}' is a folder; give a file name ending in {path.suffix.lower()}.")
    if not path.parent.is_dir():
        raise LganimError(f"The folder '{path.parent}' does not exist; create it first.")
    return path


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so that H and W are even (yuv420p needs 2x2 chroma blocks)."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


class EncoderError(Exception):
    """ffmpeg refused or failed to encode."""


def _atomic_write(path: Path, write) -> Path:
    """Call `write(tmp_path)` on a temporary file beside `path`, then move it to `path`."""
    try:
        with atomic_path(path, suffix=path.suffix.lower()) as tmp:
            write(str(tmp))
            if tmp.stat().st_size == 0:
                raise EncoderError("the encoder wrote an empty file")
    except (OSError, EncoderError) as err:                  # ffmpeg failed, or the disk: not the frames' source
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise LganimError(f"Could not write '{path}': {first_line}. Check the folder is writable and has space.") \
            from err
    return path


def write_mp4(frames, path, fps, audio: str | Path | None = None) -> Path:
    """Write `frames` (uint8 [T, H, W, 3], numpy or torch) to an H.264 MP4 with exactly T frames.

    Odd heights/widths are padded by one repeated row/column (yuv420p needs even sizes). audio: a file whose
    first audio stream becomes the video's sound (padded or cut to T / fps). Returns the path written.
    """
    return write_mp4_stream([_as_frames(frames)], path, fps, audio)[0]


def write_mp4_stream(chunks: Iterable, path, fps, audio: str | Path | None = None) -> tuple[Path, int]:
    """Encode chunks of frames (each uint8 [n, H, W, 3], all of one size) into an H.264 MP4 as they arrive: the
    file holds every frame given, once all chunks are written; nothing is left if a chunk fails (or the
    iteration stops early). Returns (the path, the number of frames)."""
    fps = _check_fps(fps)
    path = _check_path(path, ".mp4")
    if audio is not None and not Path(audio).is_file():
        raise LganimError(f"No audio file at '{audio}'.")
    count = 0

    def write(tmp: str):
        nonlocal count
        silent = tmp if audio is None else str(temp_beside(Path(tmp), ".mp4"))   # the frames, before the sound
        encoder, size = None, None
        try:
            for chunk in chunks:
                chunk = _pad_even(_as_frames(chunk))
                if encoder is None:
                    size = (chunk.shape[2], chunk.shape[1])
                    encoder = ffmpeg.Stream(_mp4_args(silent, *size, fps), stdin=True)
                elif (chunk.shape[2], chunk.shape[1]) != size:
                    raise LganimError(f"A chunk of frames is {chunk.shape[2]}x{chunk.shape[1]}, the video "
                                      f"{size[0]}x{size[1]}")
                encoder.proc.stdin.write(chunk.tobytes())
                encoder.alive()
                count += chunk.shape[0]
            if encoder is None:
                raise LganimError("A video needs at least one frame; none was given.")
            encoder.proc.stdin.close()
            if encoder.proc.wait() != 0:
                raise EncoderError(ffmpeg.last_line(encoder.proc.stderr.read()) or "ffmpeg failed")
            if audio is not None:
                mux_audio(Path(silent), Path(audio), Path(tmp))
        finally:
            if encoder is not None:
                encoder.close()
            if silent != tmp:
                Path(silent).unlink(missing_ok=True)

    return _atomic_write(path, write), count


def _mp4_args(path: str, width: int, height: int, fps: float) -> list[str]:
    """ffmpeg's options that encode raw RGB frames from its stdin into an H.264 MP4 at `path`."""
    return ["-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", repr(fps), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-f", "mp4", path]


def mux_audio(video: Path, audio: Path, out: Path) -> None:
    """Copy `video`'s frames and `audio`'s first audio stream (as AAC) into `out`; the sound is padded with silence
    or cut so that it lasts exactly as long as the video."""
    cmd = ["-y", "-loglevel", "error", *ffmpeg.input_args(video), *ffmpeg.input_args(audio),
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-af", "apad", "-c:a", "aac", "-shortest",
           "-movflags", "+faststart", "-f", "mp4", str(out)]
    done = ffmpeg.run(cmd, f"the sound of '{Path(out).name}'")
    if done.returncode != 0:
        raise EncoderError(ffmpeg.last_line(done.stderr) or f"ffmpeg exited {done.returncode}")


class _Aborted(Exception):
    """Raised into the encoder's frames to stop a recording without a file."""


class Mp4Recorder:
    """An MP4 of what a live view showed: `add(frame, t)` as each frame appears (uint8 [H, W, 3], all of one size,
    `t` in seconds, increasing), then `close()` (the file, complete) or `abort()` (no file). Output frame k shows the
    frame on screen at the first frame's time + k / fps; the last one shown stays for one output frame."""

    def __init__(self, path, fps: float):
        self.path, self.fps = _check_path(path, ".mp4"), _check_fps(fps)
        self._queue: queue.Queue = queue.Queue(maxsize=max(2, round(2 * self.fps)))   # ~2 s of frames waiting
        self._last: np.ndarray | None = None
        self._t0: float | None = None                   # the first frame's time
        self._t: float | None = None                    # the last frame's time
        self._written = 0                               # output frames handed to the encoder
        self._error: BaseException | None = None
        self._result: tuple[Path, int] | None = None
        self._thread = threading.Thread(target=self._encode, daemon=True)
        self._thread.start()

    def _frames(self):
        while (item := self._queue.get()) is not None:
            if item is _Aborted:
                raise _Aborted
            yield item

    def _encode(self) -> None:
        try:
            self._result = write_mp4_stream(self._frames(), self.path, self.fps)
        except BaseException as e:                      # kept for the caller's thread (an abort included)
            self._error = e

    def _emit(self, until: float) -> None:
        """Hand the encoder the last frame for every output frame whose time is before `until`."""
        while self._t0 + self._written / self.fps < until:
            self._put(self._last[None])
            self._written += 1

    def _put(self, item) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        self._raise()

    def _raise(self) -> None:
        if isinstance(self._error, LganimError):
            raise self._error
        raise LganimError(f"Could not record '{self.path.name}': {self._error or 'the encoder stopped'}.")

    def add(self, frame, t: float) -> None:
        """The frame now on screen, shown at time `t` (seconds)."""
        frame = _as_frames(np.asarray(frame)[None])[0]
        t = checks.number("The frame time", t, -1e9, 1e9)
        if self._t is not None and t < self._t:
            raise LganimError(f"Recorded frames must come in time order: t = {t!r} s after {self._t!r} s.")
        if self._t0 is None:
            self._t0 = t
        else:
            self._emit(t)
        self._last, self._t = frame, t

    def close(self) -> tuple[Path, int]:
        """Finish the file: (its path, its frame count). A recording of no frame is refused (and leaves no file)."""
        if self._last is None:
            self.abort()
            raise LganimError("Nothing was recorded: no frame was shown while recording.")
        self._put(self._last[None])
        self._written += 1
        self._put(None)
        self._thread.join()
        if self._result is None:
            self._raise()
        return self._result

    def abort(self) -> None:
        """Stop without a file."""
        if self._thread.is_alive():
            self._put(_Aborted)
            self._thread.join()


def write_gif(frames, path, fps) -> Path:
    """Write `frames` (uint8 [T, H, W, 3], numpy or torch) to a looping GIF with exactly T frames.

    One palette is computed over the whole clip. GIF delays are whole centiseconds; ffmpeg
    alternates them so the average rate is `fps` (browsers slow down delays under 2 cs, so GIFs
    above 50 fps play slower than asked). Returns the path written.
    """
    frames = _as_frames(frames)
    fps = _check_fps(fps)
    path = _check_path(path, ".gif")
    num_frames, height, width, _ = frames.shape

    def write(tmp: str):
        cmd = ["-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", repr(fps), "-i", "-",
               "-filter_complex", "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse",
               "-frames:v", str(num_frames), "-loop", "0", "-f", "gif", tmp]
        done = ffmpeg.run(cmd, f"'{path.name}'", stdin=frames.tobytes())
        if done.returncode != 0:
            raise EncoderError(ffmpeg.last_line(done.stderr) or f"ffmpeg exited {done.returncode}")

    return _atomic_write(path, write)


def write_video(frames, path, fps, audio: str | Path | None = None) -> Path:
    """Write `frames` (uint8 [T, H, W, 3]) as MP4 (with `audio`, if given) or GIF (silent), chosen by the suffix."""
    suffix = _check_path(path).suffix.lower()
    return write_mp4(frames, path, fps, audio) if suffix == ".mp4" else write_gif(frames, path, fps)


def count_frames(path) -> int:
    """Number of frames in an MP4 (decoded by ffmpeg) or GIF (read by Pillow)."""
    path = Path(path)
    if not path.is_file():
        raise LganimError(f"No video file at '{path}'.")
    suffix = path.suffix.lower()
    if suffix == ".gif":
        from PIL import Image
        with Image.open(path) as im:
            return int(im.n_frames)
    if suffix == ".mp4":
        done = ffmpeg.run([*ffmpeg.input_args(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                          f"'{path.name}'")
        counts = _FRAME_COUNT.findall(done.stderr.decode(errors="replace"))
        if done.returncode != 0 or not counts:
            raise LganimError(f"ffmpeg could not read '{path}'; it is not a valid MP4.")
        return int(counts[-1])
    raise LganimError(f"Can only count frames of .mp4 or .gif files, got '{path.name}'.")


__all__ = ["write_mp4", "write_mp4_stream", "Mp4Recorder", "write_gif", "write_video", "mux_audio", "count_frames"]
