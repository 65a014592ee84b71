import os
import re
import subprocess
import wave

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image

from lganim.errors import LganimError
from lganim.media import ffmpeg
from lganim.media.video_reader import read_video
from lganim.media.writers import Mp4Encoder, Mp4Recorder, gif_from_mp4, side_by_side, write_mp4_stream
from tests.videos import count_frames, write_clip

pytestmark = pytest.mark.slow                # every test here runs ffmpeg (a subprocess)


def ramp(num_frames, height=32, width=32):
    """uint8 [T, H, W, 3]: frame t is a flat grey of level 16 * t (distinct, easy to identify)."""
    levels = (np.arange(num_frames) * 16 % 256).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (num_frames, height, width, 3)).copy()


def write_mp4(frames, path, fps, audio=None):
    """One MP4 of `frames` through the streaming encoder (one chunk)."""
    return write_mp4_stream([frames], path, fps, audio)[0]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("fps", [6, 12, 15, 24, 30])
@pytest.mark.parametrize("num_frames", [1, 2, 12, 13])
def test_frame_count_is_exact(tmp_path, num_frames, fps):
    frames = ramp(num_frames)
    mp4 = write_mp4(frames, tmp_path / "a.mp4", fps)
    assert count_frames(mp4) == num_frames
    assert count_frames(gif_from_mp4(mp4, tmp_path / "a.gif")) == num_frames
    assert leftovers(tmp_path) == []


def test_duration_rounding_case_that_loses_a_frame_with_t_over_fps(tmp_path):
    # int((61 / 7) * 7) == 60 in floating point: the plain with_duration(T / fps) fix fails here.
    assert int((61 / 7) * 7) == 60
    assert count_frames(write_mp4(ramp(61, 16, 16), tmp_path / "a.mp4", 7)) == 61


def test_mp4_frames_are_in_order(tmp_path):
    frames = ramp(13)
    path = write_mp4(frames, tmp_path / "a.mp4", 15)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == (32, 32)
    decoded = [np.frombuffer(buf, np.uint8).reshape(32, 32, 3) for buf in reader]
    assert len(decoded) == 13
    means = np.array([d.astype(float).mean() for d in decoded])
    np.testing.assert_allclose(means, frames.reshape(13, -1).mean(1), atol=3)


def test_gif_keeps_identical_frames_loops_and_timing(tmp_path):
    frames = np.zeros((5, 32, 32, 3), np.uint8)
    frames[3:, :, :16] = (255, 0, 0)
    path = gif_from_mp4(write_mp4(frames, tmp_path / "still.mp4", 10), tmp_path / "still.gif")
    with Image.open(path) as im:
        assert im.n_frames == 5
        assert im.info["loop"] == 0
        delays, firsts = [], []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
            firsts.append(tuple(np.asarray(im.convert("RGB"))[0, 0]))
    assert delays == [100] * 5
    assert firsts[:3] == [(0, 0, 0)] * 3
    assert all(r > 200 and g < 50 and b < 50 for r, g, b in firsts[3:])


def test_odd_sizes_and_torch_input(tmp_path):
    frames = torch.from_numpy(ramp(3, 63, 65))
    mp4 = write_mp4(frames, tmp_path / "odd.mp4", 12)
    gif = gif_from_mp4(mp4, tmp_path / "odd.gif")
    assert count_frames(mp4) == 3 and count_frames(gif) == 3
    assert tuple(next(imageio_ffmpeg.read_frames(str(mp4)))["size"]) == (66, 64)  # (W, H) padded to even
    with Image.open(gif) as im:
        assert im.size == (66, 64)                                                    # the MP4's frames


def test_overwrites_an_existing_result(tmp_path):
    path = tmp_path / "a.mp4"
    write_mp4(ramp(2), path, 12)
    write_mp4(ramp(5), path, 12)
    assert count_frames(path) == 5
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 8, 8, 3), np.float32), "uint8"),
    (torch.zeros(2, 8, 8, 3), "uint8"),
    (np.zeros((8, 8, 3), np.uint8), "shape"),
    (np.zeros((2, 8, 8, 4), np.uint8), "shape"),
    (np.zeros((0, 8, 8, 3), np.uint8), "at least one"),
])
def test_bad_frames(tmp_path, bad, message):
    with pytest.raises(LganimError, match=message):
        write_mp4(bad, tmp_path / "a.mp4", 12)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [0, 61, -5, float("nan"), "12", True])
def test_bad_fps(tmp_path, fps):
    with pytest.raises(LganimError, match="fps"):
        write_mp4(ramp(2), tmp_path / "a.mp4", fps)
    assert list(tmp_path.iterdir()) == []


def test_bad_suffix(tmp_path):
    with pytest.raises(LganimError, match=r"\.mp4"):
        write_mp4(ramp(2), tmp_path / "a.avi", 12)
    mp4 = write_mp4(ramp(2), tmp_path / "a.mp4", 12)
    with pytest.raises(LganimError, match=r"\.gif"):
        gif_from_mp4(mp4, tmp_path / "b.png")


def test_missing_folder_leaves_nothing(tmp_path):
    with pytest.raises(LganimError, match="does not exist"):
        write_mp4(ramp(2), tmp_path / "nope" / "a.mp4", 12)
    assert list(tmp_path.iterdir()) == []


def test_path_is_a_folder(tmp_path):
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(LganimError, match="is a folder"):
        write_mp4(ramp(2), tmp_path / "dir.mp4", 12)
    assert [p.name for p in tmp_path.iterdir()] == ["dir.mp4"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_unwritable_folder_leaves_nothing(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(LganimError, match="Could not write"):
            write_mp4(ramp(2), folder / "a.mp4", 12)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_encoder_failure_removes_temp_file(tmp_path, monkeypatch):
    # An ffmpeg that cannot start: the write fails after the temporary file was created.
    mp4 = write_mp4(ramp(2), tmp_path / "a.mp4", 12)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(tmp_path / "no-ffmpeg"))
    with pytest.raises(LganimError, match="Could not write"):
        gif_from_mp4(mp4, tmp_path / "a.gif")
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]


