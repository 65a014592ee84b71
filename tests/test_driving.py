"""The one door for driven faces (`Animator.drive`, the CLI's and the app's; lganim.driving): what drives the face
→ its track, frame times and sound → a plan; one rule for the frame times."""
import numpy as np
import pytest
import torch

from lganim.pipeline import Animator
from lganim.request import DriveRequest, Driving
from lganim.tracks.track import Track
from tests.synth import rolling_face_video, write_speech


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


@pytest.fixture(scope="module")
def driven_by_video(anim, tmp_path_factory):
    """A driving video (its face tracked) and the track it gave, saved as a file (tracking once for the module)."""
    folder = tmp_path_factory.mktemp("drive")
    video = folder / "rolling.mp4"
    rolling_face_video(video, seconds=1.0, fps=10, max_roll=8.0, size=512)
    driven = anim.drive(DriveRequest(driving=Driving(kind="video", source=video), seed=2))
    track = driven.plan.motion.track.save(folder / "rolling.json")
    return driven, track


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_a_video_drives_at_its_own_frame_times_unless_an_fps_is_asked(anim, driven_by_video, tmp_path):
    own, track = driven_by_video
    assert own.plan.request.num_frames == 10 and own.fps == pytest.approx(10.0)
    assert own.plan.request.prompts == () and own.plan.motion.audio is not None and own.plan.envelope is None
    assert own.plan.motion.track.channel("roll")[5] > 4                         # the driving head's roll
    resampled = anim.drive(DriveRequest(driving=Driving(kind="video", source=track), seed=2, fps=20))
    assert resampled.plan.request.num_frames == 20 and resampled.fps == 20
    np.testing.assert_allclose(resampled.plan.motion.track.channel("roll")[::2], own.plan.motion.track.channel("roll"),
                               atol=1e-9)                                       # by time, not by frame index


def test_a_prompt_adds_its_motion_on_top_of_the_track(anim, driven_by_video, tmp_path):
    _, track = driven_by_video
    alone = anim.drive(DriveRequest(driving=Driving(kind="video", source=track))).plan
    both = anim.drive(DriveRequest(driving=Driving(kind="video", source=track), prompt="The person is smiling.")).plan
    assert both.request.prompts == () and both.motion.track is not None         # the track drives; no placeholder
    assert both.motion.offsets.shape == alone.motion.offsets.shape
    assert not np.allclose(both.motion.offsets.numpy(), alone.motion.offsets.numpy())


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_speech_drives_a_talking_face_with_its_sound(anim, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", seconds=1.2, bursts=((0.2, 0.8),))
    driven = anim.drive(DriveRequest(driving=Driving(kind="audio", source=speech), seed=1, fps=10))
    plan = driven.plan
    assert plan.request.num_frames == 12 and driven.fps == 10 and plan.motion.audio is not None
    mouth = plan.motion.track.channel("mouth_open")
    assert mouth[4] > mouth[0] and plan.envelope.shape == (12,) and plan.envelope.max() == 1.0


def test_the_driven_plan_renders_every_frame(anim, driven_by_video):
    plan = driven_by_video[0].plan
    frames = np.concatenate([c.frames for c in anim.render(plan)], axis=1)
    assert frames.shape[:2] == (1, 10)


def test_a_driven_face_may_start_from_an_edit(anim, tmp_path):
    """Drive (and Talk, the same path) from an edited face: its code is the plan's start code, and frame 0 its image
    moved by the driving roll (none at frame 0) and the edit's own crop move (rendered in a batch: float rounding)."""
    edit = anim.edit(seed=3, controls={"yaw": 6.0, "roll": 4.0})
    t = np.arange(5) / 10
    track = Track(10.0, t, {"yaw": 20 * t, "roll": 30 * t}, np.ones(5, bool)).save(tmp_path / "turn.json")
    plan = anim.drive(DriveRequest(driving=Driving(kind="video", source=track), start=edit)).plan
    assert torch.equal(plan.w0, edit.w) and plan.request.seeds == (3,)
    assert np.allclose(plan.motion.transforms[0], edit.move) and not np.allclose(plan.motion.transforms[-1], edit.move)
    frames = np.concatenate([c.frames for c in anim.render(plan)], axis=1)
    assert np.abs(frames[0, 0].astype(int) - edit.image).max() <= 1 and not np.array_equal(frames[0, -1], edit.image)
