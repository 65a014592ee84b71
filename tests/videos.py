"""Videos in tests: writing frames the tests made (through the library's own encoders) and counting what a written
file holds, as a user's player would."""
import re
from pathlib import Path

import numpy as np
from PIL import Image

from lganim.media import ffmpeg
from lganim.media.writers import gif_from_mp4, write_mp4_stream

FRAME_COUNT = re.compile(r"frame=\s*(\d+)")


def write_clip(frames, path, fps, audio=None) -> Path:
    """Frames uint8 [T, H, W, 3] as an MP4 (with `audio`, a sound file) or, by suffix, a GIF made from one."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        mp4 = write_mp4_stream([np.asarray(frames)], path.with_suffix(".source.mp4"), fps)[0]
        gif_from_mp4(mp4, path)
        mp4.unlink()
        return path
    return write_mp4_stream([frames], path, fps, audio)[0]


def count_frames(path) -> int:
    """Frames of an MP4 (decoded by ffmpeg) or a GIF (read by Pillow)."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        with Image.open(path) as im:
            return int(im.n_frames)
    done = ffmpeg.run([*ffmpeg.input_args(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], path.name)
    counts = FRAME_COUNT.findall(done.stderr.decode(errors="replace"))
    assert done.returncode == 0 and counts, f"{path.name} is not a readable MP4"
    return int(counts[-1])
