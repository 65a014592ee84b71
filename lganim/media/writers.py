"""MP4 and GIF export of a frame sequence, with exactly T frames in the file.

Both formats go through the one ffmpeg runner (`ffmpeg.py`), fed raw RGB frames on its standard input (so the count
is the frames given, whatever the fps):

- MP4: libx264, yuv420p, `+faststart`. Frames can arrive in chunks (`Mp4Encoder`, `write_mp4_stream`), so a clip
  is encoded while it renders, in constant memory, and is playable as soon as its last frame is rendered. An audio
  track (any file ffmpeg reads: a sound, or the video an edited clip was made from) is muxed in afterwards without
  re-encoding the video: copied as it is where the MP4 holds its codec (AAC, MP3...), else as AAC, padded with
  silence or cut to the video's length, so the file keeps exactly T frames.
- GIF: made from a finished MP4 (`gif_from_mp4`, no frames in memory), one palette for the whole clip
  (palettegen/paletteuse), looping forever, every frame kept. Pillow is not used to write GIFs because it merges
  identical consecutive frames (a still first frame, or strength 0), which would change the frame count.
- A live view (`Mp4Recorder`): frames pushed as they are shown, with their times, encoded at a constant rate (each
  output frame shows what was on screen at its time).
- Two videos side by side (`side_by_side`: a driving video beside the face it drove).

Every write goes to a hidden temporary file in the target folder and is moved into place with
`os.replace` only when it succeeded, so a failed export never leaves a file that looks like a result.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import checks
from ..config import MAX_FPS
from ..errors import LganimError
from ..files import atomic_path, publish, temp_beside
from . import ffmpeg

MP4_SOUND_CODECS = ("aac", "mp3", "alac", "ac3", "eac3")    # sound an MP4 holds as it is: copied, never re-encoded


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


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so that H and W are even (yuv420p needs 2x2 chroma blocks)."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


class EncoderError(Exception):
    """ffmpeg refused or failed to encode."""


def _atomic_write(path: Path, write, max_bytes: int | None = None) -> Path:
    """Call `write(tmp_path)` on a temporary file beside `path`, then move it to `path`; a file larger than
    `max_bytes` is refused (and removed) instead."""
    if max_bytes is not None and max_bytes <= 0:
        raise _too_large(path, 0)
    try:
        with atomic_path(path, suffix=path.suffix.lower()) as tmp:
            write(str(tmp))
            size = tmp.stat().st_size
            if size == 0:
                raise EncoderError("the encoder wrote an empty file")
            if max_bytes is not None and size > max_bytes:
                raise _too_large(path, max_bytes)
    except (OSError, EncoderError) as err:                  # ffmpeg failed, or the disk: not the frames' source
        raise _write_error(path, err) from err
    return path


def _too_large(path: Path, max_bytes: int) -> LganimError:
    return LganimError(f"'{path.name}' would be larger than the {max_bytes / 1e6:.3g} MB this request may still "
                       f"write; make the clip shorter or smaller.")


def _size_limit(max_bytes: int | None) -> list[str]:
    """ffmpeg's output option that stops writing once the file is over `max_bytes` (then refused, not kept)."""
    return [] if max_bytes is None else ["-fs", str(max_bytes + 1)]


def _write_error(path: Path, err: Exception) -> LganimError:
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return LganimError(f"Could not write '{path.name}': {first_line}. Check the folder is writable and has space.")


def write_mp4_stream(chunks: Iterable, path, fps, audio: str | Path | None = None) -> tuple[Path, int]:
    """Encode chunks of frames (each uint8 [n, H, W, 3], all of one size) into an H.264 MP4 as they arrive: the
    file holds every frame given, once all chunks are written; nothing is left if a chunk fails (or the
    iteration stops early). Returns (the path, the number of frames)."""
    with Mp4Encoder(path, fps, audio) as encoder:
        for chunk in chunks:
            encoder.add(chunk)
    return encoder.path, encoder.frames


