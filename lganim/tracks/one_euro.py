"""The One-Euro filter (Casiez, Roussel and Vogel, "1€ Filter", CHI 2012): causal smoothing of a noisy signal that
follows fast moves with little lag and steadies slow ones — what the live tracker smooths landmarks with.

Each sample x (any shape; every element is filtered on its own) at time t is blended with the previous output by an
exponential smoother whose cut-off frequency grows with the signal's speed:

    f_c = min_cutoff + beta · |dx/dt| / scale          (Hz; dx/dt itself smoothed at d_cutoff)
    α   = 1 / (1 + 1 / (2π f_c Δt))                     x̂ = x̂_prev + α (x − x̂_prev)

`scale` puts the speed in the signal's natural unit (e.g. face widths a second for landmarks in pixels), so one
`beta` serves faces of any size. Only the past is used: the output at t never depends on a later sample.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import LganimError


class OneEuroFilter:
    """A causal One-Euro filter (see the module doc); `reset()` forgets the past (after a gap in the signal)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 1.0, d_cutoff: float = 1.0):
        if not (math.isfinite(min_cutoff) and min_cutoff > 0 and math.isfinite(beta) and beta >= 0
                and math.isfinite(d_cutoff) and d_cutoff > 0):
            raise LganimError(f"One-Euro settings must be finite with min_cutoff > 0, beta >= 0 and d_cutoff > 0; "
                              f"got {min_cutoff!r}, {beta!r}, {d_cutoff!r}.")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None          # last output
        self._dx: np.ndarray | None = None         # last smoothed speed (units a second)
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        """The filtered value of sample `x` at time `t` (seconds; later than the previous sample's)."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        if not dt > 0:
            raise LganimError(f"Samples must come in time order: got t = {t!r} after {self._t!r}.")
        speed = (x - self._x) / dt
        self._dx = self._dx + self._alpha(self.d_cutoff, dt) * (speed - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx) / max(float(scale), 1e-12)
        self._x = self._x + self._alpha(cutoff, dt) * (x - self._x)
        self._t = float(t)
        return self._x.copy()


__all__ = ["OneEuroFilter"]
