"""Re-render a report from its results.json: ``python -m bench.report results.json OUTDIR``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.report import write_report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bench.report RESULTS_JSON OUTDIR", file=sys.stderr)
        return 2
    run = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    for kind, path in write_report(run, args[1]).items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
