"""The Live tab's handlers in-process on the demo domain: camera frames in, the puppet and its speed out; a recording
gives the MP4 of what was shown and the track; on ZeroGPU and without a camera the tab says why it cannot run."""
import json

import gradio as gr
import numpy as np
import pytest

from tests.synth import PHOTO, camera_frame
from tests.videos import count_frames
from ui import live as ui_live


def face(roll: float) -> np.ndarray:
    return camera_frame(PHOTO, roll, (36, 136), (320, 320), scale=1.0)          # the face in the frame's centre


def answer(handler, *args):
    """A button handler's last answer (a generator of output tuples)."""
    return list(handler(*args))[-1]


def test_zero_gpu_and_a_recording_without_a_camera_are_refused_in_one_line_and_in_the_status(monkeypatch):
    said = []
    with pytest.raises(gr.Error) as err:
        said.extend(ui_live.record(None))
    assert "Start the camera first" in err.value.message and "\n" not in err.value.message
    assert said[-1][2] == f"⚠️ {err.value.message}"                         # the tab's status line says it too
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    with pytest.raises(gr.Error) as err:
        ui_live.live_frame(face(0), None)                    # a camera frame: one toast ...
    assert err.value.message == ui_live.ZERO_GPU_NOTE
    assert ui_live.stream_failed() == f"⚠️ {ui_live.ZERO_GPU_NOTE}"        # ... what the speed line then says
    assert ui_live.live_frame(face(0), None)[1] == f"⚠️ {ui_live.ZERO_GPU_NOTE}"   # the next frames: the line only


@pytest.mark.slow
def test_frames_stream_through_the_session_and_a_recording_saves_what_was_shown():
    state = None
    shown = []
    for k, roll in enumerate([0, 0, 5, 10, 15, 10]):
        puppet, speed, state = ui_live.live_frame(face(roll), state, "demo", 3, None, "all", 1.0, 1.0, 0.0)
        shown.append(puppet)
        if k == 1:
            label, files, status, state = answer(ui_live.record, state)
            assert label["value"] == ui_live.STOP_CLIP and files is None
    assert shown[0].shape == (128, 128, 3) and np.abs(shown[4].astype(int) - shown[0]).mean() > 5
    assert "frames/s" in speed and "face found" in speed
    label, files, status, state = answer(ui_live.record, state)
    assert label["value"] == ui_live.START_CLIP and "Saved" in status
    mp4, track_json, track_csv = files
    assert count_frames(mp4) >= 1 and track_csv.endswith(".csv")
    roll = json.loads(open(track_json).read())["channels"]["roll"]
    assert len(roll) == 4 and 13 < roll[-2] < 17                            # the frames after Record: 5, 10, 15, 10
    assert "Re-centred" in ui_live.recentre(state)
    _, _, state = ui_live.live_frame(face(12), state, "demo", 4, None, "all", 1.0, 1.0, 0.0)   # another face
    assert state.session.track().meta["seed"] == 4 and state.recorder is None
