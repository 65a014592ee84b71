"""Which process renders what: a set's rows grouped into batches (one batched request each) and the batches dealt
out to processes, balanced by cost and the same on every process (no communication needed to agree on it).

- Batches: rows of seeds that share a domain, a prompt and every setting are one `Request` with several seeds (the
  batched renderer draws their frames together); a photo's row and a track's row are a batch alone. A group is cut
  into even pieces of at most MAX_BATCH rows, and into about as many pieces as its share of the rows times the
  processes, so that a set of one prompt still spreads over every process.
- Cost of a row: its frames × the GFLOP of one frame of its domain's StyleGAN2 (`tools.costs.synthesis_flops`).
- Dealing: longest processing time first (the most costly batch to the least loaded process; ties by the first
  line, then the lowest rank), which is within 4/3 of the best possible finish time.
- Shards (`--shard i/n`, a scheduler's job arrays): the same dealing of every row of the manifest into n shares,
  independent of what is done, so that jobs started at different times agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from ..config import MAX_BATCH
from ..errors import LganimError
from ..request import DriveRequest, Request
from ..tools.costs import synthesis_flops
from ..weights.registry import get_domain
from .manifest import Row, batch_request


@cache
def frame_gflop(domain: str) -> float:
    """GFLOP of one frame of a domain's StyleGAN2 synthesis."""
    return synthesis_flops(get_domain(domain).stylegan)["total"] / 1e9


def row_cost(row: Row) -> float:
    """What rendering a row costs, in GFLOP of synthesis (its frames at its domain's resolution)."""
    return row.frames * frame_gflop(row.domain)


@dataclass(frozen=True)
class Batch:
    """Rows rendered by one request, in manifest order."""

    rows: tuple[Row, ...]

    @property
    def domain(self) -> str:
        return self.rows[0].domain

    @property
    def line(self) -> int:
        return self.rows[0].line

    @property
    def cost(self) -> float:
        return sum(row_cost(r) for r in self.rows)

    def request(self) -> Request | DriveRequest:
        return batch_request(self.rows)


def make_batches(rows: list[Row] | tuple[Row, ...], parts: int = 1, max_batch: int = MAX_BATCH) -> list[Batch]:
    """Rows grouped by batch key (first appearance order), each group cut into even pieces: of at most `max_batch`
    rows, and about as many as the group's share of all rows times `parts` (so that no process need wait)."""
    groups: dict[object, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.batch_key or ("alone", row.line), []).append(row)
    batches = []
    for group in groups.values():
        fair = min(len(group), round(len(group) * parts / len(rows)))
        pieces = max(1, math.ceil(len(group) / max_batch), fair)
        bounds = [round(k * len(group) / pieces) for k in range(pieces + 1)]
        batches += [Batch(tuple(group[a:b])) for a, b in zip(bounds, bounds[1:])]
    return batches


def deal(batches: list[Batch], parts: int) -> list[list[Batch]]:
    """The batches dealt to `parts` processes, longest first to the least loaded (ties: first line, lowest rank);
    each share ordered by domain, then manifest line (one domain's model at a time)."""
    if parts < 1:
        raise LganimError(f"A set is dealt to at least one process, got {parts}.")
    loads = [0.0] * parts
    shares: list[list[Batch]] = [[] for _ in range(parts)]
    for batch in sorted(batches, key=lambda b: (-b.cost, b.line)):
        rank = min(range(parts), key=lambda r: (loads[r], r))
        shares[rank].append(batch)
        loads[rank] += batch.cost
    return [sorted(share, key=lambda b: (b.domain, b.line)) for share in shares]


def share_of(rows: list[Row] | tuple[Row, ...], index: int, parts: int) -> list[Batch]:
    """Share `index` of `parts` of the rows (as batches)."""
    if not 0 <= index < parts:
        raise LganimError(f"There is no share {index} of {parts}.")
    return deal(make_batches(rows, parts), parts)[index]


def shard_rows(rows: list[Row] | tuple[Row, ...], shard: tuple[int, int]) -> list[Row]:
    """The rows of shard i of n (`--shard i/n`) in manifest order: every row of the manifest dealt into n shares."""
    index, parts = shard
    if parts == 1:
        return list(rows)
    return sorted((r for b in share_of(rows, index, parts) for r in b.rows), key=lambda r: r.line)


__all__ = ["frame_gflop", "row_cost", "Batch", "make_batches", "deal", "share_of", "shard_rows"]