class Mp4Encoder:
    """An H.264 MP4 written while its frames arrive (`add`, chunk by chunk, in constant memory), published under
    its name by `finish` (the sound muxed in then), or removed by `abort`. As a context manager it finishes on
    success and aborts on any error, so a failure or an early stop never leaves a file that looks like a result.

    max_bytes: the most the file may grow to; past it the encoding stops with a one-line LganimError.
    """

    def __init__(self, path, fps, audio: str | Path | None = None, max_bytes: int | None = None):
        self.fps = _check_fps(fps)
        self.path = checks.output_file("The video file name", path, (".mp4",))
        if audio is not None and not Path(audio).is_file():
            raise LganimError(f"No audio file at '{Path(audio).name}'.")
        self.audio, self.max_bytes = audio, max_bytes
        self.frames, self.size = 0, None
        self.tmp = temp_beside(self.path, ".mp4")                    # the published file, muxed
        self.silent = temp_beside(self.path, ".mp4") if audio is not None else self.tmp   # the frames alone
        self.stream: ffmpeg.Stream | None = None

    @property
    def bytes_written(self) -> int:
        """What the encoder has written so far."""
        return self.silent.stat().st_size if self.stream is not None else 0

    def add(self, chunk) -> None:
        """Encode frames uint8 [n, H, W, 3] (every chunk of one size)."""
        chunk = _pad_even(_as_frames(chunk))
        if self.stream is None:
            self.size = (chunk.shape[2], chunk.shape[1])
            self.stream = ffmpeg.Stream(_mp4_args(str(self.silent), *self.size, self.fps), stdin=True)
        elif (chunk.shape[2], chunk.shape[1]) != self.size:
            raise LganimError(f"A chunk of frames is {chunk.shape[2]}x{chunk.shape[1]}, the video "
                              f"{self.size[0]}x{self.size[1]}")
        try:
            self.stream.proc.stdin.write(chunk.tobytes())
        except OSError as err:                                          # ffmpeg died (a full disk, a bad size)
            raise _write_error(self.path, EncoderError(ffmpeg.last_line(self.stream.proc.stderr.read()) or
                                                       str(err))) from err
        self.stream.alive()
        self.frames += chunk.shape[0]
        self._check_size(self.silent)

    def _check_size(self, path: Path) -> None:
        if self.max_bytes is not None and path.stat().st_size > self.max_bytes:
            raise LganimError(f"The video would be larger than the {self.max_bytes / 1e6:.0f} MB one request may "
                              f"write; make it shorter or smaller.")

    def finish(self) -> Path:
        """Close the encoder, mux the sound, and publish the file under its name; returns its path."""
        if self.stream is None:
            raise LganimError("A video needs at least one frame; none was given.")
        try:
            self.stream.proc.stdin.close()
            if self.stream.proc.wait() != 0:
                raise EncoderError(ffmpeg.last_line(self.stream.proc.stderr.read()) or "ffmpeg failed")
            self.stream.close()
            if self.audio is not None:
                mux_audio(self.silent, Path(self.audio), self.tmp)
            if self.tmp.stat().st_size == 0:
                raise EncoderError("the encoder wrote an empty file")
            self._check_size(self.tmp)
            publish(self.tmp, self.path)
        except (OSError, EncoderError) as err:
            self.abort()
            raise _write_error(self.path, err) from err
        except LganimError:
            self.abort()
            raise
        self._remove(self.silent)
        return self.path

    def abort(self) -> None:
        """Stop the encoder and remove what it wrote."""
        if self.stream is not None:
            self.stream.close()
        self._remove(self.tmp, self.silent)

    @staticmethod
    def _remove(*paths: Path) -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    def __enter__(self) -> "Mp4Encoder":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.finish()
        else:
            self.abort()


def _mp4_args(path: str, width: int, height: int, fps: float) -> list[str]:
    """ffmpeg's options that encode raw RGB frames from its stdin into an H.264 MP4 at `path`."""
    return ["-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", repr(fps), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            "-f", "mp4", path]


def mux_audio(video: Path, audio: Path, out: Path) -> None:
    """Copy `video`'s frames and `audio`'s first audio stream into `out`: the sound as it is where an MP4 holds its
    codec (MP4_SOUND_CODECS: copied, not re-encoded, and read only as long as the video lasts), else encoded as AAC,
    padded with silence or cut so that it lasts exactly as long as the video. Either way every frame is kept."""
    if ffmpeg.probe(audio).audio_codec in MP4_SOUND_CODECS:
        seconds = ffmpeg.probe(video).duration                  # no -shortest: a shorter sound would cut the video
        sound = [*(["-t", f"{seconds:.3f}"] if seconds else []), *ffmpeg.input_args(audio)]
        codec = ["-c:a", "copy"]
    else:
        sound, codec = ffmpeg.input_args(audio), ["-af", "apad", "-c:a", "aac", "-shortest"]
    cmd = ["-y", "-loglevel", "error", *ffmpeg.input_args(video), *sound, "-map", "0:v:0", "-map", "1:a:0",
           "-c:v", "copy", *codec, "-movflags", "+faststart", "-f", "mp4", str(out)]
    done = ffmpeg.run(cmd, f"the sound of '{Path(out).name}'")
    if done.returncode != 0:
        raise EncoderError(ffmpeg.last_line(done.stderr) or f"ffmpeg exited {done.returncode}")


