"""Reading videos through imageio-ffmpeg's ffmpeg: true frames and times (also at variable frame rates),
display rotation, downscaling, limits read from the header, and refusal of files that are not videos."""
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from lganim.errors import LganimError
from lganim.media import video_reader
from lganim.media.video_reader import iter_video, probe_video, read_video

pytestmark = pytest.mark.slow                # every test here runs ffmpeg (a subprocess)

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg(*args):
    subprocess.run([FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def _frames(n=12, h=64, w=96) -> np.ndarray:
    """uint8 [n, h, w, 3]: frame i is grey level 5 i with a red top-left corner (to see rotations)."""
    frames = np.repeat((np.arange(n, dtype=np.uint8) * 5)[:, None, None, None], h * w * 3, 1).reshape(n, h, w, 3)
    frames[:, : h // 4, : w // 4] = (255, 0, 0)
    return frames


def _write(path, frames, *out_args, vf=None, fps=30, audio=False):
    """Encode numpy frames (losslessly, yuv444p) to `path`; `vf` e.g. re-times them with setpts."""
    n, h, w, _ = frames.shape
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-shortest", "-c:a", "aac"]
    cmd += (["-vf", vf] if vf else []) + ["-fps_mode", "passthrough", "-c:v", "libx264", "-qp", "0",
                                          "-pix_fmt", "yuv444p", *out_args, str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    return path


def test_constant_rate_video(tmp_path):
    frames = _frames()
    path = _write(tmp_path / "a.mp4", frames, audio=True)
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.rotation, info.codec) == (96, 64, 30.0, 0.0, "h264")
    assert info.has_audio and info.duration == pytest.approx(0.4, abs=0.05)
    video = read_video(path)
    assert video.frames.shape == (12, 64, 96, 3) and video.frames.dtype == np.uint8
    np.testing.assert_allclose(video.t, np.arange(12) / 30, atol=1e-9)
    assert video.fps == pytest.approx(30)
    assert np.abs(video.frames.astype(int) - frames).max() <= 3       # lossless up to the colour conversions
    assert not probe_video(_write(tmp_path / "b.mkv", frames)).has_audio


def test_variable_rate_video_gives_true_frames_and_times(tmp_path):
    # 24 frames 1/30 s apart, then 24 frames 0.1 s apart: 48 frames over 3.13 s.
    frames = _frames(48)
    path = _write(tmp_path / "vfr.mp4", frames, vf="setpts='if(lt(N,24),N,24+3*(N-24))'")
    video = read_video(path)
    expected = np.where(np.arange(48) < 24, np.arange(48) / 30, 0.8 + (np.arange(48) - 24) * 0.1)
    assert len(video) == 48
    np.testing.assert_allclose(video.t, expected, atol=1e-9)
    np.testing.assert_allclose(video.frames[:, 40, 60, 1], np.arange(48) * 5, atol=3)   # each frame once, in order
    assert video.fps == pytest.approx(47 / 3.1)
    # A constant-rate reader invents frames here; the true count differs.
    cfr = imageio_ffmpeg.read_frames(str(path))
    meta = next(cfr)
    assert sum(1 for _ in cfr) != 48 and meta["fps"] != pytest.approx(video.fps)


@pytest.mark.parametrize("rotation, turns", [(90, 1), (-90, -1), (180, 2)])
def test_display_rotation_is_applied(tmp_path, rotation, turns):
    frames = _frames(3)
    plain = _write(tmp_path / "plain.mp4", frames)
    rotated = tmp_path / "rotated.mp4"
    _ffmpeg("-display_rotation", str(rotation), "-i", str(plain), "-c", "copy", str(rotated))
    info = probe_video(rotated)
    assert info.rotation == pytest.approx(rotation % 360)
    video = read_video(rotated)
    upright = np.rot90(frames, turns, axes=(1, 2))                     # counter-clockwise for turns > 0
    assert (info.width, info.height) == (upright.shape[2], upright.shape[1])
    assert video.frames.shape == upright.shape
    assert np.abs(video.frames.astype(int) - upright).max() <= 3


def test_max_side_downscales(tmp_path):
    path = _write(tmp_path / "a.mp4", _frames(2, h=120, w=200))
    video = read_video(path, max_side=50)
    assert video.frames.shape == (2, 30, 50, 3)
    assert read_video(path, max_side=500).frames.shape == (2, 120, 200, 3)       # never enlarged


def test_stopping_early_stops_ffmpeg(tmp_path):
    path = _write(tmp_path / "a.mp4", _frames(30))
    frames = iter_video(path)
    t0, first = next(frames)
    assert t0 == 0 and first.shape == (64, 96, 3)
    frames.close()                                                      # kills ffmpeg, no hang


def test_limits_are_checked_from_the_header(tmp_path):
    big = tmp_path / "8k.mp4"
    _ffmpeg("-f", "lavfi", "-i", "color=size=7680x4320:rate=1:duration=1", "-c:v", "libx264", "-preset",
            "ultrafast", str(big))
    with pytest.raises(LganimError, match="7680x4320.*4096x2160"):
        probe_video(big)
    long = tmp_path / "long.mp4"          # two frames two hours apart: a two-hour video in a few bytes
    _ffmpeg("-f", "lavfi", "-i", "color=size=32x32:rate=1:duration=2", "-vf", "setpts=N*7200/TB",
            "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", str(long))
    with pytest.raises(LganimError, match="7201 s.*600 s"):
        read_video(long)


def test_memory_limit(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.mp4", _frames(30))
    monkeypatch.setattr(video_reader, "MAX_BYTES", 96 * 64 * 3 * 10)
    with pytest.raises(LganimError, match="max_side"):
        read_video(path)


def test_files_that_are_not_videos(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a video\n" * 100)
    renamed = tmp_path / "notes.mp4"
    renamed.write_bytes(text.read_bytes())
    audio = tmp_path / "sound.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(audio))
    playlist = tmp_path / "list.mp4"       # an ffconcat script named like a video must not be followed
    playlist.write_text(f"ffconcat version 1.0\nfile '{_write(tmp_path / 'x.mp4', _frames(2))}'\n")
    cases = {text: "not a video", renamed: "not a video", audio: "no video stream", playlist: "not a video",
             tmp_path / "missing.mp4": "does not exist", tmp_path: "does not exist"}
    for path, match in cases.items():
        with pytest.raises(LganimError, match=match):
            read_video(path)


def test_truncated_files(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (60, 64, 96, 3), dtype=np.uint8)   # noise: a big file
    for name, args, match in [("end.mp4", [], "not a video"),                  # index at the end: unreadable
                              ("start.mp4", ["-movflags", "+faststart"], "truncated")]:   # decodes up to the cut
        path = _write(tmp_path / name, frames, *args)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(LganimError, match=match) as info:
            read_video(path)
        assert "\n" not in str(info.value)
