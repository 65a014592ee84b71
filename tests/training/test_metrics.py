"""Evaluation metrics: known properties and hand-computed values."""
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torch import nn

from lganim.errors import LganimError
from lganim.training.metrics import (
    acd_face,
    acd_shape,
    evaluate_clip,
    face_input,
    gaussian_window,
    mean_metrics,
    ms_ssim,
    ms_ssim_consecutive,
)


def rng_image(seed, shape=(64, 64, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def test_ms_ssim_identical_images_is_one():
    img = rng_image(0)
    assert ms_ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_symmetric_bounded_and_monotone_in_noise():
    a = rng_image(1).astype(np.float64)
    noise = np.random.default_rng(2).normal(0, 1, a.shape)
    slight = np.clip(a + 10 * noise, 0, 255)
    heavy = np.clip(a + 80 * noise, 0, 255)
    s_slight, s_heavy = ms_ssim(a, slight), ms_ssim(a, heavy)
    assert ms_ssim(slight, a) == pytest.approx(s_slight, rel=1e-12)
    assert 0.0 <= s_heavy < s_slight < 1.0


def test_single_scale_matches_scikit_image_ssim():
    a, b = rng_image(3), rng_image(4)
    b = (0.7 * a + 0.3 * b).astype(np.uint8)
    ours = ms_ssim(a, b, weights=(1.0,))
    ref = structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    assert ours == pytest.approx(ref, abs=1e-6)


def test_gaussian_window_is_normalised_and_symmetric():
    g = gaussian_window(11, 1.5)
    assert g.sum().item() == pytest.approx(1.0)
    assert torch.equal(g, g.T) and torch.equal(g, g.flip(0))
    assert g.argmax().item() == 5 * 11 + 5


def test_ms_ssim_rejects_mismatched_shapes():
    with pytest.raises(LganimError):
        ms_ssim(rng_image(0), rng_image(0, (32, 32, 3)))


def flat_clip(colours):
    return np.stack([np.broadcast_to(np.array(c, np.uint8), (16, 16, 3)) for c in colours])


def test_acd_shape_hand_values():
    assert acd_shape(flat_clip([(0, 0, 0), (0, 0, 0)])) == 0.0
    # mean colour steps (3, 4, 0) then (0, 0, 12): norms 5 and 12 -> mean 8.5
    assert acd_shape(flat_clip([(0, 0, 0), (3, 4, 0), (3, 4, 12)])) == pytest.approx(8.5)
    with pytest.raises(LganimError):
        acd_shape(flat_clip([(0, 0, 0)]))


def test_ms_ssim_consecutive_of_a_still_clip_is_one():
    still = np.stack([rng_image(5)] * 3)
    assert ms_ssim_consecutive(still) == pytest.approx(1.0)


class MeanColour(nn.Module):
    """A stand-in identity network: the per-channel mean of its input."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x.mean(dim=(2, 3))


def test_acd_face_sums_squared_feature_steps_with_official_input():
    clip = flat_clip([(0, 0, 0), (255, 0, 0), (255, 0, 0)])
    # official input: BGR, /255 - 0.5 -> features (-.5,-.5,-.5), (-.5,-.5,.5), same -> steps² 1 + 0
    assert acd_face(clip, MeanColour()) == pytest.approx(1.0)
    x = face_input(clip)
    assert x[1, :, 0, 0].tolist() == [-0.5, -0.5, 0.5]
    assert face_input(clip, official=False)[1, :, 0, 0].tolist() == [1.0, -1.0, -1.0]


class FakeClip:
    device = torch.device("cpu")

    def encode_image(self, images):
        return nn.functional.normalize(images.mean(dim=(2, 3)) + 1, dim=-1)

    def encode_text(self, prompts):
        return torch.tensor([[1.0, 0.0, 0.0]])


def test_evaluate_clip_reports_every_metric():
    clip = flat_clip([(0, 0, 0), (255, 0, 0)])
    out = evaluate_clip(clip, "red", clip=FakeClip())
    assert out["frames"] == 2 and out["acd_face"] is None
    assert out["clip_similarity"] == pytest.approx(1.0)
    assert out["clip_score"] == pytest.approx(100.0)
    assert mean_metrics([out, out])["acd_shape"] == pytest.approx(out["acd_shape"])
    assert mean_metrics([out])["acd_face"] is None


@pytest.mark.slow                # encodes or reads video with ffmpeg, or starts a process
def test_eval_cli_on_a_video_and_on_a_pipeline_run(tmp_path):
    import json

    from lganim.cli import main
    from tests.videos import write_clip
    frames = np.stack([rng_image(i, (64, 64, 3)) for i in range(4)])
    video = tmp_path / "v.gif"
    write_clip(frames, video, 4)
    out = tmp_path / "e.json"
    assert main(["eval", "--video", str(video), "--prompt", "The person is smiling.", "--domain", "demo",
                 "--json", str(out), "--device", "cpu"]) == 0
    data = json.loads(out.read_text())
    clip = data["clips"][0]
    assert clip["frames"] == 4 and clip["acd_face"] is None and 0 <= clip["ms_ssim_consecutive"] <= 1
    assert clip["clip_similarity"] is not None and data["mean"]["acd_shape"] == pytest.approx(clip["acd_shape"])
    assert main(["eval", "--seed", "1", "--prompt", "The person is smiling.", "--domain", "demo", "--frames", "3",
                 "--no-clip", "--json", str(out), "--device", "cpu"]) == 0
    data = json.loads(out.read_text())
    assert data["clips"][0]["frames"] == 3 and data["clips"][0]["clip_score"] is None
    assert main(["eval", "--video", str(tmp_path / "missing.mp4")]) == 2
