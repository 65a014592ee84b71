"""Prompt sequences: "The person is smiling; then winking" plays one motion after the other.

A prompt is split on ';'. A leading "then" of a later segment is dropped, and a segment that does not
name its subject borrows the first segment's "The <subject> is" (so "then winking" becomes
"The person is winking."). The T frames are split across the segments as evenly as possible, earlier
segments taking the remainder; frame 0 (the input face) belongs to the first segment. Each later segment
continues from where the previous one ended: the motion generator's hidden state and last offset carry over.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import LganimError

SEPARATOR = ";"
_THEN = re.compile(r"^\s*(and\s+)?then\b[\s,]*", re.IGNORECASE)
_SUBJECT = re.compile(r"^\s*(the\s+\w+\s+(?:is|are)\s+)", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """One prompt of a sequence and the number of frames it adds."""

    prompt: str
    frames: int


def is_sequence(prompt: str) -> bool:
    """True when the prompt holds more than one segment."""
    return len(split_prompt(prompt)) > 1


def split_prompt(prompt: str) -> list[str]:
    """The segment prompts of `prompt` (one element for a plain prompt)."""
    parts = [p.strip() for p in prompt.split(SEPARATOR)]
    parts = [p for p in parts if p]
    if not parts:
        raise LganimError("The prompt is empty: describe the motion, e.g. \"The person is smiling.\"")
    match = _SUBJECT.match(parts[0])
    prefix = match.group(1) if match else ""
    out = [parts[0]]
    for part in parts[1:]:
        part = _THEN.sub("", part).strip()
        if not part:
            raise LganimError(f"A segment of {prompt!r} is empty after 'then': write what happens next.")
        if prefix and not _SUBJECT.match(part) and not part.lower().startswith("the "):
            part = prefix + part
        out.append(part[0].upper() + part[1:] if prefix else part)
    return [p if p.endswith((".", "!", "?")) or len(out) == 1 else p + "." for p in out]


def split_frames(num_frames: int, segments: int) -> list[int]:
    """Frames per segment: as even as possible, earlier segments first; the first includes frame 0."""
    if segments < 1:
        raise LganimError("A prompt sequence needs at least one segment.")
    if num_frames < segments + 1 and segments > 1:
        raise LganimError(f"{segments} prompt segments need at least {segments + 1} frames, got {num_frames}.")
    base, extra = divmod(num_frames, segments)
    return [base + (i < extra) for i in range(segments)]


def plan_sequence(prompt: str, num_frames: int) -> list[Segment]:
    """The segments of one prompt with their frame counts (sum = num_frames)."""
    parts = split_prompt(prompt)
    return [Segment(p, n) for p, n in zip(parts, split_frames(num_frames, len(parts)))]


__all__ = ["Segment", "is_sequence", "split_prompt", "split_frames", "plan_sequence"]