class Mp4Recorder:
    """An MP4 of what a live view showed: `add(frame, t)` as each frame appears (uint8 [H, W, 3], all of one size,
    `t` in seconds, increasing), then `close()` (the file, complete) or `abort()` (no file). Output frame k shows the
    frame on screen at the first frame's time + k / fps; the last one shown stays for one output frame. Encoded as
    it is recorded (an `Mp4Encoder`), so a long recording holds one frame in memory; max_bytes as there."""

    def __init__(self, path, fps: float, max_bytes: int | None = None):
        self._encoder = Mp4Encoder(path, fps, max_bytes=max_bytes)
        self.path, self.fps = self._encoder.path, self._encoder.fps
        self._last: np.ndarray | None = None            # the frame on screen now
        self._t0: float | None = None                   # the first frame's time
        self._t: float | None = None                    # the last frame's time

    def add(self, frame, t: float) -> None:
        """The frame now on screen, shown at time `t` (seconds)."""
        frame = _as_frames(np.asarray(frame)[None])[0]
        t = checks.number("The frame time", t, -1e9, 1e9)
        if self._t is not None and t < self._t:
            raise LganimError(f"Recorded frames must come in time order: t = {t!r} s after {self._t!r} s.")
        if self._t0 is None:
            self._t0 = t
        else:                                           # the frame shown until now, for every output time before t
            self._hold(until=t)
        self._last, self._t = frame, t

    def _hold(self, until: float) -> None:
        try:
            while self._t0 + self._encoder.frames / self.fps < until:
                self._encoder.add(self._last[None])
        except BaseException:
            self.abort()
            raise

    def close(self) -> tuple[Path, int]:
        """Finish the file: (its path, its frame count). A recording of no frame is refused (and leaves no file)."""
        if self._last is None:
            self.abort()
            raise LganimError("Nothing was recorded: no frame was shown while recording.")
        self._hold(until=self._t0 + (self._encoder.frames + 1) / self.fps)   # the last frame, once
        return self._encoder.finish(), self._encoder.frames

    def abort(self) -> None:
        """Stop without a file."""
        self._encoder.abort()


def gif_from_mp4(mp4: str | Path, path: str | Path, max_bytes: int | None = None) -> Path:
    """A looping GIF of every frame of an MP4 (one palette for the clip, ordered dithering: fast), made by ffmpeg
    from the file (no frames in memory). Returns the path written. max_bytes: the most the file may take; a larger
    one is refused with a one-line LganimError and not kept."""
    mp4, path = Path(mp4), checks.output_file("The GIF file name", path, (".gif",))

    def write(tmp: str):
        graph = "[0:v:0]split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=bayer[gif]"
        cmd = ["-y", "-loglevel", "error", *ffmpeg.input_args(mp4), "-filter_complex", graph, "-map", "[gif]",
               "-fps_mode", "passthrough", "-loop", "0", *_size_limit(max_bytes), "-f", "gif", tmp]
        done = ffmpeg.run(cmd, f"'{path.name}'")
        if done.returncode != 0:
            raise EncoderError(ffmpeg.last_line(done.stderr) or f"ffmpeg exited {done.returncode}")

    return _atomic_write(path, write, max_bytes)


def side_by_side(left: str | Path, right: str | Path, path: str | Path, max_bytes: int | None = None) -> Path:
    """An MP4 of two videos side by side (the left one scaled to the right one's height and resampled to its frame
    rate), with the right one's sound; as long as the right one. Made by ffmpeg from the files, in constant memory.
    max_bytes as for `gif_from_mp4`."""
    left, right, path = Path(left), Path(right), checks.output_file("The video file name", path, (".mp4",))
    info = ffmpeg.probe(right, ffmpeg.VIDEO)
    fps = info.fps or 25.0
    height = info.height + info.height % 2

    def write(tmp: str):
        graph = (f"[0:v]scale=-2:{height},fps={fps!r},setsar=1[l];[1:v]scale=-2:{height},setsar=1[r];"
                 f"[l][r]hstack=inputs=2:shortest=1,pad=ceil(iw/2)*2:ih[v]")
        cmd = ["-y", "-loglevel", "error", *ffmpeg.input_args(left), *ffmpeg.input_args(right),
               "-filter_complex", graph, "-map", "[v]", *(["-map", "1:a:0", "-c:a", "copy"] if info.has_audio else []),
               "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", *_size_limit(max_bytes),
               "-f", "mp4", tmp]
        done = ffmpeg.run(cmd, f"'{path.name}'")
        if done.returncode != 0:
            raise EncoderError(ffmpeg.last_line(done.stderr) or f"ffmpeg exited {done.returncode}")

    return _atomic_write(path, write, max_bytes)


__all__ = ["write_mp4_stream", "Mp4Encoder", "Mp4Recorder", "gif_from_mp4", "side_by_side", "mux_audio",
           "MP4_SOUND_CODECS"]
