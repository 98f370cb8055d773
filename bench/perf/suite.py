"""The catalogue's wall and CPU time: ``bench run --role cs --profile core`` as a user runs it."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def measure(*selection: str) -> dict[str, Any]:
    selection = selection or ("--role", "cs", "--profile", "core")
    with tempfile.TemporaryDirectory(prefix="bench-perf-suite-") as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.cli", "run", *selection, "--report", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        results = Path(tmp) / "results.json"
        cases = json.loads(results.read_text())["cases"] if results.exists() else []
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    verdicts: dict[str, int] = {}
    for case in cases:
        verdicts[case["verdict"]] = verdicts.get(case["verdict"], 0) + 1
    return {
        "selection": " ".join(selection),
        "exit_status": proc.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        "verdicts": verdicts,
    }
