"""Dealing a set out: batches of one prompt's seeds, every row exactly once, balanced by cost, the same every time."""
import pytest

from lganim.errors import LganimError
from lganim.sets.manifest import read_manifest
from lganim.sets.partition import deal, frame_gflop, make_batches, row_cost, shard_rows, share_of
from tests import ROOT


def rows_of(tmp_path, lines, header="id,seed,prompt,frames"):
    path = tmp_path / "set.csv"
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return read_manifest(path, "demo").rows


def ids(batches):
    return [r.id for b in batches for r in b.rows]


def test_the_example_set_is_four_batches_two_for_each_of_two_processes():
    rows = read_manifest(ROOT / "examples" / "set.csv", "demo").rows
    batches = make_batches(rows, 2)
    assert [len(b.rows) for b in batches] == [2, 2, 2, 2]
    assert all(len({r.prompt for r in b.rows}) == 1 for b in batches)
    shares = deal(batches, 2)
    assert [len(ids(s)) for s in shares] == [4, 4]
    assert sorted(ids(shares[0]) + ids(shares[1])) == sorted(r.id for r in rows)
    assert [ids(s) for s in deal(make_batches(rows, 2), 2)] == [ids(s) for s in shares]        # the same each time


def test_one_prompt_of_many_seeds_is_cut_into_even_batches_over_the_processes(tmp_path):
    rows = rows_of(tmp_path, [f"r{k},{k},The person is smiling.,4" for k in range(20)])
    assert [len(b.rows) for b in make_batches(rows, 1)] == [10, 10]            # at most MAX_BATCH = 16 a request
    assert [len(b.rows) for b in make_batches(rows, 2)] == [10, 10]
    assert sorted(len(b.rows) for b in make_batches(rows, 3)) == [6, 7, 7]
    assert sorted(len(ids(s)) for s in deal(make_batches(rows, 3), 3)) == [6, 7, 7]
    assert sorted(len(b.rows) for b in make_batches(rows, 8)) == [2] * 4 + [3] * 4
    pairs = rows_of(tmp_path, [f"r{k},{k % 2},The person is {['smiling', 'angry'][k // 2]}.,4" for k in range(4)])
    assert [len(b.rows) for b in make_batches(pairs, 2)] == [2, 2]             # batched when every process has work
    assert [len(b.rows) for b in make_batches(pairs, 4)] == [1, 1, 1, 1]       # cut when a process would wait


def test_costly_rows_are_spread_first_and_shares_are_ordered_by_domain_then_line(tmp_path):
    rows = rows_of(tmp_path, ["long,1,The person is smiling.,64", "a,2,The person is angry.,8",
                              "b,3,The person is winking.,8", "c,4,The person is surprised.,8"])
    shares = deal(make_batches(rows, 2), 2)
    assert ids(shares[0]) == ["long"] and ids(shares[1]) == ["a", "b", "c"]
    assert row_cost(rows[0]) == pytest.approx(64 * frame_gflop("demo")) and frame_gflop("human") > frame_gflop("demo")
    assert deal(make_batches(rows, 3), 5)[4] == []                             # more processes than batches


def test_shards_cover_the_manifest_once_whatever_is_done(tmp_path):
    rows = rows_of(tmp_path, [f"r{k},{k % 5},The person is {'smiling' if k % 2 else 'angry'}.,{4 + k}"
                              for k in range(23)])
    shards = [shard_rows(rows, (i, 4)) for i in range(4)]
    assert sorted(r.id for s in shards for r in s) == sorted(r.id for r in rows)
    assert all(s == sorted(s, key=lambda r: r.line) for s in shards) and all(shards)
    assert shard_rows(rows, (0, 1)) == list(rows)
    assert ids(share_of(rows, 1, 4)) and sorted(ids(share_of(rows, 1, 4))) == sorted(r.id for r in shards[1])
    with pytest.raises(LganimError):
        share_of(rows, 4, 4)
    with pytest.raises(LganimError):
        deal([], 0)
