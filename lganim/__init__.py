"""lganim: language-guided face animation with a recurrent StyleGAN2-based generator.

Public API (nothing heavy is imported until used):

    from lganim import Animator
    anim = Animator.from_pretrained("demo")
    result = anim(prompts="The person is smiling.", seed=1, num_frames=12)
    result.frames  # uint8 [B, T, H, W, 3]
"""
from .config import AnimationSettings, GeneratorConfig, MotionConfig
from .errors import LganimError

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy: `import lganim` must not import torch-heavy modules.
    if name in ("Animator", "AnimationResult"):
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module 'lganim' has no attribute {name!r}")


__all__ = ["Animator", "AnimationResult", "AnimationSettings", "GeneratorConfig", "MotionConfig",
           "LganimError", "__version__"]
