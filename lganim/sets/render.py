"""Rendering a set: every row of a manifest once, on one process or across the processes torchrun starts.

    python -m lganim render-set --manifest set.csv --out clips
    torchrun --standalone --nproc_per_node 8 -m lganim render-set --manifest set.csv --out clips

Every process joins the torchrun job (`training.train.init_distributed`: NCCL on GPUs, gloo on the CPU; without
torchrun a job of one) and renders on its own device (cuda:LOCAL_RANK, or the CPU). Then:

1. rank 0 reads the folder (the rows done, the rows failed) and sends it, with the run's id, to every process, so
   that all deal the same rows (results.py);
2. each deals the rows still to render to the processes (partition.py: batches balanced by cost), takes its share
   and removes the temporaries its rows' earlier writers left;
3. each renders its batches, one domain's models at a time: a batch's request through its Animator door, its clips
   streamed by the output stage into `<id>.mp4`, then each row's record `<id>.json` (written last: the row is done);
   a batch that fails marks its rows failed, with why, and the work goes on;
4. all wait for the slowest, and rank 0 sums up (`SetSummary`).

A process killed at any moment leaves no file under a final name that is not whole; the next run sweeps its
temporaries and renders what is not done.
"""
from __future__ import annotations

import datetime
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from .. import __version__
from ..config import SET_NOMINAL_CLIP_SECONDS, SET_NOMINAL_GFLOPS, SET_WAIT_SECONDS, FitSettings
from ..device import device_line, resolve_device, resolve_dtype
from ..errors import LganimError
from ..outputs import Outputs, Written
from ..pipeline import Animator
from ..request import DriveRequest
from ..training.train import Dist, init_distributed
from ..weights.domain_files import file_hashes
from ..weights.registry import get_domain
from .manifest import Manifest
from .partition import Batch, deal, frame_gflop, make_batches, shard_rows
from .results import (
    FolderState,
    folder_state,
    records,
    set_of,
    sweep,
    video_file,
    write_failure,
    write_record,
)


@dataclass(frozen=True, kw_only=True)
class SetRun:
    """What a run renders and how. motion: as `Animator.from_pretrained`'s (None: each domain's own; "fit"; a
    checkpoint) — part of the set: a folder holds clips of one motion. shard: (i, n), the i-th of n jobs of a job array
    (every row dealt into n shares first). redo_failed: render the rows an earlier run marked failed."""

    manifest: Manifest
    out: Path
    motion: str | None = None
    device: str = "auto"
    dtype: str | None = None
    redo_failed: bool = False
    shard: tuple[int, int] = (0, 1)


@dataclass
class SetSummary:
    """What a run did: `rows` of the manifest (its shard), `done_before` of them already done, clips rendered by each
    process (`rendered`, by rank), rows that `failed` now ({id, line, rank, why}), rows that had failed before and
    were left (`left_failed`: id -> why), and the seconds from the first process starting its work to the last
    one finishing (models loaded, prompts fitted, clips rendered and written)."""

    rows: int
    done_before: int
    rendered: list[int]
    failed: list[dict] = field(default_factory=list)
    left_failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def clips_per_second(self) -> float:
        return sum(self.rendered) / self.seconds if self.seconds > 0 else 0.0

    @property
    def done(self) -> int:
        return self.done_before + sum(self.rendered)

    def to_dict(self) -> dict:
        return {**asdict(self), "processes": len(self.rendered), "done": self.done,
                "clips_per_second": self.clips_per_second}

    def lines(self) -> list[str]:
        """The summary for people, a line each."""
        left = f" (--redo-failed renders {'it' if len(self.left_failed) == 1 else 'them'})" if self.left_failed else ""
        out = [f"rows: {self.rows}; done: {self.done} ({sum(self.rendered)} now, {self.done_before} before); "
               f"failed: {len(self.failed)} now, {len(self.left_failed)} left from before{left}"]
        if sum(self.rendered) or self.failed:
            out.append(f"rendered {count(sum(self.rendered), 'clip')} in {self.seconds:.1f} s on "
                       f"{count(len(self.rendered), 'process')}: {self.clips_per_second:.3g} clips/s "
                       f"({', '.join(f'rank {r}: {n}' for r, n in enumerate(self.rendered))})")
        else:
            out.append("nothing was left to render")
        out += [f"failed: {f['id']} (line {f['line']}, rank {f['rank']}): {f['why']}" for f in self.failed]
        return out


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def render_set(run: SetRun, *, status: Callable[[str], None] | None = None, bars: bool = False
               ) -> SetSummary | None:
    """Render a set (joining the torchrun job when torchrun started this process); rank 0 returns the summary of
    every process, the others None. status: gets a line naming this process's device and share; bars: a progress
    bar per process (on a terminal only)."""
    place, device = init_distributed(run.device, timeout=SET_WAIT_SECONDS)
    try:
        return _render(run, place, device, status, bars)
    finally:
        if place.active:
            dist.destroy_process_group()


