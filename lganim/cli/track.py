"""`track`: the face of a video as a motion track file. Imports no torch (numpy, dlib, Pillow and ffmpeg only), so
the command starts at once."""
from __future__ import annotations

from pathlib import Path

from ..tracks.video import track_video
from .progress import stage_bars


def track(args, video: Path) -> int:
    with stage_bars() as progress:
        result = track_video(video, neutral=args.neutral, smooth=args.smooth,
                             progress=lambda done, total: progress("tracking the face", done, total)).track
    result.save(args.out)
    print(f"wrote {args.out} ({len(result)} samples over {result.duration:.2f} s, {result.fps:.3f} fps average, "
          f"{100 * result.valid.mean():.0f} % with the face found)")
    return 0


__all__ = ["track"]