def write_tone(path, seconds, rate=16000):
    """A 220 Hz tone as a 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def stream_durations(path):
    """{"video": seconds, "audio": seconds} of an MP4, read from ffmpeg's decoding of each stream."""
    out = {}
    for kind, select in (("video", "0:v:0"), ("audio", "0:a:0")):
        done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", select,
                               "-f", "null", "-"], capture_output=True, text=True)
        times = re.findall(r"time=(\d+):(\d+):([\d.]+)", done.stderr)
        h, m, s = times[-1]
        out[kind] = int(h) * 3600 + int(m) * 60 + float(s)
    return out


@pytest.mark.parametrize("audio_seconds", [0.5, 1.0, 2.0])    # shorter, as long as, longer than the video
def test_audio_is_muxed_to_the_video_length_and_every_frame_stays(tmp_path, audio_seconds):
    fps, num_frames = 12, 12                                   # 1 s of video
    tone = write_tone(tmp_path / "tone.wav", audio_seconds)
    path = write_mp4(ramp(num_frames), tmp_path / "a.mp4", fps, audio=tone)
    assert count_frames(path) == num_frames
    durations = stream_durations(path)
    assert abs(durations["audio"] - num_frames / fps) <= 1 / fps    # padded or cut to the video, within a frame
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("audio_seconds", [0.5, 2.0])           # shorter, longer than the video
def test_a_videos_own_sound_is_copied_as_it_is_and_every_frame_stays(tmp_path, audio_seconds):
    """A sound the MP4 holds (AAC, stereo here) is copied, not re-encoded to mono: the edited video's own sound."""
    source = tmp_path / "source.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={audio_seconds}", "-f", "lavfi", "-i",
                    f"sine=frequency=660:duration={audio_seconds}", "-filter_complex", "[0:a][1:a]amerge=inputs=2",
                    "-c:a", "aac", "-b:a", "96k", str(source)], check=True)
    path = write_mp4(ramp(12), tmp_path / "a.mp4", 12, audio=source)
    assert count_frames(path) == 12
    info = ffmpeg.probe(path)
    assert info.audio_codec == "aac" and info.channels == 2                 # as it was, both channels
    assert stream_durations(path)["audio"] <= min(audio_seconds, 1.0) + 0.05   # read only as long as the video
    assert leftovers(tmp_path) == []


def test_missing_audio_file_is_a_one_line_error(tmp_path):
    with pytest.raises(LganimError, match="No audio file"):
        write_mp4(ramp(2), tmp_path / "a.mp4", 12, audio=tmp_path / "nope.wav")
    assert not (tmp_path / "a.mp4").exists()


def test_a_recording_shows_each_frame_for_as_long_as_it_was_on_screen(tmp_path):
    frames = ramp(4)                                                     # levels 0, 16, 32, 48
    recorder = Mp4Recorder(tmp_path / "live.mp4", 10)
    for frame, t in zip(frames, [5.0, 5.25, 5.3, 5.6]):                  # on screen 0.25, 0.05, 0.3 s, then the last
        recorder.add(frame, t)
    path, n = recorder.close()
    levels = read_video(path).frames[:, 16, 16, 0].astype(int)
    # output frame k shows what was on screen at 5.0 + k / 10 s: 0 at 5.0, 5.1, 5.2; 32 at 5.3, 5.4, 5.5; 48 once
    assert n == count_frames(path) == 7 and leftovers(tmp_path) == []
    assert np.abs(levels - [0, 0, 0, 32, 32, 32, 48]).max() <= 2
    aborted = Mp4Recorder(tmp_path / "gone.mp4", 10)
    aborted.add(frames[0], 0.0)
    aborted.add(frames[1], 0.5)
    aborted.abort()
    assert not (tmp_path / "gone.mp4").exists() and leftovers(tmp_path) == []
    with pytest.raises(LganimError, match="Nothing was recorded"):
        Mp4Recorder(tmp_path / "empty.mp4", 10).close()
    with pytest.raises(LganimError, match="must end in .mp4"):
        Mp4Recorder(tmp_path / "live.gif", 10)


def test_an_encoder_stopped_with_frames_still_buffered_leaves_nothing_and_raises_nothing(tmp_path):
    encoder = Mp4Encoder(tmp_path / "cut.mp4", 10)
    encoder.add(ramp(1, 8, 8))               # 192 bytes: still in the pipe's buffer when ffmpeg is killed
    encoder.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_gif_or_side_by_side_over_its_byte_cap_is_refused_and_not_kept(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (24, 64, 64, 3), dtype=np.uint8)             # GIF's worst case
    mp4 = write_clip(noise, tmp_path / "a.mp4", 12)
    size = gif_from_mp4(mp4, tmp_path / "whole.gif").stat().st_size
    for max_bytes in (size // 2, 0):
        with pytest.raises(LganimError, match=r"'a.gif' would be larger than the [\d.]+ MB this request may still"):
            gif_from_mp4(mp4, tmp_path / "a.gif", max_bytes=max_bytes)
        with pytest.raises(LganimError, match="'b.mp4' would be larger than"):
            side_by_side(mp4, mp4, tmp_path / "b.mp4", max_bytes=max_bytes // 8)
    assert gif_from_mp4(mp4, tmp_path / "a.gif", max_bytes=size).stat().st_size == size
    assert leftovers(tmp_path) == [] and not (tmp_path / "b.mp4").exists()
