"""A set's folder of results, the one record of what is done.

For each finished row: `<id>.mp4` (written through the output stage) and `<id>.json` (its record: the row, the set,
who rendered it, with what and how long it took), the record written last, so that it marks the row done. A row
that failed leaves `<id>.failed.json` (why) instead, and is skipped by a rerun unless asked. A row is done when its
record holds the same row settings and motion; a rerun renders what is not done, and nothing twice. Every file is
written under a hidden temporary name beside it and renamed when whole (lganim.files), so a process killed at any
moment leaves no half-written file under a final name; `sweep` removes what it left. Other files in the folder are
left alone. No torch here: the command checks the folder before torch is imported.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import checks
from ..errors import LganimError
from ..files import TEMP_NAME, sweep_temporaries, write_json
from .manifest import Manifest, Row

RECORD = "lganim.set-row"             # the "format" of a finished row's record
FAILURE = "lganim.set-failure"        # ... and of a failed row's
VERSION = 1
FAILED_SUFFIX = ".failed.json"
# a temporary of a row's files: `.<id>.tmp.…` (its MP4, sound, record) or `.<id>.failed.tmp.…` (its failure)
ROW_TEMPORARY = re.compile(r"^\.(?P<id>[A-Za-z0-9][A-Za-z0-9_-]*)(?:\.failed)?\.(?:tmp|old)\.")


def video_file(out: Path, row_id: str) -> Path:
    return out / f"{row_id}.mp4"


def record_file(out: Path, row_id: str) -> Path:
    return out / f"{row_id}.json"


def failure_file(out: Path, row_id: str) -> Path:
    return out / f"{row_id}{FAILED_SUFFIX}"


def set_of(manifest: Manifest, motion: str | None) -> dict:
    """What a record says about its set: the manifest (name, sha256 of its rows) and the motion it was rendered with
    (`--motion`; None: the domain's own)."""
    return {"manifest": manifest.path.name, "manifest_sha256": manifest.sha256, "motion": motion}


@dataclass
class FolderState:
    """What a folder holds for a manifest: the rows done, the rows failed (id -> why), and a record of another set
    (None: none)."""

    done: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    other_set: dict | None = None


def read_json(path: Path) -> dict | None:
    """A JSON object from a file, or None (unreadable, not JSON, not an object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def records(out: Path, kind: str = RECORD) -> dict[str, dict]:
    """id -> record of every row record (`kind` RECORD) or failure (FAILURE) in the folder."""
    found: dict[str, dict] = {}
    if not out.is_dir():
        return found
    for entry in os.scandir(out):
        if entry.name.startswith(".") or not entry.name.endswith(".json") or not entry.is_file():
            continue
        data = read_json(Path(entry.path))
        if data is not None and data.get("format") == kind and isinstance(data.get("id"), str):
            found[data["id"]] = data
    return found


def folder_state(out: Path, manifest: Manifest, motion: str | None) -> FolderState:
    """Which rows of `manifest` the folder holds finished (same settings and motion, and their video there) or
    failed, and whether it holds results of another set."""
    state = FolderState()
    ours = set_of(manifest, motion)
    done, failed = records(out, RECORD), records(out, FAILURE)
    for record in done.values():
        theirs = record.get("set") or {}
        if (theirs.get("manifest_sha256"), theirs.get("motion")) != (ours["manifest_sha256"], motion):
            state.other_set = theirs
            break
    for row in manifest.rows:
        record, failure = done.get(row.id), failed.get(row.id)
        if matches(record, row, motion) and video_file(out, row.id).is_file():
            state.done.add(row.id)
        elif matches(failure, row, motion):
            state.failed[row.id] = str(failure.get("why", ""))
    return state


def matches(record: dict | None, row: Row, motion: str | None) -> bool:
    """Whether a record (or failure) is of this row, as it now stands, rendered with this motion."""
    return (record is not None and record.get("row") == row.settings()
            and (record.get("set") or {}).get("motion") == motion)


def check_folder(out: Path, manifest: Manifest, motion: str | None, resume: bool) -> FolderState:
    """The folder a set is rendered into: a folder (or a new one in a folder that exists) that holds no other set's
    results, unless `resume` (then rows that changed are rendered again). Returns what it holds."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LganimError(f"--out {checks.shown(str(out))} is a file: give a folder for the set's clips.")
    if not out.exists() and not out.parent.is_dir():
        raise LganimError(f"The folder {out.parent} does not exist; create it first.")
    state = folder_state(out, manifest, motion)
    if state.other_set is not None and not resume:
        other = state.other_set
        what = f"of {other.get('manifest')}" if other.get("manifest_sha256") != manifest.sha256 else \
            f"made with --motion {other.get('motion') or '(the domain default)'}"
        raise LganimError(f"{out} holds the results of another set ({what}): give another --out, or --resume to "
                          f"add to them (rows that changed are rendered again).")
    return state


def sweep(out: Path, row_ids: Iterable[str]) -> list[Path]:
    """Remove the temporaries of rows `row_ids` — this process renders them now, so whoever wrote them before, on any
    machine, is gone — and the abandoned temporaries of any other writer (`lganim.files.sweep_temporaries`: its
    process is dead, or the file has not changed for a day). Returns what was removed."""
    removed = sweep_temporaries(out, depth=0)
    mine = set(row_ids)
    for entry in list(out.iterdir()):
        match = ROW_TEMPORARY.match(entry.name)
        if match is None or match.group("id") not in mine or not TEMP_NAME.match(entry.name):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:                       # removed meanwhile
            continue
        removed.append(entry)
    return removed


def write_record(out: Path, row: Row, set_info: dict, fields: dict) -> Path:
    """Mark a row done: its record (written last, atomically), and its earlier failure removed."""
    path = record_file(out, row.id)
    write_json(path, {"format": RECORD, "version": VERSION, "id": row.id, "line": row.line, "row": row.settings(),
                      "set": set_info, **fields})
    failure_file(out, row.id).unlink(missing_ok=True)
    return path


def write_failure(out: Path, row: Row, set_info: dict, why: str, fields: dict) -> Path:
    """Mark a row failed, with why; a record of the row's earlier settings goes (the folder holds no clip of it)."""
    path = failure_file(out, row.id)
    write_json(path, {"format": FAILURE, "version": VERSION, "id": row.id, "line": row.line, "row": row.settings(),
                      "set": set_info, "why": why, **fields})
    record_file(out, row.id).unlink(missing_ok=True)
    return path


__all__ = ["RECORD", "FAILURE", "VERSION", "video_file", "record_file", "failure_file", "set_of", "FolderState",
           "read_json", "records", "folder_state", "matches", "check_folder", "sweep", "write_record",
           "write_failure"]
