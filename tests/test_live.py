"""The live session on the demo domain with the real tracker, fed frames of the fixture face turned by known angles:
the first good frame is neutral, a lost face is held then eased back to neutral, a later frame never changes an
earlier output, several faces keep the first, re-centring, and the recorded track replays in the Drive path."""
import numpy as np
import pytest
from PIL import Image

from lganim.config import LIVE_EASE_SECONDS, LIVE_HOLD_SECONDS
from lganim.errors import LganimError
from lganim.live import LiveFace, LiveSession, live_face
from lganim.pipeline import Animator
from lganim.request import DriveRequest, Driving, LiveRequest
from tests.synth import PHOTO, camera_frame

SIZE = (320, 320)                                   # the face's box is ~90 px: dlib finds it without upsampling
BLANK = np.full((SIZE[1], SIZE[0], 3), (96, 110, 120), np.uint8)


FACE_CENTRE = np.array([36.0, 136.0])           # where the photo goes for its face to sit in the frame's centre


def face(roll: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """The fixture photo turned `roll` degrees counter-clockwise and placed so that its face, upright, would sit
    `shift` pixels from the frame's centre (turning moves the face too: the photo turns about its own centre)."""
    return camera_frame(PHOTO, roll, FACE_CENTRE + shift, SIZE, scale=1.0)


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


@pytest.fixture(scope="module")
def still(anim):
    """The puppet's frame at the neutral pose (seed 1)."""
    return LiveSession(anim, LiveRequest(seed=1)).step(BLANK, 0.0)


def test_the_first_good_frame_is_neutral_and_a_lost_face_eases_back(anim, still):
    session = LiveSession(anim, LiveRequest(seed=1, smooth=0))
    hold, ease = LIVE_HOLD_SECONDS, LIVE_EASE_SECONDS
    times = [0.0, 0.1, 0.2, 0.3, 0.4, 0.35 + hold, 0.4 + hold + ease / 2, 0.4 + hold + ease + 0.01]
    frames = [BLANK, face(0), face(10), face(10), BLANK, BLANK, BLANK, BLANK]
    shown = [session.step(f, t) for f, t in zip(frames, times)]
    track = session.track()
    assert track.valid.tolist() == [False, True, True, True, False, False, False, False]
    roll = track.channels["roll"]
    assert roll[0] == 0 and abs(roll[1]) < 1e-9 and 9 < roll[3] < 11          # relative to the first good frame
    assert roll[4] == roll[5] == roll[3]                                      # held for LIVE_HOLD_SECONDS
    assert 0 < roll[6] < roll[3] and roll[7] == 0                             # then eased back within a second
    np.testing.assert_array_equal(shown[0], still)                           # no face yet: the still face
    np.testing.assert_array_equal(shown[1], still)                           # the neutral pose is the still face
    np.testing.assert_array_equal(shown[7], still)                           # back to neutral
    assert np.abs(shown[3].astype(int) - still).mean() > 5                    # the head rolled
    np.testing.assert_array_equal(shown[4], shown[3])                        # held: the same frame, not re-rendered
    assert track.meta["lost"] == 5 and track.meta["neutral_times"] == [0.1]


@pytest.mark.slow
def test_a_later_frame_never_changes_an_earlier_output(anim):
    frames = [face(0), face(4, (3, 0)), face(8, (6, 2)), face(12, (9, 4))]
    outputs, tracks = [], []
    for last in (face(12, (9, 4)), face(-6, (-20, 0))):                      # only the last frame differs
        session = LiveSession(anim, LiveRequest(seed=2, smooth=0.8))        # One-Euro on the landmarks
        outputs.append([session.step(f, 0.04 * k) for k, f in enumerate(frames[:3] + [last])])
        tracks.append(session.track())
    for k in range(3):
        np.testing.assert_array_equal(outputs[0][k], outputs[1][k])
        for name in tracks[0].channels:
            assert tracks[0].channels[name][k] == tracks[1].channels[name][k], (name, k)
    assert not np.array_equal(outputs[0][3], outputs[1][3])                  # the last frame itself does change


@pytest.mark.slow
def test_several_faces_follow_the_first_and_recentre_takes_a_new_neutral(anim):
    def two_faces(left_roll, right_visible=True):
        """A 640×320 frame: the face on the left (turned `left_roll`), a copy on the right (upright)."""
        frame = np.concatenate([face(left_roll), face(0) if right_visible else BLANK], axis=1)
        return np.ascontiguousarray(frame)

    session = LiveSession(anim, LiveRequest(seed=3, smooth=0))
    session.step(two_faces(0, right_visible=False), 0.0)                     # only the left face: it is followed
    session.step(two_faces(6), 0.04)
    session.step(two_faces(12), 0.08)
    assert 10 < session.track().channels["roll"][-1] < 14                    # still the left face, not the upright one
    session.recentre()
    session.step(two_faces(12), 0.12)
    session.step(two_faces(16), 0.16)
    roll = session.track().channels["roll"]
    assert abs(roll[3]) < 1e-9 and 2.5 < roll[4] < 5.5                      # relative to the new neutral
    assert session.track(after=0.08).meta["neutral_times"] == [0.12] and session.last_time == 0.16


@pytest.mark.slow
def test_the_recorded_track_replays_in_the_drive_path(anim, tmp_path):
    session = LiveSession(anim, LiveRequest(seed=4, smooth=0.5))
    frames = [face(a, (2 * a, a)) for a in (0, 4, 8, 12, 8)]
    shown = np.stack([session.step(f, 0.04 * k) for k, f in enumerate(frames)])
    path = session.track().save(tmp_path / "live.json")
    plan = anim.drive(DriveRequest(driving=Driving(kind="video", source=path), seed=4)).plan
    replayed = np.concatenate([c.frames for c in anim.render(plan)], axis=1)[0]
    assert replayed.shape == shown.shape                                     # one frame per live step
    diff = np.abs(replayed.astype(int) - shown)
    assert diff.max() <= 2 and diff.mean() < 0.1                             # the same puppet (rounding apart)
    assert np.abs(shown[3].astype(int) - shown[0]).mean() > 5


def test_bad_frames_times_and_settings_are_refused(anim):
    session = LiveSession(anim, LiveRequest(seed=1))
    with pytest.raises(LganimError, match="uint8 \\[H, W, 3\\]"):
        session.step(np.zeros((8, 8), np.uint8))
    with pytest.raises(LganimError, match="uint8 \\[H, W, 3\\]"):
        session.step(np.zeros((8, 8, 3), np.float32))
    session.step(BLANK, 1.0)
    with pytest.raises(LganimError, match="time order"):
        session.step(BLANK, 1.0)
    with pytest.raises(LganimError, match="region must be one of"):
        session.set_drive(region="ears")
    with pytest.raises(LganimError, match="pose_scale must be a number"):
        LiveRequest(pose_scale=float("nan"))
    with pytest.raises(LganimError, match="smoothing must be a number"):
        LiveRequest(smooth=2)
    with pytest.raises(LganimError, match="W\\+ code of shape"):
        LiveSession(anim, face=LiveFace(live_face(anim, LiveRequest()).w[:, :3]))
    with pytest.raises(LganimError, match="no frame"):
        LiveSession(anim).track()


@pytest.mark.slow
def test_a_photo_is_pasted_back_and_large_frames_are_tracked_shrunk(anim):
    photo = np.asarray(PHOTO)
    session = LiveSession(anim, LiveRequest(image=photo, smooth=0))
    big = np.asarray(Image.fromarray(face(0)).resize((1280, 1280)))          # tracked at 640
    first = session.step(big, 0.0)
    turned = session.step(np.asarray(Image.fromarray(face(10)).resize((1280, 1280))), 0.04)
    assert first.shape == photo.shape                                         # the photo, the face pasted back
    assert 8.5 < session.track().channels["roll"][1] < 11.5
    assert np.abs(first.astype(int) - turned).mean() > 0.5
    np.testing.assert_array_equal(first[-100:], turned[-100:])                # far from the face: the photo itself
