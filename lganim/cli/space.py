"""`space`: write a ready Hugging Face Space folder of the app, and with --push upload it (see lganim/space.py)."""
from __future__ import annotations

import os

from huggingface_hub import constants as hub_constants

from ..errors import LganimError
from ..tools.space import push_space, write_space


def run(args) -> int:
    if args.push and hub_constants.HF_HUB_OFFLINE:
        raise LganimError("--push needs the network but HF_HUB_OFFLINE is set: unset it, or upload the folder later.")
    folder = write_space(args.out, args.domain)
    print(f"wrote the Space to {folder}")
    if args.push:
        token = os.environ.get("HF_TOKEN")
        print(f"pushed to {push_space(folder, args.push, args.private, token)}; in its settings pick ZeroGPU "
              f"(free accounts) or a GPU, then open it")
    return 0
