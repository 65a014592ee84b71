"""Pictures of a result: the PCA of the motion, the frame strip, the grid of last frames."""
import numpy as np

from lganim.media.preview import STRIP_HEIGHT, frame_strip, motion_pca, tile


def test_motion_pca_of_a_straight_path_is_a_line():
    t = np.arange(12, dtype=np.float32)
    direction = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    ws = (t[:, None, None] * direction)[None]               # [1, T, L, D]: w[t] = t · direction
    df = motion_pca(ws, ["clip"])
    assert np.allclose(df["pc2"], 0, atol=1e-4)
    assert np.all(np.diff(df["pc1"]) > 0)                   # frames in order along PC1, last one to the right
    assert np.allclose(np.diff(df["pc1"]), np.linalg.norm(direction), rtol=1e-4)
    assert list(df["clip"]) == ["clip"] * 12 and list(df["frame"]) == list(range(12))


def test_frame_strip_and_tile_shapes():
    frames = np.zeros((3, 20, 32, 48, 3), np.uint8)
    assert frame_strip(frames).shape == (3 * 32, 8 * 48, 3)    # frames smaller than STRIP_HEIGHT keep size
    assert frame_strip(np.zeros((1, 4, 256, 256, 3), np.uint8)).shape == (STRIP_HEIGHT, 4 * STRIP_HEIGHT, 3)
    assert tile(frames[:, 0]).shape == (64, 96, 3)              # 3 images -> 2×2 grid
