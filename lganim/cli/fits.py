"""`fits`: list the prompt fits in lganim's cache, or clear them (see lganim/motion/fitted.py)."""
from __future__ import annotations

from ..files import cache_dir
from ..motion.fitted import cached_fits, clear_fits
from ..weights.registry import get_domain


def run(args) -> int:
    domain = None if args.domain is None else get_domain(args.domain).name
    if args.clear:
        print(f"removed {clear_fits(domain)} cached fits")
        return 0
    fits = cached_fits(domain)
    for fit in fits:
        m = fit.meta
        print(f"{fit.domain:<7} {m.get('prompt', '?')!r}: {m.get('steps', '?')} steps, loss "
              f"{_shown(m.get('loss_first'))} -> {_shown(m.get('loss_last'))}, "
              f"{m.get('settings', {}).get('path', '?')} path ({fit.path.name})")
    print(f"{len(fits)} cached fits in {cache_dir() / 'fitted'}")
    return 0


def _shown(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "?"
