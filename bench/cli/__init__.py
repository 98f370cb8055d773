"""``bench``: start the rig (``up``), run scenarios (``run``), list them (``scenarios``).

Bad input of any kind ends in one line saying what is wrong and what to do, and an
exit status of its own (``bench --help`` lists them); ``-v`` adds the traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback

from bench.cli.errors import EXIT_INTERRUPTED, UserError, explain
from bench.cli.logs import setup as setup_logging


def main(argv: list[str] | None = None) -> int:
    from bench.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)  # `up` and `run` add their log file once they know where
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("bench: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every error becomes one line and a status
        error = explain(exc)
        if args.verbose:
            traceback.print_exc()
        elif not isinstance(exc, UserError):
            logging.getLogger("bench.cli").debug("%s", exc, exc_info=True)
        print(error.line(), file=sys.stderr)
        return error.status


__all__ = ["main"]
