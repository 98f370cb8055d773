import subprocess
import sys
import time
from collections.abc import Callable

import pytest


def wait_until(predicate: Callable[[], object], timeout: float = 2.0, interval: float = 0.005):
    """Poll until ``predicate()`` is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture
def until():
    return wait_until


def run_bench(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    """``bench ARGS`` as a user runs it, in ``cwd`` (its output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=90,
    )


@pytest.fixture
def bench():
    return run_bench
