"""`doctor`: the first command to run on a new machine or Space (see lganim/tools/doctor.py)."""
from __future__ import annotations

from ..errors import LganimError
from ..files import write_json
from ..tools.doctor import diagnose
from ..weights.registry import DOMAINS


def short(text: str | None, n: int = 12) -> str:
    return "-" if not text else (text if len(text) <= n else text[:n] + "…")


def describe_file(f: dict) -> str:
    where = f"{f['repo_id']} {f['filename']} @{short(f['revision'], 7)}" if f["repo_id"] else f["filename"]
    size = f"{f['size'] / 1e6:.1f} MB" if f["size"] else "size unknown"
    sha = f"sha256 {short(f['sha256'])}" if f["sha256"] else "no published sha256"
    line = f"  {f['status']:10s} {f['role']:11s} {where} ({size}, {sha}) [{', '.join(f['domains'])}]"
    return line + (f"\n             → {f['fix']}" if f["fix"] else "")


def run(args) -> int:
    if args.json is not None and not args.json.parent.is_dir():
        raise LganimError(f"The folder of --json {args.json} does not exist.")
    report = diagnose(args.domain or list(DOMAINS), device=args.device, dtype=args.dtype,
                      download=not args.no_download, fit_steps=args.fit_steps)
    env = report["environment"]
    print(f"lganim {env['lganim']} · python {env['python']} · torch {env['torch']} (CUDA {env['cuda'] or 'none'})")
    print(env["device_line"] + (f" · {env['gpu']['memory_free_bytes'] / 2**30:.1f} of "
                                f"{env['gpu']['memory_total_bytes'] / 2**30:.1f} GiB free" if env["gpu"] else ""))
    print(f"hub: {report['hub']['state']}: {report['hub']['reason']}")
    print("files:")
    for f in report["files"]:
        print(describe_file(f))
    for name, domain in report["domains"].items():
        print(f"domain {name}:" + (f" skipped ({domain['skipped']})" if domain["skipped"] else ""))
        for step in domain["steps"]:
            print(f"  {'ok  ' if step['ok'] else 'FAIL'} {step['seconds']:7.2f} s  {step['name']}: {step['detail']}")
        print(f"  control directions (retarget, talk): {domain['control_directions']}")
    if args.json is not None:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    if not report["ok"]:
        bad = [f["filename"] for f in report["files"] if f["status"] in ("missing", "corrupt")]
        failed = [n for n, d in report["domains"].items() if d["skipped"] or not all(s["ok"] for s in d["steps"])]
        hub = report["hub"]
        why = f" {hub['reason']};" if bad and hub["state"] in ("offline", "unreachable") else ""
        raise LganimError(f"not ready: {len(bad)} file(s) missing or corrupt ({', '.join(bad) or 'none'});{why} "
                          f"domains not working: {', '.join(failed)} — see the report above.")
    print("ok: every file is present and every step ran")
    return 0
