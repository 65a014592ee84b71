"""lganim: language-guided face animation with a recurrent StyleGAN2-based generator.

Public API (nothing heavy is imported until used):

    from lganim import Animator
    anim = Animator.from_pretrained("demo")
    result = anim("The person is smiling.", seed=1, num_frames=12)
    result.frames  # uint8 [B, T, H, W, 3]
    edit = anim.edit(seed=1, controls={"yaw": 10.0})   # edit.image uint8 [H, W, 3]; anim("...", start=edit)
    anim.edit_video(VideoEditRequest(video="clip.mp4", prompt="The person is smiling.")).save("edited.mp4")
"""
import importlib

from .config import FitSettings, GeneratorConfig, MotionConfig
from .errors import LganimError
from .request import DriveRequest, Driving, EditRequest, LiveRequest, PredictRequest, Request, VideoEditRequest

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy: `import lganim` (and the CLI's --help) must not import torch.
    if name in ("Animator", "AnimationResult"):
        return getattr(importlib.import_module(".pipeline", __name__), name)
    if name == "Edit":
        return getattr(importlib.import_module(".edit", __name__), name)
    raise AttributeError(f"module 'lganim' has no attribute {name!r}")


__all__ = ["Animator", "AnimationResult", "Edit", "Request", "DriveRequest", "Driving", "PredictRequest", "EditRequest",
           "LiveRequest", "VideoEditRequest", "FitSettings", "GeneratorConfig", "MotionConfig", "LganimError",
           "__version__"]
