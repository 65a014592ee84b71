"""Motion tracks drive a face: channels → W+ through the control directions, roll/shift/scale → the face moves in
the frame; relative to the track's first sample, at the output frames' times."""
import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.face.composite import crop_transform, in_pixels, move_crops
from lganim.motion.driven import TrackMotion
from lganim.request import Request
from lganim.tracks.idle import idle_track
from lganim.tracks.track import Track, output_frames

L, D = 6, 4


class FakeControls:
    """One known direction per channel: a one-hot W+ entry."""

    def __init__(self):
        names = ("yaw", "pitch", "mouth_open", "mouth_wide", "smile", "eye_l", "eye_r", "brow")
        self.directions = {}
        for i, name in enumerate(names):
            d = torch.zeros(L, D)
            d.view(-1)[i] = 1.0
            self.directions[name] = d

    def offsets(self, values, scales=None):
        t = len(next(iter(values.values())))
        out = torch.zeros(t, L, D)
        for name, v in values.items():
            out += (scales or {}).get(name, 1.0) * torch.as_tensor(v, dtype=torch.float32)[:, None, None] \
                * self.directions[name]
        return out


def ramp_track(n=11, fps=10.0):
    t = np.arange(n) / fps
    return Track(fps=fps, t=t, channels={"mouth_open": 0.1 + t, "yaw": 5 + 10 * t, "roll": 2 + 3 * t,
                                          "tx": np.zeros(n), "ty": np.zeros(n), "scale": np.zeros(n)},
                 valid=np.ones(n, dtype=bool))


def test_channels_move_w_relative_to_the_first_sample_at_the_output_times():
    source = TrackMotion(ramp_track(), FakeControls())
    request = Request(prompts="x", seeds=[1, 2], num_frames=6, fps=5)                  # 5 fps: every other sample
    motion = source.motion(request, torch.zeros(2, L, D), None)
    assert motion.offsets.shape == (2, 6, L, D) and torch.equal(motion.offsets[:, 0], torch.zeros(2, L, D))
    mouth = FakeControls().directions["mouth_open"].bool()
    torch.testing.assert_close(motion.offsets[0, :, mouth].flatten(), torch.arange(6) * 0.2)   # t = k / 5
    yaw = FakeControls().directions["yaw"].bool()
    torch.testing.assert_close(motion.offsets[1, :, yaw].flatten(), torch.arange(6) * 2.0)
    assert np.allclose(motion.track.channel("roll"), np.arange(6) * 0.6)
    assert np.allclose(motion.transforms[0], np.eye(3))
    assert np.allclose(motion.transforms[-1], crop_transform(3.0, 0, 0, 0))


def test_regions_and_scales():
    request = Request(prompts="x", seeds=1, num_frames=11, fps=10)
    lips = TrackMotion(ramp_track(), FakeControls(), region="lips", expression_scale=2.0).motion(
        request, torch.zeros(1, L, D), None)
    assert lips.transforms is None and set(lips.track.channels) == {"mouth_open"}
    assert lips.offsets[0, -1].sum() == pytest.approx(2.0)
    pose = TrackMotion(ramp_track(), FakeControls(), region="pose", pose_scale=0.5).motion(
        request, torch.zeros(1, L, D), None)
    assert pose.offsets[0, -1].sum() == pytest.approx(5.0) and np.allclose(pose.track.channel("roll")[-1], 1.5)
    with pytest.raises(LganimError, match="region must be one of"):
        TrackMotion(ramp_track(), FakeControls(), region="ears")


def test_native_times_follow_the_driving_frames():
    track = ramp_track()
    source = TrackMotion(track, FakeControls(), times=track.t[::2])
    motion = source.motion(Request(prompts="x", seeds=1, num_frames=6, fps=5), torch.zeros(1, L, D), None)
    assert np.allclose(motion.track.t, track.t[::2])
    with pytest.raises(LganimError, match="6 frame times for 4 frames"):
        source.motion(Request(prompts="x", seeds=1, num_frames=4, fps=5), torch.zeros(1, L, D), None)


def test_lost_samples_are_interpolated_before_driving():
    track = ramp_track()
    track.valid[3:6] = False
    track.channels["mouth_open"][3:6] = 99.0                            # garbage where the face was lost
    motion = TrackMotion(track, FakeControls()).motion(Request(prompts="x", seeds=1, num_frames=11, fps=10),
                                                        torch.zeros(1, L, D), None)
    assert np.allclose(motion.track.channel("mouth_open"), np.arange(11) / 10)


def test_crop_transforms_move_the_face_counter_clockwise_and_right():
    m = crop_transform(90.0, 0.25, 0.0, 0.0)
    right_of_centre = m @ [0.75, 0.5, 1]
    assert np.allclose(right_of_centre[:2], [0.75, 0.25])             # 90° counter-clockwise: right goes up ...
    assert np.allclose(in_pixels(m, 100) @ [50, 50, 1], [75, 50, 1])  # ... and the centre moves right by 0.25
    crops = np.zeros((1, 8, 8, 3), np.uint8)
    crops[0, 4:, :, 0] = 255                                          # bottom half red
    turned = move_crops(crops, crop_transform(180.0, 0, 0, 0)[None])
    assert turned[0, :4, :, 0].min() == 255 and turned[0, 4:, :, 0].max() == 0
    assert np.array_equal(move_crops(crops, np.eye(3)[None]), crops)


def test_idle_tracks_and_frame_counts_are_seeded():
    a, b = idle_track(48, 24, seed=3), idle_track(48, 24, seed=3)
    assert np.array_equal(a.channel("eye_l"), b.channel("eye_l")) and a.channel("yaw")[0] == 0
    assert output_frames(3.0, 25) == 75 and output_frames(2.0001, 24) == 49 and output_frames(0.01, 25) == 1
