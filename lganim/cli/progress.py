"""Progress bars of the commands, on a terminal only (tqdm turns itself off elsewhere). No torch here, so that
`track` starts at once."""
from __future__ import annotations

from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def stage_bars():
    """Progress bars for work in stages that reports progress(stage, done, expected): one bar per stage, closed
    when the next one starts."""
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


__all__ = ["stage_bars"]