def _render(run: SetRun, place: Dist, device: torch.device, status: Callable[[str], None] | None,
            bars: bool) -> SetSummary | None:
    began = time.perf_counter()
    out = Path(run.out)
    rows = shard_rows(run.manifest.rows, run.shard)
    news = [None, None]                                   # (what the folder holds, the run's id), from rank 0
    if place.main:
        out.mkdir(exist_ok=True)
        news = [folder_state(out, run.manifest, run.motion), uuid.uuid4().hex[:12]]
    if place.active:
        dist.broadcast_object_list(news, src=0)
    state, run_id = news
    todo = [r for r in rows if r.id not in state.done and (run.redo_failed or r.id not in state.failed)]
    share = deal(make_batches(todo, place.world), place.world)[place.rank]
    sweep(out, (r.id for b in share for r in b.rows))
    if status is not None:
        status(f"{device_line(device)} (rank {place.rank} of {place.world}: {sum(len(b.rows) for b in share)} clips)")
    mine = render_share(run, share, place, device, run_id, bars)
    everyone = [mine]
    if place.active:
        everyone = [None] * place.world if place.main else None
        dist.gather_object(mine, everyone, dst=0)
    if not place.main:
        return None
    ids = {r.id for r in rows}
    left = {} if run.redo_failed else {i: why for i, why in state.failed.items() if i in ids}
    return SetSummary(rows=len(rows), done_before=sum(r.id in state.done for r in rows),
                      rendered=[m["rendered"] for m in everyone], failed=[f for m in everyone for f in m["failed"]],
                      left_failed=left, seconds=time.perf_counter() - began)


def render_share(run: SetRun, share: list[Batch], place: Dist, device: torch.device, run_id: str,
                 bars: bool) -> dict:
    """Render this process's batches; returns {"rendered": clips, "failed": [{id, line, rank, why}]}."""
    set_info = set_of(run.manifest, run.motion)
    dtype = resolve_dtype(run.dtype)
    where = {"rank": place.rank, "world": place.world, "shard": list(run.shard), "device": str(device),
             "dtype": str(dtype).removeprefix("torch."), "run": run_id, "lganim": __version__,
             "torch": torch.__version__}
    rendered, failed = 0, []
    bar = tqdm(total=sum(len(b.rows) for b in share), unit="clip", desc=f"rank {place.rank}", position=place.rank,
               disable=None if bars else True)
    for anim, hashes, batch in domains_in_turn(share, run, device):
        started, clock = now(), time.perf_counter()
        try:
            written = render_batch(anim, batch, run.out)
        except Exception as err:                              # the row's problem (or a bug): say why, go on
            why = str(err) if isinstance(err, LganimError) else f"internal error ({type(err).__name__}: {err})"
            for row in batch.rows:
                write_failure(run.out, row, set_info, why, {**where, "started": started, "failed": now()})
                failed.append({"id": row.id, "line": row.line, "rank": place.rank, "why": why})
            bar.update(len(batch.rows))
            continue
        seconds = time.perf_counter() - clock
        height, width = written.last.shape[1:3]
        for row in batch.rows:
            write_record(run.out, row, set_info, {
                "video": video_file(run.out, row.id).name, "frames": written.frames, "fps": written.fps,
                "size": [width, height], **where, "batch": {"rows": len(batch.rows), "seconds": seconds},
                "seconds": seconds / len(batch.rows), "started": started, "finished": now(), "weights": hashes})
        rendered += len(batch.rows)
        bar.update(len(batch.rows))
    bar.close()
    return {"rendered": rendered, "failed": failed}


def domains_in_turn(share: list[Batch], run: SetRun, device: torch.device
                    ) -> Iterator[tuple[Animator, dict[str, str], Batch]]:
    """(the domain's Animator, its files' sha256, batch) for each batch; one domain's models loaded at a time (a
    share is ordered by domain), the previous ones let go first."""
    anim, hashes, domain = None, {}, None
    for batch in share:
        if batch.domain != domain:
            anim = None                                       # the previous domain's models go before the next load
            anim = Animator.from_pretrained(batch.domain, device=str(device), dtype=run.dtype, motion=run.motion)
            hashes, domain = file_hashes(anim.files, run.motion), batch.domain
        yield anim, hashes, batch


def render_batch(anim: Animator, batch: Batch, out: Path) -> Written:
    """A batch's clips, streamed into `<id>.mp4` through the output stage."""
    request = batch.request()
    result = anim.drive(request) if isinstance(request, DriveRequest) else anim(request)
    return result.write(Outputs(videos=[video_file(out, r.id) for r in batch.rows]))


