"""One request, checked once: what the CLI, the Python API and the app ask the pipeline for.

`Request` normalises and validates every user value (through `checks.py`) when it is built, so a bad value gets
the same one-line `LganimError` wherever it comes from. No torch here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from . import checks
from .config import (DEFAULT_FPS, DEFAULT_FRAMES, DEFAULT_SCHEDULE, DEFAULT_STRENGTH, MAX_BATCH, MAX_DRIVEN_FRAMES,
                     MAX_FPS, MAX_FRAMES, MAX_PROMPT_CHARS, MAX_REFINE_STEPS, MAX_SEED, MAX_STRENGTH, SCHEDULES)
from .errors import LganimError

PROMPT_EXAMPLE = 'describe the motion, e.g. "The person is smiling."'


@dataclass(frozen=True)
class Request:
    """B = max(len(prompts), len(seeds)) clips of `num_frames` frames.

    prompts: one prompt, or one per clip; seeds: one seed, or one per clip (ignored for a photo, whose face is
    the start of every clip). truncation None: the domain's ψ. A photo (`image`: path, bytes, PIL image or uint8
    array) has its `face_index`-th largest face aligned, inverted (`refine_steps` of optimisation sharpen it) and,
    with `paste_back`, pasted back into the photo.
    """

    prompts: tuple[str, ...] | list[str] | str
    seeds: tuple[int | None, ...] | list[int] | int | None = 0
    image: object = None
    num_frames: int = DEFAULT_FRAMES
    fps: int = DEFAULT_FPS
    strength: float = DEFAULT_STRENGTH
    truncation: float | None = None
    schedule: str = DEFAULT_SCHEDULE
    face_index: int = 0
    paste_back: bool = True
    refine_steps: int = 0
    driven: bool = False                # a track or audio drives the clip: up to MAX_DRIVEN_FRAMES frames

    def __post_init__(self):
        prompts = [self.prompts] if isinstance(self.prompts, str) or self.prompts is None else list(self.prompts)
        if not prompts:
            raise LganimError("Give at least one prompt.")
        prompts = [checks.text("prompt", p, PROMPT_EXAMPLE, MAX_PROMPT_CHARS) for p in prompts]
        if self.image is not None:
            seeds = [None]
        else:
            raw = [self.seeds] if self.seeds is None or isinstance(self.seeds, (int, float)) else self.seeds
            try:
                raw = list(raw)
            except TypeError:
                raise LganimError(f"seed must be a whole number from 0 to {MAX_SEED}, got "
                                  f"{checks.shown(self.seeds)}.") from None
            seeds = [checks.whole("seed", s, 0, MAX_SEED) for s in raw]
            if not seeds:
                raise LganimError("Give at least one seed.")
        if len(prompts) != len(seeds) and 1 not in (len(prompts), len(seeds)):
            raise LganimError(f"Give one prompt or one seed, or as many prompts as seeds "
                              f"(got {len(prompts)} prompts and {len(seeds)} seeds).")
        n = max(len(prompts), len(seeds))
        if n > MAX_BATCH:
            raise LganimError(f"At most {MAX_BATCH} clips per request, got {n}.")
        set_ = object.__setattr__   # frozen: normalised once, here
        set_(self, "prompts", tuple(prompts * (n // len(prompts))))
        set_(self, "seeds", tuple(seeds * (n // len(seeds))))
        limit = MAX_DRIVEN_FRAMES if self.driven else MAX_FRAMES
        set_(self, "num_frames", checks.whole("num_frames", self.num_frames, 1, limit))
        set_(self, "fps", checks.whole("fps", self.fps, 1, MAX_FPS))
        set_(self, "strength", checks.number("strength", self.strength, -MAX_STRENGTH, MAX_STRENGTH))
        if self.truncation is not None:
            set_(self, "truncation", checks.number("truncation", self.truncation, 0.0, 1.0))
        checks.choice("schedule", self.schedule, SCHEDULES)
        set_(self, "face_index", checks.whole("face_index", self.face_index, 0, 1000))
        set_(self, "refine_steps", checks.whole("refine_steps", self.refine_steps, 0, MAX_REFINE_STEPS))
        set_(self, "paste_back", bool(self.paste_back))

    @property
    def batch(self) -> int:
        return len(self.prompts)

    def with_changes(self, **changes) -> "Request":
        """A copy with some values changed, checked again."""
        return replace(self, **changes)


def parse_seed_list(value) -> list[int]:
    """'1, 2 3' -> [1, 2, 3] (commas, semicolons or spaces)."""
    if not isinstance(value, str) or not value.strip():
        raise LganimError("seeds is empty: give one or more whole numbers, e.g. 1, 2, 3.")
    seeds = []
    for token in re.split(r"[\s,;]+", value.strip()):
        if not token.isdigit() or int(token) > MAX_SEED:
            raise LganimError(f"seeds must be whole numbers from 0 to {MAX_SEED}, got {checks.shown(token)}.")
        seeds.append(int(token))
    return seeds


def parse_prompt_lines(value) -> list[str]:
    """One prompt per line (a line may itself be a sequence: 'smiling; then winking')."""
    checks.text("prompts", value, "write one prompt per line.", MAX_PROMPT_CHARS * MAX_BATCH)
    return [line.strip() for line in value.splitlines() if line.strip()]


def uploaded_file(payload, upload_root: str | Path, name: str = "image", kind: str = "image") -> Path | None:
    """The path of a file a web client uploaded ({"path": ...}), or None for no file.

    Only files inside `upload_root` (the server's upload cache) are accepted: a client must upload the file,
    never name one that is already on the server.
    """
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else None
    if (not isinstance(path, str) or not Path(path).is_file()
            or not Path(path).resolve().is_relative_to(Path(upload_root).resolve())):
        raise LganimError(f"{name} must be an uploaded {kind} file (gradio_client.handle_file(path)), or empty.")
    return Path(path)


__all__ = ["Request", "parse_seed_list", "parse_prompt_lines", "uploaded_file", "PROMPT_EXAMPLE"]
