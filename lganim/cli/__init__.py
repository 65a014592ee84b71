"""Command line: `python -m lganim COMMAND ...` (see `--help`).

Exit status: 0 done; 2 a user mistake, with one line on stderr starting `error:`; 1 an internal error (a bug);
130 interrupted. Nothing half-written is left behind. The grammar is `parser.py`; what a command asks for is built
and checked by `requests.py` first (its files, values and outputs), without torch, so a mistake is answered at once;
each command's module is imported only to run it, so `--help` imports no torch.
"""
from __future__ import annotations

import importlib
import os
import sys

from ..errors import LganimError
from . import requests
from .parser import COMMANDS, build_parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _, _, module, function, check = COMMANDS[args.command]
    try:
        built = () if check is None else (getattr(requests, check)(args),)
        # the command's module (and torch with it) only now: the CLI dispatch is one of the two lazy imports
        return getattr(importlib.import_module(module), function)(args, *built)
    except LganimError as e:
        print(f"error: {e.full_message()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not a bad input: one line unless asked for the traceback
        if os.environ.get("LGANIM_DEBUG"):
            raise
        print(f"error: internal error ({type(e).__name__}: {e}); rerun with LGANIM_DEBUG=1 for the traceback",
              file=sys.stderr)
        return 1


__all__ = ["main"]
