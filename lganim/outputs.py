"""The output stage: a request's stream of frames (plus its sound and motion track) into the files it asked for.

Every command and the app write through it:

    with OutputWriter(Outputs(videos=[out], gifs=[gif], strip=png), plan) as writer:
        for chunk in anim.render(plan):          # FrameChunk: frames uint8 [B, n, H, W, 3]
            writer.add(chunk)
    written = writer.written                     # the paths, the strip, first and last frames

- One MP4 per clip, encoded while the frames arrive (what stays in memory is one chunk, the strip's frames and the
  first and last frames), with the motion's sound (decoded samples, or a media file whose sound is copied as it is:
  an edited video's own); a clip asked for as a `.gif` is encoded to a temporary MP4 and
  turned into a GIF by ffmpeg from that file, so no path holds a whole clip in memory.
- GIFs of the first clips (`gifs`) and the driving video beside clip 0 (`beside`) are made from the finished MP4s.
- The frame strip (at most 8 evenly spaced frames per clip, one row per clip) as a PNG, the motion track as JSON
  and/or CSV (by suffix).
- `max_bytes` caps everything the request writes together: past it the writing stops with one line and nothing is
  left. A failure or an early stop (an error, Cancel) leaves no file that looks like a result.

`finish()` publishes the videos, the strip and the track files (leaving the `with` block without an error calls it);
`finish_derived()` then makes the GIFs and the side-by-side video (the app shows the clip before them). An error
inside the block removes everything written.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import checks
from .config import IMAGE_SUFFIXES, TRACK_SUFFIXES, VIDEO_SUFFIXES
from .errors import LganimError
from .files import atomic_path, temp_beside
from .media.audio import write_wav
from .media.preview import frame_strip, strip_indices
from .media.writers import Mp4Encoder, gif_from_mp4, side_by_side
from .plan import FrameChunk, Plan


@dataclass(frozen=True, kw_only=True)
class Outputs:
    """The files a request asked for; a path left out is not written. Every folder must exist."""

    videos: Sequence[Path | None]              # one per clip: .mp4 (with the motion's sound) or .gif (silent);
                                               # None: that clip is not written
    gifs: Sequence[Path] = ()                  # GIFs of the first len(gifs) clips, made from their MP4s
    strip: Path | None = None                  # a PNG (or JPEG/WebP): ≤8 evenly spaced frames per clip
    tracks: Sequence[Path] = ()                # the motion track that drove the face: .json and/or .csv
    beside: Path | None = None                 # an .mp4 of the driving video (`driving`) beside clip 0
    driving: Path | None = None                # the driving video shown in `beside`
    max_bytes: int | None = None               # the most all these files may take together

    def __post_init__(self):
        set_ = object.__setattr__                # frozen: normalised once, here
        set_(self, "videos", tuple(None if p is None else Path(p) for p in self.videos))
        set_(self, "gifs", tuple(Path(p) for p in self.gifs))
        set_(self, "tracks", tuple(Path(p) for p in self.tracks))
        for name in ("strip", "beside", "driving"):
            if getattr(self, name) is not None:
                set_(self, name, Path(getattr(self, name)))
        if not any(self.videos):
            raise LganimError("Give at least one video file to write.")
        named = ([(p, VIDEO_SUFFIXES) for p in self.videos if p is not None] + [(p, (".gif",)) for p in self.gifs]
                 + [(p, TRACK_SUFFIXES) for p in self.tracks]
                 + [(p, IMAGE_SUFFIXES) for p in (self.strip,) if p is not None]
                 + [(p, (".mp4",)) for p in (self.beside,) if p is not None])
        for path, kinds in named:
            checks.output_file("The output", path, kinds)
        if (self.beside is None) != (self.driving is None):
            raise LganimError("A side-by-side video needs both its file and the driving video.")


@dataclass
class Written:
    """What the output stage wrote, and the pictures a UI shows of it."""

    videos: list[Path | None]                  # one per clip, as asked (.mp4 or .gif; None: not written)
    frames: int                                # frames per clip
    fps: float
    strip: np.ndarray                          # uint8 [rows, cols, 3]: the frame strip (written if asked)
    first: np.ndarray                          # uint8 [B, H, W, 3]: frame 0 of every clip
    last: np.ndarray                           # uint8 [B, H, W, 3]: the last frame of every clip
    tracks: list[Path] = field(default_factory=list)
    strip_file: Path | None = None
    gifs: list[Path] = field(default_factory=list)
    beside: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """Every file written."""
        extra = [p for p in (self.strip_file, self.beside) if p is not None]
        return [*(p for p in self.videos if p is not None), *self.tracks, *extra, *self.gifs]


class OutputWriter:
    """Writes a plan's frames, as they arrive, into `outputs` (see the module doc). fps: the rate of the videos
    (default: the request's; a driven face's own times give another)."""

    def __init__(self, outputs: Outputs, plan: Plan, fps: float | None = None):
        request = plan.request
        if len(outputs.videos) != request.batch:
            raise LganimError(f"Give one video file per clip: {request.batch} clips, {len(outputs.videos)} files.")
        if len(outputs.gifs) > request.batch:
            raise LganimError(f"At most one GIF per clip: {request.batch} clips, {len(outputs.gifs)} GIFs.")
        if outputs.tracks and plan.motion.track is None:
            raise LganimError("This motion has no motion track to write (a track drives a face from a video, "
                              "speech or text).")
        self.outputs, self.plan = outputs, plan
        self.fps = float(fps or plan.fps)
        self.num_frames = request.num_frames
        self._shown = strip_indices(self.num_frames)
        self._picked: list[np.ndarray] = []      # the strip's frames, each [B, H, W, 3]
        self._first: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._done = 0
        self._derived = False
        self._published: list[Path] = []
        self._sound: Path | None = None          # the sound to mux: a hidden WAV beside the first video, or a file
        self._own_sound = True                   # the WAV is this writer's (removed after muxing)
        self._mp4s: list[Path | None] = []       # each clip's MP4: a .gif clip's is a hidden one beside it
        self._encoders: list[Mp4Encoder | None] = []
        self.written: Written | None = None
        try:
            self._open()
        except BaseException:
            self.abort()
            raise

    def _open(self) -> None:
        videos, sound = self.outputs.videos, self.plan.motion.audio
        for path in videos:
            self._mp4s.append(None if path is None else path if path.suffix.lower() == ".mp4" else
                              temp_beside(path, ".mp4"))
        if isinstance(sound, Path):                 # a media file whose sound is carried as it is (an edited video's)
            self._sound, self._own_sound = sound, False
        elif sound is not None and any(p is not None and p.suffix.lower() == ".mp4" for p in videos):
            self._sound = temp_beside(next(p for p in videos if p is not None), ".wav")
            write_wav(sound, self._sound)
        for mp4, path in zip(self._mp4s, videos):
            self._encoders.append(None if mp4 is None else Mp4Encoder(mp4, self.fps, self._sound if mp4 == path else
                                                                      None))

    @property
    def done(self) -> int:
        """Frames per clip written so far."""
        return self._done

    def add(self, chunk: FrameChunk) -> None:
        """The next frames of every clip (chunk.frames uint8 [B, n, H, W, 3], in time order)."""
        frames = chunk.frames
        n = frames.shape[1]
        for clip, encoder in zip(frames, self._encoders):
            if encoder is not None:
                encoder.add(clip)
        # copies: a view would keep the whole chunk alive
        self._picked += [frames[:, j - chunk.index].copy() for j in self._shown if chunk.index <= j < chunk.index + n]
        if chunk.index == 0:
            self._first = frames[:, 0].copy()
        self._last = frames[:, -1].copy()
        self._done = chunk.index + n
        self._check_bytes(sum(e.bytes_written for e in self._encoders if e is not None))

    def _check_bytes(self, size: int) -> None:
        limit = self.outputs.max_bytes
        if limit is not None and size > limit:
            raise LganimError(f"The files would be larger than the {limit / 1e6:.0f} MB one request may write; "
                              f"make it shorter or smaller.")

    def finish(self) -> Written:
        """Publish the videos (with the sound), the strip and the track files; returns what was written."""
        if self._first is None:
            raise LganimError("A video needs at least one frame; none was rendered.")
        out = self.outputs
        videos: list[Path | None] = []
        for encoder, path in zip(self._encoders, out.videos):
            if encoder is None:
                videos.append(None)
                continue
            mp4 = encoder.finish()
            if path.suffix.lower() == ".gif":
                videos.append(self._publish(gif_from_mp4(mp4, path)))
                mp4.unlink()
            else:
                videos.append(self._publish(mp4))
        self._remove_sound()
        strip = frame_strip(np.stack(self._picked, axis=1))                # [B, ≤8, H, W, 3] → one picture
        written = Written(videos, self._done, self.fps, strip, self._first, self._last)
        if out.strip is not None:
            with atomic_path(out.strip) as tmp:
                Image.fromarray(strip).save(tmp, format=Image.registered_extensions()[out.strip.suffix.lower()])
            written.strip_file = self._publish(out.strip)
        written.tracks = [self._publish(self.plan.motion.track.save(path)) for path in out.tracks]
        self._check_bytes(sum(p.stat().st_size for p in self._published))
        self.written = written
        return written

    def finish_derived(self) -> Written:
        """Make the GIFs and the side-by-side video from the finished MP4s (once); if that fails, none of them is
        left (the videos stay)."""
        written, out = self.written, self.outputs
        if written is None:
            raise LganimError("Finish the videos before the files made from them.")
        if self._derived:
            return written
        self._derived = True
        made: list[Path] = []

        def room() -> int | None:                # what the cap leaves: ffmpeg stops there, never writing past it
            return None if out.max_bytes is None else out.max_bytes - sum(p.stat().st_size for p in
                                                                          [*self._published, *made])
        try:
            for path, mp4 in zip(out.gifs, written.videos):
                if mp4 is None or mp4.suffix.lower() != ".mp4":
                    raise LganimError("A GIF is made from its clip's MP4: write that clip as .mp4.")
                made.append(gif_from_mp4(mp4, path, max_bytes=room()))
            if out.beside is not None:
                made.append(side_by_side(out.driving, written.videos[0], out.beside, max_bytes=room()))
            self._check_bytes(sum(p.stat().st_size for p in [*self._published, *made]))
        except BaseException:
            for path in made:
                path.unlink(missing_ok=True)
            raise
        written.gifs = made[:len(out.gifs)]
        written.beside = made[-1] if out.beside is not None else None
        self._published += made
        return written

    def _publish(self, path: Path) -> Path:
        self._published.append(path)
        return path

    def _remove_sound(self) -> None:
        if self._sound is not None and self._own_sound:
            self._sound.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop, and remove everything written (published files included)."""
        for encoder in self._encoders:
            if encoder is not None:
                encoder.abort()
        for path in [*self._published, *(p for p in self._mp4s if p is not None)]:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        self._remove_sound()
        self._published = []

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None and self.written is None:
            try:
                self.finish()
            except BaseException:
                self.abort()
                raise
        elif kind is not None:
            self.abort()


__all__ = ["Outputs", "OutputWriter", "Written"]
