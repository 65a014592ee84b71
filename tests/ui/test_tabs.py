"""The Drive and Talk tabs and the futures of the batch tab, in-process on the demo domain (uploads placed in
gradio's cache as the browser would)."""
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from lganim.media.audio import audio_duration, has_audio
from lganim.media.video_reader import read_video
from tests.synth import rolling_face_video, write_speech
from tests.ui.handlers import NoProgress, skipped
from tests.videos import count_frames
from ui import batch, handoff
from ui import common as ui_common
from ui import drive as ui_drive
from ui import edit as ui_edit
from ui import talk as ui_talk

pytestmark = pytest.mark.slow                # tracking and rendering whole clips: a few seconds each


def uploaded(path: Path) -> dict:
    """`path` copied into gradio's upload cache, as the payload the page sends."""
    folder = ui_common.FILES / "upload-test"
    folder.mkdir(parents=True, exist_ok=True)
    return {"path": str(Path(shutil.copy(path, folder / path.name)))}


def curves_of(plot) -> set[str]:
    """The names of the curves a line plot draws (its value: a table)."""
    return set(plot["channel"])


@pytest.fixture(scope="module")
def driving(tmp_path_factory):
    path = tmp_path_factory.mktemp("drive") / "roll.mp4"
    rolling_face_video(path, seconds=1.0, fps=12, max_roll=10.0, size=512)
    return uploaded(path)


def test_drive_tab_writes_the_video_with_sound_and_the_track(driving):
    outputs = list(ui_drive.drive_face(None, "demo", 2, driving, "all", 1.0, 1.0, 0.2, 0, "",
                                       progress=NoProgress()))
    assert any("Tracking the face…" in o[ui_drive.STATUS] for o in outputs)            # progress while tracking
    assert sum(isinstance(o[2], np.ndarray) for o in outputs) >= 2                      # frames stream
    mp4, beside, live, tracks, plot, status = next(o for o in outputs if isinstance(o[0], str))
    assert count_frames(mp4) == 12 and has_audio(mp4) and abs(audio_duration(mp4) - 1.0) <= 1 / 12
    assert sorted(Path(t).suffix for t in tracks) == [".csv", ".json"]
    assert {"roll", "mouth_open"} <= curves_of(plot)
    beside = outputs[-1][1]
    assert count_frames(beside) == 12 and has_audio(beside)                             # driving | result
    assert "12 frames" in outputs[-1][ui_drive.STATUS] and "12 fps" in outputs[-1][ui_drive.STATUS]
    assert outputs[0] == ui_drive.CLEARED and not any(skipped(v) for v in outputs[-1])   # the answer: all values


def test_talk_tab_from_audio_and_from_text(tmp_path):
    speech = uploaded(write_speech(tmp_path / "speech.wav", seconds=2.0, bursts=((0.2, 0.8), (1.2, 1.8))))
    mp4, live, tracks, plot, status = list(ui_talk.talk(None, "demo", 1, speech, "", "en", None, "stats", 1.0, 1.0,
                                                        False, 25, "", progress=NoProgress()))[-1]
    assert count_frames(mp4) == 50 and abs(audio_duration(mp4) - 2.0) <= 0.1
    assert curves_of(plot) == {"mouth_open", "speech envelope"}
    if shutil.which("espeak-ng"):
        mp4 = list(ui_talk.talk(None, "demo", 1, None, "Hello there.", "en", None, "stats", 1.0, 1.0, True, 25, "",
                                progress=NoProgress()))[-1][0]
        assert has_audio(mp4) and count_frames(mp4) > 10


def test_drive_and_talk_from_here_start_from_the_edited_face(driving, tmp_path):
    """The Edit tab hands its face over ("Drive from here", "Talk from here"): the clip's first frame is the edited
    face, not the tab's own seed's."""
    faces = {seed: ui_common.Kept() for seed in (1, 5)}
    for seed, kept in faces.items():
        list(ui_edit.edit_face("demo", seed, None, yaw=12.0 if seed == 1 else 0.0, last=kept))
    faces = {seed: kept.value for seed, kept in faces.items()}
    start, note, tabs, _ = list(handoff.hand_off("drive")(ui_common.Kept(faces[1])))[-1]
    assert start is faces[1] and note["visible"] and tabs.selected == "drive"
    speech = uploaded(write_speech(tmp_path / "speech.wav", seconds=1.0, bursts=((0.3, 0.7),)))
    clips = {"drive": list(ui_drive.drive_face(None, "demo", 5, driving, "all", 1.0, 1.0, 0.2, 0, "", start,
                                               progress=NoProgress()))[-1][0],
             "talk": list(ui_talk.talk(None, "demo", 5, speech, "", "en", None, "stats", 1.0, 1.0, True, 12, "",
                                       start, progress=NoProgress()))[-1][0]}
    for tab, mp4 in clips.items():
        first = read_video(mp4).frames[0].astype(float)
        to_edit, to_seed = (np.abs(first - faces[s].image).mean() for s in (1, 5))
        assert to_edit < 6 and to_seed > 2 * to_edit, (tab, to_edit, to_seed)


@pytest.mark.parametrize("handler, args, message", [
    (ui_drive.drive_face, (None, "demo", 1, None, "all", 1.0, 1.0, 0.0, 12, ""), "Give the driving video"),
    (ui_drive.drive_face, (None, "demo", 1, {"path": "/etc/hostname"}, "all", 1.0, 1.0, 0.0, 12, ""),
     "driving_video must be an uploaded video file"),
    (ui_drive.drive_face, (None, "demo", 1, None, "ears", 1.0, 1.0, 0.0, 12, ""), "region must be one of"),
    (ui_talk.talk, (None, "demo", 1, None, "", "en", None, "stats", 1.0, 1.0, False, 25, ""), "Give the audio"),
    (ui_talk.talk, (None, "demo", 1, None, "Hi", "en", None, "loud", 1.0, 1.0, False, 25, ""), "style mode"),
])
def test_tab_errors_are_one_line(handler, args, message):
    with pytest.raises(gr.Error) as err:
        list(handler(*args, progress=NoProgress()))
    assert message in err.value.message and "\n" not in err.value.message


def test_batch_tab_predicts_futures_of_one_face_captioned_with_their_prompts():
    gallery, last, strip, plot, status = list(batch.predict_futures("demo", "7, 8", "", 3, 8, 8,
                                                                    progress=NoProgress()))[-1]
    assert len(gallery) == 3 and [count_frames(v) for v, _ in gallery] == [8, 8, 8]
    assert all(caption.startswith("The person is ") and "; then " in caption for _, caption in gallery)
    assert "3 clips" in status and last.shape == (128, 128, 3)
    mine = list(batch.predict_futures("demo", "7", "The person is angry.", 2, 8, 8, progress=NoProgress()))[-1][0]
    assert [caption for _, caption in mine] == ["The person is angry."] * 2
    rows = strip.reshape(3, -1, *strip.shape[1:])
    assert not np.array_equal(rows[0], rows[1])                       # different futures of the same face
