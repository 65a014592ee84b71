"""Progress bars of the commands, on a terminal only (tqdm turns itself off elsewhere). No torch here, so that
`track` starts at once."""
from __future__ import annotations

from contextlib import contextmanager

from tqdm import tqdm

STEPLESS = "{desc}… {elapsed}"                  # a stage that reports no steps: what it does, and for how long


@contextmanager
def stage_bars():
    """Progress bars for work in stages that reports progress(stage, done, expected): one bar per stage, shown as
    soon as the stage says it begins (done 0) and closed when the next one starts; a stage without steps (expected
    0) is one line with its time."""
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, expected: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=expected or None, desc=stage, unit="step", disable=None,
                               bar_format=None if expected else STEPLESS)
        bar = bars[stage]
        if expected and bar.total != expected:
            bar.total, bar.bar_format = expected, None
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


__all__ = ["STEPLESS", "stage_bars"]
