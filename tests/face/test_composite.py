"""Moving a face's crop within its frame: `move_images` (float images on any device, what the live session uses on
the render device) is the function of `move_crops` (uint8 crops on the CPU) before rounding. Putting a crop back
into a frame along its square: pasted, or a change added (an edited video's frame)."""
import numpy as np
import torch

from lganim.face.composite import blend_into, crop_transform, move_crops, move_images


def test_move_images_is_move_crops_before_rounding():
    crops = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    moves = np.stack([crop_transform(8.0, 0.05, -0.03, 0.1), crop_transform(-3.0, 0.0, 0.1, -0.05)])
    levels = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    moved = move_images(levels, moves).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(moved, move_crops(crops, moves))
    still = move_images(levels, np.stack([crop_transform(0, 0, 0, 0)] * 2))
    assert float((still - levels).abs().max()) < 1e-3                       # no move: the crops themselves


def test_blend_into_pastes_a_crop_or_adds_a_change_only_inside_its_square():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)
    quad = np.array([[30.0, 10.0], [30.0, 60.0], [80.0, 60.0], [80.0, 10.0]])            # 50 px, axis-aligned
    outside = np.ones((80, 100), dtype=bool)
    outside[10:60, 30:80] = False
    nothing = blend_into(photo, torch.zeros(3, 64, 64), quad, difference=True)
    np.testing.assert_array_equal(nothing, photo)                                         # no change: the photo
    brighter = blend_into(photo, torch.full((3, 64, 64), 20.0), quad, difference=True)
    np.testing.assert_array_equal(brighter[outside], photo[outside])
    inner = (slice(20, 50), slice(40, 70))                                                # past the feathered edge
    np.testing.assert_array_equal(brighter[inner], np.minimum(photo[inner].astype(int) + 20, 255))
    grey = blend_into(photo, torch.full((3, 64, 64), 128.0), quad)                       # a paste-back
    assert (grey[inner] == 128).all() and np.array_equal(grey[outside], photo[outside])
