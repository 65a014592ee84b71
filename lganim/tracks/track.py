"""Motion tracks: named per-frame channels on a timebase, the file every motion source writes.

A track holds N samples at times `t` (seconds, strictly increasing, not necessarily evenly spaced),
a value per sample for each of a subset of `CHANNELS`, a validity flag per sample (False where the
source lost the face; those values are placeholders or interpolated) and free-form JSON metadata.

Files (chosen by suffix):

- `.json`: {"format": "lganim.track", "version": 1, "fps": ..., "meta": {...}, "t": [...],
  "channels": {name: [...]}, "valid": [true, ...]}.
- `.csv`: a first comment line `# lganim.track v1 fps=<float> meta=<json on one line>`, then the
  header `frame,t,valid,<channel>,...` and one row per sample (frame = 0..N-1, valid = 0 or 1).
  The comment line may be left out of a hand-written file: fps then comes from the sample times
  and meta is empty.

Floats are written with Python's shortest round-trip repr, so loading gives back exactly what was saved.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import checks
from ..config import CHANNELS, MAX_TRACK_FPS, TRACK_SUFFIXES
from ..errors import LganimError
from ..files import atomic_path

FORMAT = "lganim.track"
VERSION = 1
MAX_SMOOTH_HALF_WINDOW = 0.4   # seconds: the half-width of the smoothing window at amount = 1


def output_frames(duration: float, fps: float) -> int:
    """Frames of a video at `fps` that covers `duration` seconds: ceil(duration × fps), at least one (the tolerance
    absorbs float noise)."""
    return max(1, math.ceil(duration * fps - 1e-6))


def _bad(source: str | None, what: str) -> LganimError:
    """The error for an inconsistent track: `source` is a file name, or None for a track built in memory."""
    if source is None:
        return LganimError(f"Invalid motion track ({what}); pass finite values on strictly increasing times.")
    return LganimError(f"{source} is not a valid lganim track ({what}); save it again with lganim or fix the file.")


@dataclass
class Track:
    """A motion track. See the module docstring for the meaning of the fields and the file layout.

    fps: nominal (average) sample rate; t: float64 [N] seconds, strictly increasing;
    channels: name -> float64 [N] (names from CHANNELS, kept in CHANNELS order); valid: bool [N];
    meta: JSON-serialisable dict (source, smoothing, seed, ...).
    """

    fps: float
    t: np.ndarray
    channels: dict[str, np.ndarray]
    valid: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self._check(None)

    def _check(self, source: str | None) -> None:
        """Normalise the fields' types and refuse inconsistent data, naming `source` (a file) in the error."""
        try:
            fps = float(self.fps)
            t = np.asarray(self.t, dtype=np.float64)
            valid = np.asarray(self.valid) if len(self.valid) else np.zeros(0, dtype=bool)
            channels = {str(k): np.asarray(v, dtype=np.float64) for k, v in dict(self.channels).items()}
        except (TypeError, ValueError) as err:
            raise _bad(source, f"a field has the wrong type: {err}") from None
        if not math.isfinite(fps) or not 0 < fps <= MAX_TRACK_FPS:
            raise _bad(source, f"fps must be a number in (0, {MAX_TRACK_FPS:g}], got {self.fps!r}")
        if t.ndim != 1:
            raise _bad(source, f"t must be a list of times, got shape {list(t.shape)}")
        n = len(t)
        if valid.dtype != np.bool_ or valid.shape != (n,):
            raise _bad(source, f"valid must hold {n} booleans, got {valid.dtype} {list(valid.shape)}")
        unknown = [k for k in channels if k not in CHANNELS]
        if unknown:
            raise _bad(source, f"unknown channel(s) {unknown}; known: {', '.join(CHANNELS)}")
        for name, values in [("t", t)] + list(channels.items()):
            if values.shape != (n,):
                raise _bad(source, f"{name} has {values.size} values but t has {n}")
            if not np.isfinite(values).all():
                raise _bad(source, f"{name} holds NaN or infinite values")
        if n > 1 and not (np.diff(t) > 0).all():
            raise _bad(source, "the times t are not strictly increasing")
        if not isinstance(self.meta, dict):
            raise _bad(source, f"meta must be a dict, got {type(self.meta).__name__}")
        self.fps, self.t, self.valid = fps, t, valid
        self.channels = {k: channels[k] for k in CHANNELS if k in channels}

    def __len__(self) -> int:
        return len(self.t)

    @property
    def duration(self) -> float:
        """Seconds covered: the last sample's time plus one nominal frame (0 for an empty track)."""
        return float(self.t[-1] + 1.0 / self.fps) if len(self.t) else 0.0

    def channel(self, name: str) -> np.ndarray:
        """The values of channel `name` (float64 [N]); zeros when the track does not have it."""
        if name not in CHANNELS:
            raise LganimError(f"Unknown track channel '{name}'; use one of {', '.join(CHANNELS)}.")
        return self.channels[name] if name in self.channels else np.zeros(len(self.t))

    def _replace(self, t=None, channels=None, valid=None, fps=None, meta=None) -> Track:
        return Track(fps=self.fps if fps is None else fps, t=self.t if t is None else t,
                     channels=self.channels if channels is None else channels,
                     valid=self.valid if valid is None else valid,
                     meta=dict(self.meta) if meta is None else meta)

    # ---------------------------------------------------------------------------------------- files

    def save(self, path: str | os.PathLike) -> Path:
        """Write the track to a .json or .csv file (by suffix), atomically; returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in TRACK_SUFFIXES:
            raise LganimError(f"A track file name must end in .json or .csv, got '{path.name}'.")
        if not path.parent.is_dir():
            raise LganimError(f"The folder '{path.parent}' does not exist; create it first.")
        try:
            meta_json = json.dumps(self.meta, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise LganimError(f"The track's meta cannot be saved as JSON ({err}); keep it to plain "
                              "numbers, strings, lists and dicts.") from None
        text = self._json_text(meta_json) if suffix == ".json" else self._csv_text(meta_json)
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    def _json_text(self, meta_json: str) -> str:
        # One line per array keeps a long track readable and small (no number per line).
        lines = [f'  "format": {json.dumps(FORMAT)},', f'  "version": {VERSION},',
                 f'  "fps": {json.dumps(self.fps)},', f'  "meta": {meta_json},',
                 f'  "t": {json.dumps(self.t.tolist())},', '  "channels": {']
        items = [f'    {json.dumps(k)}: {json.dumps(v.tolist())}' for k, v in self.channels.items()]
        lines += [",\n".join(items)] if items else []
        lines += ['  },', f'  "valid": {json.dumps(self.valid.tolist())}']
        return "{\n" + "\n".join(lines) + "\n}\n"

    def _csv_text(self, meta_json: str) -> str:
        out = io.StringIO()
        out.write(f"# {FORMAT} v{VERSION} fps={self.fps!r} meta={meta_json}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["frame", "t", "valid", *self.channels])
        columns = [self.t.tolist(), self.valid.astype(int).tolist(), *(v.tolist() for v in self.channels.values())]
        for i, row in enumerate(zip(*columns)):
            writer.writerow([i, *map(repr, row)])
        return out.getvalue()

    @classmethod
    def load(cls, path: str | os.PathLike) -> Track:
        """Read a track saved by `save` (.json or .csv, by suffix); refuses anything inconsistent."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in TRACK_SUFFIXES:
            raise LganimError(f"A track file name must end in .json or .csv, got '{path.name}'.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise LganimError(f"Cannot read the track file '{path}' ({err.__class__.__name__}); "
                              "check the path.") from None
        return _parse_json(text, path.name) if suffix == ".json" else _parse_csv(text, path.name)

    # ------------------------------------------------------------------------------------ operations

    def resample(self, fps: float, duration: float | None = None) -> Track:
        """The track at times k / fps, k = 0 .. ceil(duration * fps) - 1 (duration: default self.duration).

        Works by time, never by index: each channel is linearly interpolated between the valid samples
        around each new time (held beyond the first/last one), so rates like 29.97 -> 25 do not drift.
        A new sample is valid when the original sample nearest in time is. With no valid sample at
        all, every sample is used and all stay invalid.
        """
        fps = checks.positive("The resampling rate (frames per second)", fps, MAX_TRACK_FPS)
        duration = self.duration if duration is None else float(duration)
        if not math.isfinite(duration) or duration < 0:
            raise LganimError(f"The resampling duration must be a non-negative number of seconds, got {duration!r}.")
        if not len(self.t):
            raise LganimError("Cannot resample an empty track; track at least one frame first.")
        n = max(int(math.ceil(duration * fps - 1e-6)), 0)      # the tolerance absorbs float noise in duration
        t_new = np.arange(n, dtype=np.float64) / fps
        use = self.valid if self.valid.any() else np.ones(len(self.t), dtype=bool)
        channels = {k: np.interp(t_new, self.t[use], v[use]) for k, v in self.channels.items()}
        # nearest original sample of each new time (ties to the earlier one)
        nearest = np.zeros(n, dtype=np.int64)
        if len(self.t) > 1:
            right = np.clip(np.searchsorted(self.t, t_new), 1, len(self.t) - 1)
            left = right - 1
            nearest = np.where(np.abs(t_new - self.t[left]) <= np.abs(self.t[right] - t_new), left, right)
        valid = self.valid[nearest]
        meta = dict(self.meta, resampled_from_fps=self.fps)
        return self._replace(t=t_new, channels=channels, valid=valid, fps=fps, meta=meta)

    def interpolate_invalid(self) -> Track:
        """Fill the values of invalid samples by linear interpolation in time between the valid ones
        (holding the first/last valid value at the ends). The `valid` flags stay as they are, so the
        filled samples remain marked."""
        if not self.valid.any():
            raise LganimError("Every frame of this track is invalid (the face was never found); "
                              "use a video in which the face is visible.")
        if self.valid.all():
            return self._replace(channels={k: v.copy() for k, v in self.channels.items()})
        bad = ~self.valid
        channels = {}
        for name, values in self.channels.items():
            values = values.copy()
            values[bad] = np.interp(self.t[bad], self.t[self.valid], values[self.valid])
            channels[name] = values
        return self._replace(channels=channels)

    def smooth(self, amount: float) -> Track:
        """Zero-phase smoothing with one knob, `amount` in [0, 1] (0 returns the track unchanged).

        Savitzky–Golay in time: each value is replaced by a least-squares quadratic fitted to the samples
        within +-amount * MAX_SMOOTH_HALF_WINDOW (0.4 s) of it and evaluated at its time. Fitting in time
        rather than in sample counts handles variable frame rates; a symmetric window keeps the
        position of steps (it only softens them). Rough -3 dB cut-off: 1 / (1.07 * half-window) Hz,
        i.e. about 9 Hz at amount 0.25 and 2.3 Hz at 1. Windows of fewer than 4 samples leave the value
        unchanged (a quadratic through 3 points reproduces them). Invalid samples take part with their
        current values: fill them first (`interpolate_invalid`).
        """
        amount = float(amount)
        if not math.isfinite(amount) or not 0 <= amount <= 1:
            raise LganimError(f"The smoothing amount must be between 0 and 1, got {amount!r}.")
        meta = dict(self.meta, smoothing=amount)
        if amount == 0 or len(self.t) < 4 or not self.channels:
            return self._replace(channels={k: v.copy() for k, v in self.channels.items()}, meta=meta)
        half = amount * MAX_SMOOTH_HALF_WINDOW
        lo = np.searchsorted(self.t, self.t - half, side="left")          # [N] first index in each window
        hi = np.searchsorted(self.t, self.t + half, side="right")         # [N] one past the last
        width = int((hi - lo).max())
        idx = lo[:, None] + np.arange(width)[None, :]                      # [N, W] window indices
        inside = idx < hi[:, None]                                         # [N, W] mask of real samples
        idx = np.minimum(idx, len(self.t) - 1)
        x = (self.t[idx] - self.t[:, None]) / half                         # [N, W] offsets, scaled to ~[-1, 1]
        x = np.where(inside, x, 0.0)
        powers = x[..., None] ** np.arange(3)                              # [N, W, 3] 1, x, x^2
        powers = powers * inside[..., None]
        normal = powers.transpose(0, 2, 1) @ powers                        # [N, 3, 3]
        enough = (hi - lo) >= 4
        normal[~enough] = np.eye(3)                                        # placeholder; value kept below
        values = np.stack(list(self.channels.values()), axis=-1)          # [N, C]
        rhs = powers.transpose(0, 2, 1) @ values[idx]                      # [N, 3, C]
        fitted = np.linalg.solve(normal, rhs)[:, 0, :]                     # [N, C] the fit at x = 0
        fitted = np.where(enough[:, None], fitted, values)
        channels = {k: fitted[:, i].copy() for i, k in enumerate(self.channels)}
        return self._replace(channels=channels, meta=meta)

    def relative_to(self, index: int = 0) -> Track:
        """Every channel minus its value at sample `index` (the neutral frame)."""
        n = len(self.t)
        if not -n <= index < n:
            raise LganimError(f"The neutral frame {index} is outside the track's {n} frames; "
                              f"choose one from 0 to {n - 1}.")
        return self._replace(channels={k: v - v[index] for k, v in self.channels.items()})