# ---------------------------------------------------------------------------------------------------------
# A dry run: what would be rendered, and about how long it would take
# ---------------------------------------------------------------------------------------------------------

def dry_run(run: SetRun, processes: int) -> dict:
    """What a run on `processes` processes would render, without rendering: rows done, failed and to render, each
    process's share (clips, batches, frames, GFLOP), the prompts to fit, and an estimate of the seconds of the
    largest share: at the seconds per GFLOP the folder's finished rows took on the same kind of device, else at a
    nominal rate plus a nominal time per clip."""
    rows = shard_rows(run.manifest.rows, run.shard)
    state: FolderState = folder_state(Path(run.out), run.manifest, run.motion)
    todo = [r for r in rows if r.id not in state.done and (run.redo_failed or r.id not in state.failed)]
    shares = deal(make_batches(todo, processes), processes)
    kind = resolve_device(run.device).type
    rate, measured = measured_rate(Path(run.out), kind)
    per_clip = 0.0 if rate else SET_NOMINAL_CLIP_SECONDS[kind]
    rate = rate or 1.0 / SET_NOMINAL_GFLOPS[kind]
    costs = [sum(b.cost for b in share) for share in shares]
    seconds = [cost * rate + per_clip * sum(len(b.rows) for b in share) for share, cost in zip(shares, costs)]
    fitting = sorted({(r.domain, r.prompt) for r in todo if r.prompt and fits(r.domain, run.motion)})
    return {"manifest": run.manifest.path.name, "rows": len(rows), "done": sum(r.id in state.done for r in rows),
            "failed": sum(r.id in state.failed for r in rows), "to_render": len(todo), "processes": processes,
            "device": kind, "shares": [{"rank": k, "clips": sum(len(b.rows) for b in share), "batches": len(share),
                                        "frames": sum(r.frames for b in share for r in b.rows),
                                        "gflop": round(cost, 1)} for k, (share, cost) in enumerate(zip(shares, costs))],
            "prompts_to_fit": len(fitting), "fit_seconds_each": FitSettings().max_seconds if fitting else 0.0,
            "seconds_per_gflop": rate, "seconds_per_clip": per_clip,
            "rate_from": f"{measured} finished rows in the folder" if measured else
            f"the nominal {SET_NOMINAL_GFLOPS[kind]:g} GFLOP/s and {per_clip:g} s a clip of a {kind} process",
            "seconds": max(seconds)}


def dry_run_lines(plan: dict) -> list[str]:
    """A dry run for people."""
    shares = ", ".join(f"rank {s['rank']}: {count(s['clips'], 'clip')} ({count(s['batches'], 'batch')}, "
                       f"{count(s['frames'], 'frame')})" for s in plan["shares"])
    fit = (f"; plus fitting {count(plan['prompts_to_fit'], 'prompt')} not fitted before, up to "
           f"{plan['fit_seconds_each']:g} s each" if plan["prompts_to_fit"] else "")
    return [f"{plan['manifest']}: {count(plan['rows'], 'row')}, all valid; done: {plan['done']}; failed before: "
            f"{plan['failed']}; to render: {plan['to_render']}",
            f"shares of {count(plan['processes'], 'process')}: {shares}",
            f"estimate: about {plan['seconds']:.2g} s of rendering on {plan['device']} (at the rate of "
            f"{plan['rate_from']}){fit}, besides loading the models"]


def count(n: int, noun: str) -> str:
    """"1 clip", "2 clips", "2 batches"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith(('s', 'ch')) else 's'}"


def measured_rate(out: Path, kind: str) -> tuple[float | None, int]:
    """(seconds per GFLOP, rows) the folder's finished rows took on a device of `kind` (None, 0: none there)."""
    seconds, gflop, count = 0.0, 0.0, 0
    for record in records(out).values():
        row = record.get("row") or {}
        try:
            if str(record.get("device", "")).split(":")[0] != kind:
                continue
            cost = float(row["frames"]) * frame_gflop(row["domain"])
            seconds, gflop, count = seconds + float(record["seconds"]), gflop + cost, count + 1
        except (KeyError, TypeError, ValueError, LganimError):
            continue
    return (seconds / gflop if gflop > 0 else None), count


def fits(domain: str, motion: str | None) -> bool:
    """Whether a domain's prompts are fitted (no trained motion: a real domain by default, any with "fit")."""
    return str(motion) == "fit" or (motion is None and not get_domain(domain).untrained)


def world_size() -> int:
    """The processes torchrun starts (WORLD_SIZE), or 1."""
    return int(os.environ.get("WORLD_SIZE", "1"))


__all__ = ["SetRun", "SetSummary", "render_set", "render_share", "domains_in_turn", "render_batch", "dry_run",
           "dry_run_lines", "count", "measured_rate", "fits", "world_size"]
