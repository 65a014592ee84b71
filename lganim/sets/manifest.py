"""The manifest of a set: one row a clip, as CSV (a header line naming the columns) or JSON Lines (one object a line).

    id,seed,prompt,frames,fps                                    (CSV)
    s1-smiling,1,The person is smiling.,16,10
    {"id": "me-driven", "image": "me.png", "track": "motion.json"}   (JSON Lines)

Columns (`COLUMNS`): `id` names the clip's files (`<id>.mp4`, `<id>.json`: letters, digits, `_` and `-`); the face is
a `seed` or an `image` (a photo; paths are relative to the manifest's folder); the motion is a `prompt` or a `track`
(a motion track file, .json or .csv); `domain` (default: the command's), `frames`, `fps`, `strength`, `truncation`
and `schedule` are optional (an empty cell: the default). Each row becomes the library's request for it — a `Request`
for a prompt, a `DriveRequest` with a track `Driving` for a track — checked by that request's own checks, with its
photo's header and its track file read, so a bad row is reported with its line number before any work starts. No
torch here: the command checks its manifest before torch is imported.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .. import checks
from ..config import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_SCHEDULE,
    DEFAULT_STRENGTH,
    MANIFEST_SUFFIXES,
    MAX_DRIVEN_FRAMES,
    MAX_SEED,
    MAX_SET_ID_CHARS,
)
from ..errors import LganimError
from ..face.photo import check_photo
from ..request import DriveRequest, Driving, Request
from ..tracks.track import Track, output_frames
from ..weights.hub import sha256_of
from ..weights.registry import DOMAINS, get_domain

COLUMNS = ("id", "domain", "seed", "image", "prompt", "track", "frames", "fps", "strength", "truncation", "schedule")
NUMBERS = ("seed", "frames", "fps", "strength", "truncation")        # CSV text of these columns is read as a number
ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_SET_ID_CHARS - 1}}}$")
TRACK_ONLY_NOT = ("frames", "schedule")          # what a track row cannot set: its track gives its frames


@dataclass(frozen=True)
class Row:
    """One clip of a set, checked and with its defaults filled in. `image` and `track` are as the manifest wrote them
    (relative to `folder`, the manifest's folder), with their files' sha256; `frames` of a track row come from its
    track (at `fps`, or one frame per track sample when `fps` is None)."""

    line: int
    id: str
    domain: str
    seed: int | None
    image: str | None
    prompt: str | None
    track: str | None
    frames: int
    fps: int | None
    strength: float
    truncation: float | None
    schedule: str | None
    image_sha256: str | None
    track_sha256: str | None
    folder: Path

    @property
    def image_path(self) -> Path | None:
        return None if self.image is None else self.folder / self.image

    @property
    def track_path(self) -> Path | None:
        return None if self.track is None else self.folder / self.track

    def settings(self) -> dict:
        """What makes the clip, as JSON (a finished row's record keeps it; a changed row is rendered again)."""
        return {"id": self.id, "domain": self.domain, "seed": self.seed, "image": self.image, "prompt": self.prompt,
                "track": self.track, "frames": self.frames, "fps": self.fps, "strength": self.strength,
                "truncation": self.truncation, "schedule": self.schedule, "image_sha256": self.image_sha256,
                "track_sha256": self.track_sha256}

    @property
    def batch_key(self) -> tuple | None:
        """Rows with the same key are one batched request (seeds of one prompt and settings); None: a row alone
        (a photo is inverted on its own, a track drives one face)."""
        if self.image is not None or self.track is not None:
            return None
        return (self.domain, self.prompt, self.frames, self.fps, self.strength, self.truncation, self.schedule)

    def request(self) -> Request | DriveRequest:
        """The library's request of this one row."""
        if self.track is not None:
            return DriveRequest(driving=Driving(kind="video", source=self.track_path), seed=self.seed or 0,
                                image=self.image_path, fps=self.fps, strength=self.strength,
                                truncation=self.truncation)
        return Request(prompts=self.prompt, seeds=self.seed or 0, image=self.image_path, num_frames=self.frames,
                       fps=self.fps, strength=self.strength, truncation=self.truncation, schedule=self.schedule)


def batch_request(rows: tuple[Row, ...] | list[Row]) -> Request | DriveRequest:
    """One request for rows that share a batch key: one clip per row, in their order (one prompt, their seeds)."""
    first = rows[0]
    if len(rows) == 1:
        return first.request()
    if first.batch_key is None or any(r.batch_key != first.batch_key for r in rows):
        raise LganimError("Only rows of seeds with the same domain, prompt and settings make one request.")
    return Request(prompts=first.prompt, seeds=[r.seed for r in rows], num_frames=first.frames, fps=first.fps,
                   strength=first.strength, truncation=first.truncation, schedule=first.schedule)


@dataclass(frozen=True)
class Manifest:
    """The rows of a manifest file, in its order."""

    path: Path
    rows: tuple[Row, ...]

    @cached_property
    def sha256(self) -> str:
        """What the rows ask for (their settings, in order; not their line numbers or the file's layout): a folder of
        results belongs to one manifest."""
        text = json.dumps([r.settings() for r in self.rows], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def domains(self) -> list[str]:
        return sorted({r.domain for r in self.rows})


def read_manifest(path: str | Path, domain: str = "human") -> Manifest:
    """Read and check a manifest (see the module doc); `domain` is the default of rows that name none. Raises one
    `LganimError` naming the file and the line of the first bad row (and how many more there are)."""
    path = Path(checks.input_file("The manifest", path))
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise LganimError(f"The manifest {checks.shown(path.name)} must be a .csv or .jsonl file.")
    get_domain(domain)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise LganimError(f"{path.name} is not a manifest: it is not UTF-8 text.") from None
    records = csv_records(text, path.name) if suffix == ".csv" else json_records(text, path.name)
    rows, bad, first_line = [], [], {}
    for line, values in records:
        try:
            if isinstance(values, LganimError):              # a line that is no row at all
                raise values
            row = parse_row(values, line, path.parent, domain)
            if row.id in first_line:
                raise LganimError(f"the id {row.id!r} is used again (first on line {first_line[row.id]}).")
            first_line[row.id] = line
            rows.append(row)
        except LganimError as err:
            bad.append((line, err))
    if bad:
        (line, err), more = bad[0], [str(n) for n, _ in bad[1:]]
        others = f" (and {len(more)} more bad row{'s' * (len(more) > 1)}: line {', '.join(more[:5])}" \
                 f"{', ...' if len(more) > 5 else ''})" if more else ""
        raise LganimError(f"{path.name} line {line}: {err}{others}")
    if not rows:
        raise LganimError(f"{path.name} holds no rows: give one clip a line.")
    return Manifest(path, tuple(rows))


def csv_records(text: str, name: str) -> list[tuple[int, dict | LganimError]]:
    """(line number, column -> cell, or what is wrong with the line) of every row of a CSV manifest; its first line
    names the columns."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise LganimError(f"{name} is empty: its first line names the columns ({', '.join(COLUMNS)}).") from None
    except csv.Error as err:
        raise LganimError(f"{name} is not a manifest: line 1 is not CSV ({err}).") from None
    if "id" not in header:
        raise LganimError(f"{name} is not a manifest: its first line must name the columns, id first, e.g. "
                          f"id,seed,prompt (the columns: {', '.join(COLUMNS)}).")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise LganimError(f"{name} line 1: unknown column {checks.shown(unknown[0])}: the columns are "
                          f"{', '.join(COLUMNS)}.")
    if len(set(header)) != len(header):
        raise LganimError(f"{name} line 1: a column is named twice.")
    records = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue                                     # a blank line
            if len(cells) > len(header):
                records.append((reader.line_num, LganimError(
                    f"{len(cells)} cells for {len(header)} columns (quote a prompt that holds a comma).")))
            else:
                records.append((reader.line_num, dict(zip(header, cells))))
    except csv.Error as err:
        raise LganimError(f"{name} line {reader.line_num}: not CSV ({err}).") from None
    return records


def json_records(text: str, name: str) -> list[tuple[int, dict | LganimError]]:
    """(line number, column -> value, or what is wrong with the line) of every row of a JSON Lines manifest: one JSON
    object a line."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = json.loads(line)
        except ValueError:
            values = None
        if not isinstance(values, dict):
            if not records:
                raise LganimError(f"{name} is not a manifest: line {number} is not a JSON object such as "
                                  f'{{"id": "a", "seed": 1, "prompt": "The person is smiling."}}.')
            values = LganimError("not a JSON object.")
        records.append((number, values))
    return records


def parse_row(values: dict, line: int, folder: Path, default_domain: str) -> Row:
    """One row from its cells (CSV text, or JSON values), checked by the request it becomes."""
    unknown = [k for k in values if k not in COLUMNS]
    if unknown:
        raise LganimError(f"unknown column {checks.shown(unknown[0])}: the columns are {', '.join(COLUMNS)}.")
    v = {k: cell(values.get(k), k in NUMBERS) for k in COLUMNS}
    if v["id"] is None:
        raise LganimError("the id is empty: name each clip (letters, digits, _ and -; its files are <id>.mp4 and "
                          "<id>.json).")
    if not isinstance(v["id"], str) or not ID.match(v["id"]):
        raise LganimError(f"the id {checks.shown(v['id'])} must be 1 to {MAX_SET_ID_CHARS} letters, digits, _ or - "
                          f"(it names the clip's files), starting with a letter or digit.")
    domain = get_domain(default_domain if v["domain"] is None else v["domain"])
    if (v["seed"] is None) == (v["image"] is None):
        raise LganimError("give the face: a seed or an image, not both." if v["seed"] is not None else
                          "give the face: a seed or an image (a photo).")
    if v["prompt"] is not None and v["track"] is not None:
        raise LganimError("give the motion: a prompt or a track, not both.")
    image = file_cell("image", v["image"])
    if image is not None:
        if not domain.supports_photos:
            photos = ", ".join(d.name for d in DOMAINS.values() if d.supports_photos)
            raise LganimError(f"the {domain.name} domain takes no photos (only {photos} have a photo encoder): give "
                              f"a seed.")
        check_photo(checks.input_file("The photo", folder / image))
    strength = DEFAULT_STRENGTH if v["strength"] is None else v["strength"]
    common = dict(line=line, id=v["id"], domain=domain.name, image=image, folder=folder)
    if v["track"] is not None:
        return track_row(v, file_cell("track", v["track"]), strength, common)
    request = Request(prompts=v["prompt"], seeds=0 if v["seed"] is None else v["seed"], image=None,
                      num_frames=DEFAULT_FRAMES if v["frames"] is None else v["frames"],
                      fps=DEFAULT_FPS if v["fps"] is None else v["fps"], strength=strength,
                      truncation=v["truncation"], schedule=DEFAULT_SCHEDULE if v["schedule"] is None else v["schedule"])
    return Row(seed=None if image is not None else request.seeds[0], prompt=request.prompts[0], track=None,
               frames=request.num_frames, fps=request.fps, strength=request.strength, truncation=request.truncation,
               schedule=request.schedule, image_sha256=None if image is None else sha256_of(folder / image),
               track_sha256=None, **common)


def track_row(v: dict, track: str, strength, common: dict) -> Row:
    """A row whose face a motion track drives (through the domain's control directions)."""
    given = [k for k in TRACK_ONLY_NOT if v[k] is not None]
    if given:
        raise LganimError(f"a track row takes no {given[0]}: its frames come from its track (at fps, or one per "
                          f"track sample).")
    folder, image = common["folder"], common["image"]
    motion = Track.load(checks.input_file("The track", folder / track))
    seed = None if image is not None else checks.whole("seed", v["seed"], 0, MAX_SEED)
    request = DriveRequest(driving=Driving(kind="video", source=folder / track), seed=seed or 0, image=None,
                           fps=v["fps"], strength=strength, truncation=v["truncation"])
    frames = len(motion) if request.fps is None else output_frames(motion.duration, request.fps)
    checks.whole("The track's frames", frames, 1, MAX_DRIVEN_FRAMES)
    return Row(seed=seed, prompt=None, track=track, frames=frames, fps=request.fps, strength=request.strength,
               truncation=request.truncation, schedule=None,
               image_sha256=None if image is None else sha256_of(folder / image),
               track_sha256=sha256_of(folder / track), **common)


def cell(value, numeric: bool):
    """A cell's value: None when empty; the CSV text of a `numeric` column that reads as a number becomes the number
    (anything else is left for the request's checks to name)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or not numeric:
        return text or None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def file_cell(column: str, value) -> str | None:
    """A path cell (a photo, a track): text or nothing."""
    if value is not None and not isinstance(value, str):
        raise LganimError(f"{column} must be a file path, got {checks.shown(value)}.")
    return value


__all__ = ["COLUMNS", "Row", "Manifest", "read_manifest", "batch_request", "parse_row", "csv_records",
           "json_records"]
