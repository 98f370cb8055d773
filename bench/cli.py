"""``bench``: start the rig (``up``), run scenarios (``run``), list them (``scenarios``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from bench.rigfile import RigFile
from bench.scenarios.registry import Scenario, all_scenarios
from bench.scenarios.runner import CaseResult, run_cases
from bench.statedir import StateDir
from bench.system import BenchSystem


def _cmd_scenarios(args: argparse.Namespace) -> int:
    for case in all_scenarios().values():
        print(f"{case.id:24} {case.role:5} {case.profile:10} {case.title}")
    return 0


def _summary_line(result: CaseResult) -> str:
    d = result.details
    parts = []
    for suffix in ("", "_1", "_2"):
        if f"transaction{suffix}" in d:
            parts.append(
                f"tx {d[f'transaction{suffix}']}: {d[f'energy_wh{suffix}']} Wh "
                f"(meter delta {d[f'meter_delta_wh{suffix}']} Wh)"
            )
    return "; ".join(parts) or d.get("message", "")


def _cmd_run(args: argparse.Namespace) -> int:
    known = all_scenarios()
    unknown = [i for i in args.ids if i not in known]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; see `bench scenarios`", file=sys.stderr)
        return 2
    cases: list[Scenario] = [known[i] for i in args.ids]

    def progress(n: int, total: int, case: Scenario, result: CaseResult | None) -> None:
        if result is None:
            print(f"[{n}/{total}] {case.id} ...", flush=True)
        else:
            print(
                f"[{n}/{total}] {case.id}: {result.verdict.upper()} in {result.duration_s:.1f} s"
                f"  {_summary_line(result)}",
                flush=True,
            )
            if result.verdict != "pass":
                for line in result.details.get("steps", [])[-8:]:
                    print(f"      {line}")
                print(f"      state kept in {result.details.get('state_dir')}")

    results = asyncio.run(run_cases(cases, progress))
    passed = sum(r.verdict == "pass" for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"cases": [r.to_json() for r in results]}, indent=2) + "\n"
        )
    return 0 if passed == len(results) else 1


async def _up(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    system = BenchSystem(
        StateDir(Path(args.state_dir).resolve()), csms_port=args.port, hardware=rig.hardware
    )
    endpoints = await system.start()
    print(f"CSMS            {endpoints.csms_url}")
    print(f"charge point id {endpoints.charge_point_id}")
    print(f"agent pid       {endpoints.agent_pid}")
    print(f"state directory {endpoints.state_dir}")
    if rig.mode == "real":
        print(f"rig             real parts from {args.rig}")
    else:
        print("rig             simulated (CCS2 on connector 1, CCS1 on connector 2)")
    print("Ctrl-C stops everything.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("stopping ...", flush=True)
        await system.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the CSMS, the agent and the simulated rig")
    up.add_argument("--state-dir", default="bench-state")
    up.add_argument("--port", type=int, default=9000, help="CSMS port on 127.0.0.1")
    up.add_argument("--rig", help="rig config TOML (default: simulated)")
    up.set_defaults(func=lambda a: asyncio.run(_up(a)))
    run = sub.add_parser("run", help="run scenarios, each against a fresh simulated rig")
    run.add_argument("ids", nargs="+")
    run.add_argument("--json", help="write the results as JSON to this file")
    run.set_defaults(func=_cmd_run)
    scen = sub.add_parser("scenarios", help="list the scenarios")
    scen.set_defaults(func=_cmd_scenarios)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
