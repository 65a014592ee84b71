"""What every command that writes files shares, without torch (so that `track` starts at once): checking where an
output goes before any work, and progress bars for work in stages (on a terminal only)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from ..errors import LganimError


def check_out(out: Path, suffixes: tuple[str, ...], flag: str = "--out") -> None:
    """The output's suffix and folder, checked before any work."""
    if out.suffix.lower() not in suffixes:
        wanted = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise LganimError(f"{flag} must end in {wanted}, got {out.name!r}.")
    if not out.parent.is_dir():
        raise LganimError(f"The output folder {out.parent} does not exist.")


@contextmanager
def stage_bars():
    """Progress bars (on a terminal) for work in stages that reports progress(stage, done, expected): one bar per
    stage, closed when the next one starts."""
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, expected: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=0, desc=stage, unit="step", disable=None)
        bar = bars[stage]
        bar.total = expected
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


__all__ = ["check_out", "stage_bars"]
