"""``bench run`` and ``bench scenarios``: select cases, run them, show progress and results."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cli.errors import (
    EXIT_FAILED,
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_STATE_NOT_DIR,
    UserError,
    explain,
)
from bench.cli.logs import setup as setup_logging
from bench.cli.password_options import DUT_PASSWORD, shown_command
from bench.cli.progress import Progress
from bench.cli.up import check_port_free
from bench.pics import SHIPPED, PicsError, load_pics
from bench.ports import Ports
from bench.scenarios.operator_prompt import ConsolePrompter, OperatorPrompts
from bench.scenarios.registry import Scenario, all_scenarios, select
from bench.scenarios.runner import (
    STOPPED_MESSAGE,
    CaseResult,
    RunOptions,
    run_cases,
    run_document,
)
from bench.statedir import StateDir, StateDirError

log = logging.getLogger("bench.cli")


def check_pics(name: str | None) -> dict[str, Any] | None:
    """A shipped PICS or a readable PICS file, else a one-line error."""
    if name is None:
        return None
    if name not in SHIPPED and not Path(name).is_file():
        raise UserError(
            f"unknown PICS {name!r}",
            f"use one of {', '.join(SHIPPED)} or the path of a PICS TOML file",
        )
    try:
        return load_pics(name)
    except PicsError as exc:
        raise UserError(str(exc), "fix the file") from None


def parse_params(raw: list[str]) -> dict[str, str]:
    params = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(
                f"--param {item!r} is not KEY=VALUE", "write it like --param faults=200"
            )
        params[key.strip()] = value.strip()
    return params


def cmd_scenarios(args: argparse.Namespace) -> int:
    pics = check_pics(args.pics)
    everything = args.all or not (args.role or args.profile)
    for case in all_scenarios().values() if everything else select(None, args.role, args.profile):
        flag = ""
        if pics is not None and pics.get("_role") == case.role:
            missing = case.missing(pics)
            flag = f"  [n/a: {', '.join(missing)}]" if missing else ""
        print(f"{case.id:24} {case.role:5} {case.profile:15} {case.title}{flag}")
    return 0


def _select(args: argparse.Namespace) -> list[Scenario]:
    if not args.ids and not args.role and not args.profile:
        raise UserError("no scenario named", "name scenario ids, or select with --role / --profile")
    try:
        cases = select(args.ids or None, args.role, args.profile)
    except KeyError as exc:
        raise UserError(
            f"unknown scenario(s): {exc.args[0]}", "`bench scenarios` lists them"
        ) from None
    if not cases:
        raise UserError("no scenario matches that selection", "`bench scenarios` lists them")
    return cases


def _check_external_cs(args: argparse.Namespace, cases: list[Scenario]) -> None:
    """``--dut external``: charge-point cases, an id, and someone to do the physical steps."""
    if any(case.role != "cs" for case in cases):
        raise UserError(
            "--dut external is a charge point: only --role cs cases",
            "a Central System under test is --dut wss://…",
        )
    if not args.dut_cp_id:
        raise UserError("--dut external needs --dut-cp-id", "the id the charge point connects as")
    if bool(args.operator_hook) == bool(args.interactive):
        raise UserError(
            "--dut external needs exactly one of --operator-hook CMD and --interactive",
            "someone has to plug the EV and present the cards",
        )
    if args.parallel not in (None, 1):
        raise UserError("--dut external runs one case at a time", "leave out --parallel")


def cmd_run(args: argparse.Namespace) -> int:
    cases = _select(args)
    check_pics(args.pics)
    params = parse_params(args.param)
    password = DUT_PASSWORD.resolve(args)
    state = StateDir(Path(args.state_dir)).ensure()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report_dir = Path(args.report) if args.report else None
    if report_dir is not None:  # the same checks for the report directory, said for it
        try:
            StateDir(report_dir).ensure()
        except StateDirError as exc:
            problem = str(exc).replace("state directory", "report directory", 1)
            raise UserError(problem, "choose another with --report", explain(exc).status) from None
    if args.json:  # said now, not after the run
        parent = Path(args.json).resolve().parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise UserError(
                f"--json {args.json}: cannot write there ({parent} is not a writable directory)",
                "give a file in an existing directory",
                EXIT_STATE_NOT_DIR,
            )
    # one directory per run: a report's own, else a time-stamped one in the state directory
    keep_failed = report_dir / "failed" if report_dir else state.root / "failed" / stamp
    log_file = state.logs / f"run-{stamp}.log"
    setup_logging(args.verbose, log_file, quiet_level=logging.ERROR)
    external = args.dut != "local"
    cs_external = args.dut == "external"
    if cs_external:
        _check_external_cs(args, cases)
    elif args.interactive:
        raise UserError("--interactive goes with --dut external", "or give --operator-hook")
    options = RunOptions(
        pics=args.pics,
        # a simulated rig can run faster than the wall clock; an external device cannot
        speed=args.speed if args.speed is not None else (1.0 if external else 4.0),
        # simulated rigs mostly wait on their clock: four at once fill two cores (the lag
        # monitor slows a case down or calls it inconclusive if the host cannot keep up)
        parallel=args.parallel if args.parallel is not None else (1 if external else 4),
        dut_url=args.dut if external and not cs_external else None,
        dut_cp_id=args.dut_cp_id,
        dut_password=password,
        dut_ca=args.dut_ca,
        operator_hook=args.operator_hook,
        params=params,
        keep_failed=keep_failed,
        port_base=args.port_base if args.port_base or not cs_external else 9000,
        dut_external=cs_external,
        dut_state=(state.root / "external" / args.dut_cp_id).resolve() if cs_external else None,
        dut_wait_s=args.dut_wait,
        interactive=args.interactive,
        operator_timeout_s=args.operator_timeout,
    )
    tty = sys.stdout.isatty()
    progress = Progress(cases, options.parallel, sys.stdout, tty)
    started = time.time()
    log.info("run of %d case(s): %s", len(cases), " ".join(c.id for c in cases))
    stop_panel = _operator_panel(options, state) if args.interactive else None
    try:
        results, interrupted = asyncio.run(_run(cases, options, progress))
    finally:
        progress.close()
        if stop_panel is not None:
            stop_panel()
    _print_table(progress, cases)
    stopped = sum(r.details.get("message") == STOPPED_MESSAGE for r in results)
    verdicts = ("pass", "fail", "error", "n/a", "inconclusive")
    counts = {v: sum(r.verdict == v for r in results) for v in verdicts}
    failed = counts["fail"] + counts["error"] - stopped
    busy = counts["inconclusive"]
    print(f"wall time {progress.elapsed():.1f} s")
    print(
        f"{counts['pass']} passed, {failed} failed, {counts['n/a']} not applicable"
        + (f", {busy} inconclusive (the host could not keep up)" if busy else "")
        + (f", {stopped} interrupted, {len(cases) - len(results)} not run" if interrupted else "")
    )
    if results:
        document = run_document(
            results, started, shown_command(sys.argv[1:]), options, cases[0].role
        )
        document["run"]["interrupted"] = interrupted
        if args.json:
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        if report_dir is not None:
            from bench.report import write_report

            paths = write_report(document, report_dir)
            print(f"report: {paths['html']}")
    print(f"log: {log_file}")
    if interrupted:
        print(
            f"bench: interrupted after {len(results) - stopped} of {len(cases)} case(s); "
            "the partial result is above, every rig and agent of the run is stopped",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if failed:
        return EXIT_FAILED
    return EXIT_INCONCLUSIVE if busy else 0  # not judged is not a pass


def _operator_panel(options: RunOptions, state: StateDir) -> Callable[[], None]:
    """``--interactive``: the operator steps in a panel on the run's panel port (beside
    the console, which :func:`_run` reads); its ``stop``."""
    from web.serve import start_operator_panel
    from web.users import UserStore, users_file

    try:
        port = Ports.from_base(options.port_base or 9000).panel or 0
    except ValueError as exc:
        raise UserError(str(exc), "choose another --port-base") from None
    # werkzeug exits the process on a port in use: say it in one line first
    check_port_free("127.0.0.1", port, "the operator panel", "--port-base")
    options.operator_prompts = OperatorPrompts()
    url, stop = start_operator_panel(options.operator_prompts, state.root, "127.0.0.1", port)
    options.operator_panel_url = url
    print(f"operator panel: {url}  (answer the operator steps there or on this console)")
    if not UserStore(users_file(state.root)).names():
        print(
            "  the panel has no users yet: "
            f"`bench user add NAME --role operator --state-dir {state.root}`"
        )
    return stop


def _console_operator(options: RunOptions, progress: Progress) -> None:
    """``--interactive``: the console's front end of the operator steps (the panel is the
    other): each step said between the progress lines, Enter or ``no`` answers it."""
    prompts = options.operator_prompts
    if prompts is None:
        return
    loop = asyncio.get_running_loop()

    def say(text: str) -> None:  # from the console's or the panel's threads too
        with contextlib.suppress(RuntimeError):  # the run is over
            loop.call_soon_threadsafe(progress.note, text)

    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        say("no console input: answer the operator steps in the panel")
        return
    ConsolePrompter(prompts, fd, say, options.operator_panel_url).start()


async def _run(
    cases: list[Scenario], options: RunOptions, progress: Progress
) -> tuple[list[CaseResult], bool]:
    """The results, and whether Ctrl-C (or SIGTERM) ended the run early.

    The first Ctrl-C stops the run: no case starts any more, the running ones end
    with the verdict error and their rigs and agents are stopped as usual. More
    Ctrl-Cs do not cut that clean-up short.
    """
    stop = options.stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        if not stop.is_set():
            progress.interrupted()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            progress.tick()

    ticker = asyncio.create_task(tick()) if progress.tty else None
    _console_operator(options, progress)
    try:
        return await run_cases(cases, options, progress), stop.is_set()
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _print_table(progress: Progress, cases: list[Scenario]) -> None:
    print()
    print(f"{'case':24} {'verdict':11} {'seconds':>8}  message")
    for row in progress.summary_rows(cases):
        seconds = f"{row['duration_s']:8.1f}" if row["duration_s"] is not None else " " * 8
        print(f"{row['id']:24} {row['verdict']:11} {seconds}  {row['message'][:70]}")
