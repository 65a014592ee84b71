"""Pictures of a result: the motion over time, the frame strip, the grid of last frames."""
import numpy as np

from lganim.media.preview import STRIP_HEIGHT, frame_strip, motion_curves, strip_indices, tile


def test_motion_curves_show_how_far_each_clip_moved_from_its_first_frame():
    t = np.arange(12, dtype=np.float32)
    direction = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)   # [B, L, D]
    offsets = t[None, :, None, None] * direction[:, None]                              # [B, T, L, D]: Δw = t · d
    columns = motion_curves(offsets, ["a", "b"])
    assert list(columns["curve"]) == ["a"] * 12 + ["b"] * 12 and list(columns["frame"]) == list(range(12)) * 2
    rms = np.sqrt((direction ** 2).reshape(2, -1).mean(axis=1))
    np.testing.assert_allclose(columns["distance"], np.concatenate([t * rms[0], t * rms[1]]), rtol=1e-5)
    grouped = motion_curves(offsets[:1], ["a"], {"pose": (0, 1), "fine": (2,)})
    assert sorted(set(grouped["curve"])) == ["fine", "pose"] and len(grouped["frame"]) == 24
    fine = grouped["distance"][grouped["curve"] == "fine"]
    np.testing.assert_allclose(fine, t * np.sqrt((direction[0, 2] ** 2).mean()), rtol=1e-5)


def test_frame_strip_and_tile_shapes():
    frames = np.zeros((3, 20, 32, 48, 3), np.uint8)
    assert frame_strip(frames).shape == (3 * 32, 8 * 48, 3)    # frames smaller than STRIP_HEIGHT keep size
    assert frame_strip(np.zeros((1, 4, 256, 256, 3), np.uint8)).shape == (STRIP_HEIGHT, 4 * STRIP_HEIGHT, 3)
    assert tile(frames[:, 0]).shape == (64, 96, 3)              # 3 images -> 2×2 grid
    assert strip_indices(20)[0] == 0 and strip_indices(20)[-1] == 19 and list(strip_indices(3)) == [0, 1, 2]
