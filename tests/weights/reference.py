"""The reference generator of tests/fixtures (STYLEGAN2_README.md), as the file-format tests start from it."""
import torch

from lganim.config import GeneratorConfig
from tests import FIXTURES

REF_CONFIG = GeneratorConfig(64, 512, 8, channel_multiplier=1)


def ref_state() -> dict[str, torch.Tensor]:
    # The fixture's big tensors are views into two shared pools (STYLEGAN2_README "size trick"): clone.
    return {k: v.clone() for k, v in torch.load(FIXTURES / "ref_g64.pt", weights_only=True).items()}
