"""`track`, `retarget`, `predict`, `talk`, `say` as a user runs them (subprocesses, the demo domain), on media made
here: the fixture face rolling by known angles with speech-like sound, and voiced bursts at known times."""
import json
import shutil

import numpy as np
import pytest

from lganim.media.audio import audio_duration, has_audio
from lganim.media.video_reader import read_video
from tests import ROOT
from tests.cli.commands import assert_one_line_error, lganim
from tests.synth import rolling_face_video, write_speech
from tests.videos import count_frames, write_clip

pytestmark = pytest.mark.slow                # every test runs `python -m lganim` in a subprocess


@pytest.fixture(scope="module")
def rolling(tmp_path_factory):
    """2 s at 24 fps of the face rolling counter-clockwise by up to 12°, with sound; (path, true roll)."""
    path = tmp_path_factory.mktemp("driving") / "roll.mp4"
    return path, rolling_face_video(path, seconds=2.0, fps=24, max_roll=12.0, size=512)


def test_track_recovers_the_roll(rolling, tmp_path):
    video, roll = rolling
    proc = lganim("track", "--video", video, "--out", tmp_path / "t.json")
    assert proc.returncode == 0, proc.stderr
    track = json.loads((tmp_path / "t.json").read_text())
    measured, valid = np.array(track["channels"]["roll"]), np.array(track["valid"])
    assert len(measured) == 48 and valid.mean() >= 0.9 and track["fps"] == pytest.approx(24)
    errors = np.abs(measured - roll)[valid]
    print(f"\nroll error: max {errors.max():.2f}°, mean {errors.mean():.2f}°")
    assert np.mean(errors <= 2.0) >= 0.95


def test_retarget_keeps_every_driving_frame_and_the_sound(rolling, tmp_path):
    video, _ = rolling
    out, track_out = tmp_path / "r.mp4", tmp_path / "r.csv"
    proc = lganim("retarget", "--domain", "demo", "--image", ROOT / "tests" / "fixtures" / "faces" / "astronaut.png",
                  "--driving", video, "--out", out, "--track-out", track_out)
    assert proc.returncode == 0, proc.stderr
    assert count_frames(out) == 48 and has_audio(out)
    assert abs(audio_duration(out) - 2.0) <= 1 / 24
    assert track_out.read_text().splitlines()[1].startswith("frame,t,valid")
    again = tmp_path / "again.mp4"                        # the exported track drives it again, at another rate
    proc = lganim("retarget", "--domain", "demo", "--seed", 3, "--driving", track_out, "--fps", 10, "--out", again)
    assert proc.returncode == 0, proc.stderr
    assert count_frames(again) == 20 and not has_audio(again)        # a track has no sound


def test_a_driving_video_without_a_face_is_refused(tmp_path):
    blank = tmp_path / "blank.mp4"
    write_clip(np.full((10, 128, 128, 3), 90, np.uint8), blank, 10)
    out = tmp_path / "r.mp4"
    proc = lganim("retarget", "--domain", "demo", "--seed", 1, "--driving", blank, "--out", out)
    assert_one_line_error(proc, "No face")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["blank.mp4"]


def test_predict_draws_different_futures_and_repeats_them(tmp_path):
    runs = []
    for name in ("a", "b"):
        proc = lganim("predict", "--domain", "demo", "--seed", 1, "--samples", 2, "--out", tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["predict.json", "sample_00.mp4",
                                                                       "sample_01.mp4"]
        runs.append([read_video(tmp_path / name / f"sample_{k:02d}.mp4").frames for k in range(2)])
    (a0, a1), (b0, b1) = runs
    assert len(a0) == 24 and not np.array_equal(a0, a1)                # two different futures
    assert np.array_equal(a0, b0) and np.array_equal(a1, b1)          # the same seed, the same frames
    assert np.array_equal(a0[0], a1[0])                               # both start from the input face
    info = json.loads((tmp_path / "a" / "predict.json").read_text())
    assert info["mode"] == "trained" and len(info["samples"]) == 2 and info["samples"][0]["file"] == "sample_00.mp4"


def test_talk_opens_the_mouth_where_there_is_speech(tmp_path):
    speech = write_speech(tmp_path / "speech.wav", bursts=((0.3, 0.9), (1.4, 2.2)), seconds=3.0)
    out, track_out = tmp_path / "t.mp4", tmp_path / "t.json"
    proc = lganim("talk", "--domain", "demo", "--seed", 1, "--audio", speech, "--fps", 25, "--out", out,
                  "--track-out", track_out)
    assert proc.returncode == 0, proc.stderr
    assert abs(count_frames(out) - 75) <= 1 and abs(audio_duration(out) - 3.0) <= 0.1
    track = json.loads(track_out.read_text())
    t, mouth = np.array(track["t"]), np.array(track["channels"]["mouth_open"])
    voiced = ((t >= 0.3) & (t < 0.9)) | ((t >= 1.4) & (t < 2.2))
    print(f"\nmouth_open: voiced {mouth[voiced].mean():.3f}, silent {mouth[~voiced].mean():.3f}")
    assert mouth[voiced].mean() >= 2 * mouth[~voiced].mean()


def test_a_text_file_is_not_audio(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("no sound here")
    out = tmp_path / "t.mp4"
    assert_one_line_error(lganim("talk", "--domain", "demo", "--seed", 1, "--audio", notes, "--out", out))
    assert not out.exists()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_say_speaks_the_sentence_into_the_video(tmp_path):
    out = tmp_path / "s.mp4"
    proc = lganim("say", "--domain", "demo", "--seed", 1, "--text", "Hello there, how are you?", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert has_audio(out) and audio_duration(out) > 0.8 and count_frames(out) >= 20
    proc = lganim("say", "--domain", "demo", "--seed", 1, "--text", "   ", "--out", tmp_path / "e.mp4")
    assert_one_line_error(proc, "empty")
    assert not (tmp_path / "e.mp4").exists()


def test_a_silent_driving_video_gives_a_silent_video_and_a_bad_track_is_refused(tmp_path):
    silent = tmp_path / "silent.mp4"
    rolling_face_video(silent, seconds=0.5, fps=12, sound=False, size=512)
    proc = lganim("retarget", "--domain", "demo", "--seed", 1, "--driving", silent, "--out", tmp_path / "r.mp4")
    assert proc.returncode == 0, proc.stderr
    assert count_frames(tmp_path / "r.mp4") == 6 and not has_audio(tmp_path / "r.mp4")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something.else", "version": 1}')
    proc = lganim("retarget", "--domain", "demo", "--seed", 1, "--driving", bad, "--out", tmp_path / "b.mp4")
    assert_one_line_error(proc)
    assert not (tmp_path / "b.mp4").exists()


def test_silence_keeps_the_mouth_closed_and_a_style_video_drives_the_head(rolling, tmp_path):
    silence = write_speech(tmp_path / "silence.wav", bursts=(), seconds=2.0)
    out, track_out = tmp_path / "q.mp4", tmp_path / "q.json"
    proc = lganim("talk", "--domain", "demo", "--seed", 1, "--audio", silence, "--fps", 10, "--out", out,
                  "--track-out", track_out, "--style", rolling[0], "--style-mode", "copy")
    assert proc.returncode == 0, proc.stderr
    assert count_frames(out) == 20 and has_audio(out)                 # the (silent) sound is in the file
    channels = json.loads(track_out.read_text())["channels"]
    assert np.abs(channels["mouth_open"]).max() < 0.02
    assert np.ptp(channels["roll"]) > 5                                # the style video's head roll, copied
