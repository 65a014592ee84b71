"""Moving a face's crop within its frame: `move_images` (float images on any device, what the live session uses on
the render device) is the function of `move_crops` (uint8 crops on the CPU) before rounding."""
import numpy as np
import torch

from lganim.face.composite import crop_transform, move_crops, move_images


def test_move_images_is_move_crops_before_rounding():
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    moves = np.stack([crop_transform(8.0, 0.05, -0.03, 0.1), crop_transform(-3.0, 0.0, 0.1, -0.05)])
    levels = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    moved = move_images(levels, moves).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(moved, move_crops(crops, moves))
    still = move_images(levels, np.stack([crop_transform(0, 0, 0, 0)] * 2))
    assert float((still - levels).abs().max()) < 1e-3                       # no move: the crops themselves
