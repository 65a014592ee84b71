"""Start codes: seeds through the mapping with truncation, and photos aligned and inverted with e4e."""
import numpy as np
import pytest
import torch

from lganim.errors import LganimError
from lganim.pipeline import Animator
from lganim.startcodes import PhotoEncoder, codes_from_z, seed_codes, z_codes
from tests import FACE_PHOTO


@pytest.fixture(scope="module")
def anim():
    return Animator.from_pretrained("demo", device="cpu")


def test_a_seed_is_the_same_face_everywhere_and_rows_are_independent():
    a, b = z_codes([1, 2], 8), z_codes([2, 1], 8)
    assert torch.equal(a[0], b[1]) and torch.equal(a[1], b[0])
    assert torch.equal(z_codes([7], 8)[0], torch.randn(8, generator=torch.Generator().manual_seed(7)))


def test_seed_codes_are_the_mapping_truncated_towards_the_mean_on_every_layer(anim):
    g = anim.stylegan
    w = seed_codes(g, [3, 4], 0.5)                                                   # [B, L, D]
    assert w.shape == (2, g.num_ws, g.style_dim) and torch.equal(w[:, 0], w[:, -1])
    mapped = g.mapping(z_codes([3, 4], g.style_dim))
    torch.testing.assert_close(w[:, 0], g.latent_avg + 0.5 * (mapped - g.latent_avg))
    torch.testing.assert_close(seed_codes(g, [3], 1.0)[:, 0], mapped[:1])
    assert torch.equal(codes_from_z(g, z_codes([3], g.style_dim), 0.0)[0, 0], g.latent_avg)


def test_a_photo_is_aligned_at_the_generators_size_and_inverted_to_its_codes(anim):
    photos = anim.photos
    face = photos.read(FACE_PHOTO)
    assert face.aligned.image.shape == (anim.stylegan.size, anim.stylegan.size, 3)
    assert face.canvas.shape == (512, 512, 3)                                        # kept to paste back into
    w = photos.invert(face)
    assert w.shape == (1, anim.stylegan.num_ws, anim.stylegan.style_dim) and torch.isfinite(w).all()
    assert torch.equal(w, photos.invert(photos.read(FACE_PHOTO)))                    # the same photo, the same code
    assert photos.read(FACE_PHOTO, paste_back=False).canvas is None


def test_a_domain_without_a_photo_encoder_refuses_photos_before_reading_them(anim):
    no_encoder = PhotoEncoder(anim.domain, anim.stylegan, None)
    with pytest.raises(LganimError, match="Photos work with the human domain only"):
        no_encoder.read(np.zeros((4, 4, 3), np.uint8))                               # not even a face: not read
