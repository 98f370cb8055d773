"""``bench run``'s progress: a case keeps its number, finished cases are counted apart,
the estimate follows the cases' durations; a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from bench.cli.progress import Progress, duration
from bench.scenarios.registry import Scenario
from bench.scenarios.runner import CaseResult


async def _nothing(t) -> None:  # type: ignore[no-untyped-def]
    return None


CASES = [Scenario(f"case-{n}", f"Case {n}", _nothing, profile="bench") for n in range(1, 5)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def result(case: Scenario, seconds: float, **details) -> CaseResult:  # type: ignore[no-untyped-def]
    return CaseResult(case.id, "pass", seconds, details=details, title=case.title)


def test_plain_lines_keep_each_case_number_and_count_finished_cases_apart() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(CASES, parallel=2, out=out, tty=False, clock=clock)
    progress(1, 4, CASES[0], None)
    progress(2, 4, CASES[1], None)
    clock.now += 10
    progress(2, 4, CASES[1], result(CASES[1], 10.0, transaction=3, energy_wh=70, meter_delta_wh=70))
    lines = out.getvalue().splitlines()
    assert lines[0] == "#1/4 case-1: started  (Case 1)"
    assert lines[1] == "#2/4 case-2: started  (Case 2)"
    # the second case finished first: it stays #2, and it is the first one done
    assert lines[2].startswith("#2/4 case-2: PASS in 10.0 s  tx 3: 70 Wh (meter delta 70 Wh)")
    assert lines[2].endswith("[1/4 done, 10 s elapsed, about 10 s left]")
    assert "\r" not in out.getvalue()


def test_the_estimate_spreads_the_remaining_cases_over_the_parallel_rigs() -> None:
    clock = FakeClock()
    progress = Progress(CASES, parallel=2, out=io.StringIO(), tty=False, clock=clock)
    assert progress.eta() is None  # nothing finished: no basis for an estimate
    progress(1, 4, CASES[0], None)
    progress(2, 4, CASES[1], None)
    clock.now += 20
    progress(1, 4, CASES[0], result(CASES[0], 20.0))
    progress(3, 4, CASES[2], None)
    # case 2 is 20 s into its ~20 s, case 3 just began (20 s), case 4 waits (20 s):
    # 40 s of work on 2 rigs
    assert progress.eta() == 20.0
    for case in CASES[1:3]:
        progress(0, 4, case, result(case, 20.0))
    progress(4, 4, CASES[3], None)
    progress(4, 4, CASES[3], result(CASES[3], 20.0))
    assert progress.done == 4 and "left" not in progress.status()


def test_on_a_terminal_a_bar_names_the_running_cases_and_verdict_lines_stay_above_it() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(CASES, parallel=2, out=out, tty=True, clock=clock)
    progress(1, 4, CASES[0], None)
    progress(2, 4, CASES[1], None)
    text = out.getvalue()
    assert "started" not in text  # the bar says what runs
    assert text.rsplit("\r\x1b[2K", 1)[1].startswith("[....................] 0/4 done")
    assert "running: case-1, case-2" in text
    clock.now += 5
    progress(1, 4, CASES[0], result(CASES[0], 5.0))
    after = out.getvalue()[len(text) :]
    assert after.startswith("\r\x1b[2K#1/4 case-1: PASS in 5.0 s")  # the bar is cleared first
    assert after.rsplit("\r\x1b[2K", 1)[1].startswith("[#####...............] 1/4 done")
    progress.close()
    assert out.getvalue().endswith("\r\x1b[2K")


def test_durations_read_like_a_person_would_say_them() -> None:
    assert duration(0.2) == "1 s" and duration(59) == "59 s"
    assert duration(61) == "1:01 min" and duration(3723) == "1:02:03 h"
