"""``bench``: start the rig (``up``), run scenarios (``run``), list them (``scenarios``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from bench.csms.cli import add_subcommands as add_csms_subcommands
from bench.pics import load_pics
from bench.report.fleet import add_subcommand as add_report_fleet_command
from bench.rigfile import RigFile
from bench.scenarios.registry import PROFILES, ROLES, Scenario, all_scenarios, select
from bench.scenarios.runner import CaseResult, RunOptions, run_cases, run_document
from bench.security.pki import is_loopback, panel_ssl_context
from bench.statedir import StateDir
from bench.system import BenchSystem
from firmware_image.cli import add_subcommands as add_firmware_commands


def _cmd_scenarios(args: argparse.Namespace) -> int:
    pics = load_pics(args.pics) if args.pics else None
    everything = args.all or not (args.role or args.profile)
    for case in all_scenarios().values() if everything else select(None, args.role, args.profile):
        flag = ""
        if pics is not None and pics.get("_role") == case.role:
            missing = case.missing(pics)
            flag = f"  [n/a: {', '.join(missing)}]" if missing else ""
        print(f"{case.id:24} {case.role:5} {case.profile:15} {case.title}{flag}")
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
    if not args.ids and not args.role and not args.profile:
        print("name scenario ids, or select with --role / --profile", file=sys.stderr)
        return 2
    try:
        cases = select(args.ids or None, args.role, args.profile)
    except KeyError as exc:
        print(f"unknown scenario(s): {exc.args[0]}; see `bench scenarios`", file=sys.stderr)
        return 2
    if not cases:
        print("no scenario matches that selection", file=sys.stderr)
        return 2
    external = args.dut != "local"
    options = RunOptions(
        pics=args.pics,
        # a simulated rig can run faster than the wall clock; an external device cannot
        speed=args.speed if args.speed is not None else (1.0 if external else 4.0),
        parallel=args.parallel if args.parallel is not None else (1 if external else 2),
        dut_url=None if args.dut == "local" else args.dut,
        dut_cp_id=args.dut_cp_id,
        dut_password=args.dut_password,
        dut_ca=args.dut_ca,
        operator_hook=args.operator_hook,
        params=dict(p.split("=", 1) for p in args.param),
    )
    began = time.monotonic()
    started = time.time()

    def progress(n: int, total: int, case: Scenario, result: CaseResult | None) -> None:
        elapsed = time.monotonic() - began
        if result is None:
            print(f"[{n}/{total} {elapsed:6.1f}s] {case.id} {case.title} ...", flush=True)
            return
        print(
            f"[{n}/{total} {elapsed:6.1f}s] {case.id}: {result.verdict.upper()} "
            f"in {result.duration_s:.1f} s  {_summary_line(result)}",
            flush=True,
        )
        if result.verdict in ("fail", "error"):
            for step in result.steps[-6:]:
                print(f"      {step['t']:7.3f}s {step['text']}")
            if "state_dir" in result.details:
                print(f"      state kept in {result.details['state_dir']}")

    results = asyncio.run(run_cases(cases, options, progress))
    counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "fail", "error", "n/a")}
    print()
    print(f"{'case':24} {'verdict':8} {'seconds':>8}  message")
    for r in results:
        message = str(r.details.get("message", ""))[:70]
        print(f"{r.id:24} {r.verdict:8} {r.duration_s:8.1f}  {message}")
    print(f"wall time {time.monotonic() - began:.1f} s")
    failed = counts["fail"] + counts["error"]
    print(f"{counts['pass']} passed, {failed} failed, {counts['n/a']} not applicable")
    role = cases[0].role
    document = run_document(results, started, "bench " + " ".join(sys.argv[1:]), options, role)
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    if args.report:
        from bench.report import write_report

        paths = write_report(document, Path(args.report))
        print(f"report: {paths['html']}")
    return 0 if failed == 0 else 1


async def _up(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    system = BenchSystem(
        StateDir(Path(args.state_dir).resolve()),
        csms_port=args.port,
        hardware=rig.hardware,
        api_port=args.port + 1,
        client_cert_port=args.port + 2,
        plain_port=args.plain_port,
    )
    endpoints = await system.start()
    print(f"CSMS            {endpoints.csms_url}")
    print(f"CSMS API        http://127.0.0.1:{args.port + 1}/api  (`bench csms --help`)")
    print(f"CSMS profile 3  wss://127.0.0.1:{args.port + 2}/ocpp/<id>  (client certificates)")
    if args.plain_port is not None:
        print(f"CSMS profile 1  ws://127.0.0.1:{args.plain_port}/ocpp/<id>  (plain, Basic auth)")
    print(f"charge point id {endpoints.charge_point_id}")
    print(f"agent pid       {endpoints.agent_pid}")
    print(f"state directory {endpoints.state_dir}")
    from web.serve import start_panel

    panel_tls = None
    if panel_tls_wanted(args.panel_host, args.panel_tls):
        panel_tls = panel_ssl_context(Path(args.state_dir).resolve() / "pki", args.panel_host)
    panel_url, stop_panel = start_panel(
        system,
        asyncio.get_running_loop(),
        Path(args.state_dir).resolve(),
        host=args.panel_host,
        port=args.panel_port,
        ssl_context=panel_tls,
    )
    print(f"panel           {panel_url}  (`bench user add NAME --role operator` first)")
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
        stop_panel()
        await system.stop()
    return 0


def panel_tls_wanted(host: str, choice: str = "auto") -> bool:
    """HTTPS for the panel: always when asked, by default whenever it listens beyond
    this machine (its session cookie and passwords would cross the network)."""
    if choice in ("on", "off"):
        return choice == "on"
    return not is_loopback(host)


def _users_main(argv: list[str]) -> int:
    from web.users import main as users_main

    return int(users_main(argv) or 0)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", action="append", choices=ROLES)
    parser.add_argument("--profile", action="append", choices=PROFILES)
    parser.add_argument("--pics", help="PICS: agent, seed-charger, csms, seed-csms or a file")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the CSMS, the agent and the simulated rig")
    up.add_argument("--state-dir", default="bench-state")
    up.add_argument(
        "--port",
        type=int,
        default=9000,
        help="CSMS port on 127.0.0.1 (profile 2); +1 its HTTP API, +2 profile 3",
    )
    up.add_argument(
        "--plain-port", type=int, help="also serve security profile 1 (plain ws) on this port"
    )
    up.add_argument("--rig", help="rig config TOML (default: simulated)")
    up.add_argument("--panel-host", default="127.0.0.1", help="web panel address")
    up.add_argument("--panel-port", type=int, default=8080, help="web panel port")
    up.add_argument(
        "--panel-tls",
        choices=("auto", "on", "off"),
        default="auto",
        help="HTTPS for the panel with the bench's CA (auto: on beyond 127.0.0.1)",
    )
    user = sub.add_parser(
        "user",
        help="panel users: add NAME --role operator|viewer, remove NAME, list",
        add_help=False,
    )
    user.add_argument("rest", nargs=argparse.REMAINDER)
    user.set_defaults(func=lambda a: _users_main(a.rest))
    up.set_defaults(func=lambda a: asyncio.run(_up(a)))
    run = sub.add_parser("run", help="run scenarios, each against a fresh simulated rig")
    run.add_argument("ids", nargs="*", help="scenario ids (see `bench scenarios`)")
    _selection(run)
    run.add_argument("--dut", default="local", help="'local' or the URL of a CSMS under test")
    run.add_argument("--dut-cp-id", help="charge point id the bench uses at an external CSMS")
    run.add_argument("--dut-password", help="its Basic-auth password")
    run.add_argument("--dut-ca", help="CA certificate to trust for an external CSMS")
    run.add_argument(
        "--operator-hook",
        help="command run as `HOOK ACTION JSON` when a case needs the external CSMS's operator",
    )
    run.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per wall second (default 4 on the simulated rig, 1 external)",
    )
    run.add_argument(
        "--parallel", type=int, help="rigs at once (default 2 on the simulated rig, 1 external)"
    )
    run.add_argument(
        "--param", action="append", default=[], help="scenario parameter KEY=VALUE (soak: faults)"
    )
    run.add_argument("--json", help="write the results as JSON to this file")
    run.add_argument("--report", help="write results.json, junit.xml and index.html here")
    run.set_defaults(func=_cmd_run)
    add_csms_subcommands(sub)
    add_firmware_commands(sub)
    add_report_fleet_command(sub)
    scen = sub.add_parser("scenarios", help="list the scenarios")
    _selection(scen)
    scen.add_argument("--all", action="store_true", help="include the bench's own sessions")
    scen.set_defaults(func=_cmd_scenarios)
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["user"]:  # the panel's own user CLI takes everything after "user"
        return _users_main(raw[1:])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
