"""`render-set` (a manifest's clips on one process or across torchrun's: lganim.sets.render) and `eval` (a set per
prompt with --set: lganim.sets.evaluate; a video or a pipeline run: lganim.training.evaluate)."""
from __future__ import annotations

import os
import signal
import sys

from tqdm import tqdm

from ..files import write_json
from ..sets.evaluate import DESCRIPTIONS, SetMeasures, compare, evaluate_set
from ..sets.manifest import Manifest
from ..sets.render import SetRun, dry_run, dry_run_lines, render_set, world_size
from ..sets.report import markdown_table, write_csv, write_markdown, write_plot
from ..training import evaluate as evaluate_clips
from .requests import motion_of


def stop_on_sigterm(signum, frame):
    """torchrun stops the other processes with SIGTERM when one dies: stop as on Ctrl-C, so that the clip being
    written is removed (the output stage's abort), not left as a temporary."""
    raise KeyboardInterrupt


def render(args, built: tuple[Manifest, tuple[int, int]]) -> int:
    manifest, shard = built
    run = SetRun(manifest=manifest, out=args.out, motion=motion_of(args), device=args.device, dtype=args.dtype,
                 redo_failed=args.redo_failed, shard=shard)
    if args.dry_run:
        plan = dry_run(run, world_size())
        if os.environ.get("RANK", "0") == "0":        # under torchrun, one process answers
            print("\n".join(dry_run_lines(plan)))
            if args.json is not None:
                write_json(args.json, plan)
                print(f"wrote {args.json}")
        return 0
    previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        summary = render_set(run, status=lambda line: print(line, file=sys.stderr, flush=True), bars=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if summary is None:                               # not rank 0: rank 0 sums up
        return 0
    print("\n".join(summary.lines()))
    if args.json is not None:
        write_json(args.json, summary.to_dict())
        print(f"wrote {args.json}")
    if summary.failed:
        bug = any(f["why"].startswith("internal error") for f in summary.failed)
        print(f"error: {len(summary.failed)} of {summary.rows} rows failed ({summary.failed[0]['id']}: "
              f"{summary.failed[0]['why']}); each <id>.failed.json says why: fix them and rerun with --redo-failed",
              file=sys.stderr)
        return 1 if bug else 2
    return 0


def evaluate(args, folders: tuple) -> int:
    """eval: a set per prompt (--set, --compare), else a video or a pipeline run (lganim.training.evaluate)."""
    if not folders:
        return evaluate_clips.run(args)
    measures = SetMeasures(args.device, args.arcface)
    results = []
    for folder in folders:
        with tqdm(unit="clip", desc=f"measuring {folder.name}", disable=None) as bar:
            def progress(done, total, bar=bar):
                bar.total = total
                bar.update(done - bar.n)
            results.append(evaluate_set(folder, measures, progress))
    result = results[0] if len(results) == 1 else compare(*results)
    result["measures"] = DESCRIPTIONS
    print(markdown_table(result), end="")
    written = []
    if args.json is not None:
        write_json(args.json, result)
        written.append(args.json)
    if args.csv is not None:
        written.append(write_csv(args.csv, result))
    if args.markdown is not None:
        written.append(write_markdown(args.markdown, result))
    if args.plot is not None:
        written.append(write_plot(args.plot, result))
    for path in written:
        print(f"wrote {path}")
    return 0


__all__ = ["render", "evaluate", "stop_on_sigterm"]