# ------------------------------------------------------------------------------------------ parsing

def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _parse_json(text: str, source: str) -> Track:
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:                      # includes json.JSONDecodeError (truncated files)
        raise _bad(source, f"unreadable JSON: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(source, f"its format is not \"{FORMAT}\"")
    if data.get("version") != VERSION:
        raise LganimError(f"{source} is a version {data.get('version')!r} track; this lganim reads version "
                          f"{VERSION}; update lganim or save the track again.")
    missing = [k for k in ("fps", "t", "channels", "valid") if k not in data]
    if missing:
        raise _bad(source, f"missing {', '.join(missing)}")
    if not isinstance(data["channels"], dict) or not isinstance(data["valid"], list) \
            or not all(isinstance(v, bool) for v in data["valid"]):
        raise _bad(source, "channels must be a dict of lists and valid a list of true/false")
    track = Track.__new__(Track)
    track.fps, track.t, track.channels = data["fps"], data["t"], data["channels"]
    track.valid, track.meta = data["valid"], data.get("meta", {})
    track._check(source)
    return track


def _parse_csv(text: str, source: str) -> Track:
    lines = text.splitlines()
    fps, meta = None, {}
    if lines and lines[0].startswith("#"):
        head = lines.pop(0)[1:].split(maxsplit=3)
        if len(head) < 3 or head[0] != FORMAT or not head[2].startswith("fps="):
            raise _bad(source, f"its first line is not '# {FORMAT} v{VERSION} fps=... meta=...'")
        if head[1] != f"v{VERSION}":
            raise LganimError(f"{source} is a {head[1]} track; this lganim reads v{VERSION}; "
                              "update lganim or save the track again.")
        try:
            fps = float(head[2][4:])
            if len(head) == 4:
                if not head[3].startswith("meta="):
                    raise ValueError("expected meta=<json>")
                meta = json.loads(head[3][5:], parse_constant=_reject_constant)
        except ValueError as err:
            raise _bad(source, f"bad first line: {err}") from None
    rows = list(csv.reader(lines))
    if not rows or rows[0][:3] != ["frame", "t", "valid"]:
        raise _bad(source, "the header must start with frame,t,valid")
    names = rows[0][3:]
    body = rows[1:]
    for i, row in enumerate(body):
        if len(row) != len(rows[0]):
            raise _bad(source, f"row {i} has {len(row)} fields instead of {len(rows[0])} (truncated?)")
        if row[0] != str(i) or row[2] not in ("0", "1"):
            raise _bad(source, f"row {i} must start with frame {i} and a valid flag of 0 or 1")
    try:
        columns = np.array([[float(x) for x in row[1:2] + row[3:]] for row in body], dtype=np.float64)
    except ValueError as err:
        raise _bad(source, f"a value is not a number: {err}") from None
    columns = columns.reshape(len(body), 1 + len(names))
    t = columns[:, 0]
    if fps is None:                                # a hand-written file: the average rate of its samples
        fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 25.0
    if len(set(names)) != len(names):
        raise _bad(source, "a channel appears twice in the header")
    track = Track.__new__(Track)
    track.fps, track.t, track.meta = fps, t, meta
    track.channels = {name: columns[:, 1 + i] for i, name in enumerate(names)}
    track.valid = np.array([row[2] == "1" for row in body], dtype=bool)
    track._check(source)
    return track


__all__ = ["CHANNELS", "FORMAT", "VERSION", "Track", "output_frames"]
