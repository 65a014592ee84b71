"""`predict`: plausible futures of a face (`Animator.predict`), one MP4 each in a new folder with predict.json."""
from __future__ import annotations

from ..files import atomic_dir, write_json
from ..motion.trained import TrainedMotion
from ..outputs import Outputs
from ..request import PredictRequest
from .common import load
from .progress import stage_bars


def run(args, request: PredictRequest) -> int:
    anim = load(args)
    with stage_bars() as progress:
        results = anim.predict(request, progress=progress)
    trained = isinstance(anim.motion, TrainedMotion)
    samples = []
    with atomic_dir(args.out) as folder:                    # the folder appears whole, or not at all
        for k, result in enumerate(results):
            name = f"sample_{k:02d}.mp4"
            result.write(Outputs(videos=[folder / name]))
            samples.append({"file": name, **result.info})
            print(f"{name}: {result.info['prompt']}")
        how = ("samples of the trained recurrent generator from different hidden-state seeds, on sequences of the "
               "paper's prompts, with idle motion (blinks, head sway)" if trained else
               "no trained motion model: sequences of the paper's prompts (fitted), with idle motion (blinks, head "
               "sway) drawn from the seed")
        write_json(folder / "predict.json", {"domain": anim.domain.name, "seed": request.seed or 0,
                                             "image": None if args.image is None else str(args.image),
                                             "frames": request.num_frames, "fps": request.fps,
                                             "mode": "trained" if trained else "prompt sequences", "how": how,
                                             "samples": samples})
    print(f"wrote {args.out} ({request.samples} samples and predict.json)")
    return 0
