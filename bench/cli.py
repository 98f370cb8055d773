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
from bench.ports import SPAN, add_port_arguments, ports_from_args
from bench.rigfile import RigFile
from bench.scenarios.registry import PROFILES, ROLES, Scenario, all_scenarios, select
from bench.scenarios.runner import CaseResult, RunOptions, run_cases, run_document
from bench.statedir import StateDir
from bench.system import BenchSystem, RemoteCsms, SettingsError
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
        port_base=args.port_base,
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


def _remote(args: argparse.Namespace) -> RemoteCsms | None:
    """``--csms`` and its credentials, or None for the bench's own Central System."""
    given = [o for o in ("cp_id", "password", "ca", "profile", "cert", "key") if getattr(args, o)]
    if args.csms is None:
        if given:
            raise SettingsError(f"--{given[0].replace('_', '-')} goes with --csms URL")
        return None
    for option in ("ca", "cert", "key"):
        path = getattr(args, option)
        if path and not Path(path).is_file():
            raise SettingsError(f"--{option} {path}: no such file")
    remote = RemoteCsms(
        url=args.csms,
        cp_id=args.cp_id or "",
        password=args.password,
        ca_file=str(Path(args.ca).resolve()) if args.ca else None,
        profile=args.profile,
        cert_file=str(Path(args.cert).resolve()) if args.cert else None,
        key_file=str(Path(args.key).resolve()) if args.key else None,
    )
    remote.security_profile()
    return remote


def _print_listeners(system: BenchSystem, panel_url: str) -> None:
    """Every port this bench listens on, one line each."""
    lines: list[tuple[str, str]] = []
    csms = system.csms
    if csms is not None:
        lines.append(("CSMS profile 2", f"{csms.url('<id>')}  (TLS + Basic auth)"))
        ports = csms.profile_ports()
        if 3 in ports:
            lines.append(("CSMS profile 3", f"{csms.url('<id>', 3)}  (client certificates)"))
        if 1 in ports:
            lines.append(("CSMS profile 1", f"{csms.url('<id>', 1)}  (plain, Basic auth)"))
        if csms.api_url:
            lines.append(("CSMS API", f"{csms.api_url}/api  (`bench csms --help`)"))
        if csms.ftp is not None:
            passive = system.ports.ftp_passive
            extra = f", passive {passive.start}-{passive.stop - 1}" if passive else ""
            lines.append(("FTP", f"ftp://127.0.0.1:{csms.ftp.port}/{extra}"))
    if system.proxy is not None:
        lines.append(("link proxy", f"127.0.0.1:{system.proxy.port}  (agent -> CSMS)"))
    lines.append(("panel", f"{panel_url}  (`bench user add NAME --role operator` first)"))
    if system.hardware is None and system.rig.can_server is not None:
        lines.append(("CAN bus twin", system.rig.can_server.url))
        for cid, meter in system.rig.meters.items():
            lines.append((f"meter {cid} twin", f"modbus-tcp://127.0.0.1:{meter.port}"))
    for name, value in lines:
        print(f"{name:15} {value}")


async def _up(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    # Without --port-base, --port (default 9000) is the base: API +1, profile 3 +2, ...
    ports = ports_from_args(args, default_base=args.csms_port or 9000)
    if args.panel_port is not None:
        ports = ports.with_overrides(panel=args.panel_port)
    elif args.port_base is None:
        ports = ports.with_overrides(panel=8080)  # the panel's documented default
    panel_port = ports.panel
    remote = _remote(args)
    system = BenchSystem(
        StateDir(Path(args.state_dir).resolve()),
        hardware=rig.hardware,
        ports=ports,
        remote=remote,
    )
    try:
        endpoints = await system.start()
    except OSError as exc:
        await system.stop()
        print(f"cannot start the bench: {exc}", file=sys.stderr)
        return 1
    if remote is not None:
        profile = remote.security_profile()
        print(f"charger at      {endpoints.csms_url}  (security profile {profile})")
    else:
        print(f"CSMS            {endpoints.csms_url}")
    print(f"charge point id {endpoints.charge_point_id}")
    print(f"agent pid       {endpoints.agent_pid}")
    print(f"state directory {endpoints.state_dir}")
    from web.serve import start_panel

    panel_url, stop_panel = start_panel(
        system,
        asyncio.get_running_loop(),
        Path(args.state_dir).resolve(),
        host=args.panel_host,
        port=panel_port or 0,
    )
    _print_listeners(system, panel_url)
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


def _cmd_up(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_up(args))
    except (SettingsError, ValueError) as exc:
        print(f"bench up: {exc}", file=sys.stderr)
        return 2


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
    up.add_argument("--rig", help="rig config TOML (default: simulated)")
    up.add_argument("--panel-host", default="127.0.0.1", help="web panel address")
    up.add_argument("--panel-port", type=int, help="web panel port (default 8080, or base+4)")
    add_port_arguments(up, default_base=None)
    other = up.add_argument_group(
        "our charger at another Central System (the bench's own CSMS stays off)"
    )
    other.add_argument("--csms", metavar="URL", help="ws(s)://host:port/path (id is appended)")
    other.add_argument("--cp-id", help="the charge point id to connect as")
    other.add_argument("--password", help="Basic-auth password (security profiles 1, 2)")
    other.add_argument("--ca", help="CA certificate (PEM) to trust; default: the system store")
    other.add_argument("--profile", type=int, help="security profile 0-3 (default from URL)")
    other.add_argument("--cert", help="client certificate chain (PEM), profile 3")
    other.add_argument("--key", help="its private key (PEM), profile 3")
    user = sub.add_parser(
        "user",
        help="panel users: add NAME --role operator|viewer, remove NAME, list",
        add_help=False,
    )
    user.add_argument("rest", nargs=argparse.REMAINDER)
    user.set_defaults(func=lambda a: _users_main(a.rest))
    up.set_defaults(func=_cmd_up)
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
    run.add_argument(
        "--port-base",
        type=int,
        help=f"rig n of --parallel listens on BASE+n*{SPAN}.. (default: free ports)",
    )
    run.add_argument("--json", help="write the results as JSON to this file")
    run.add_argument("--report", help="write results.json, junit.xml and index.html here")
    run.set_defaults(func=_cmd_run)
    add_csms_subcommands(sub)
    add_firmware_commands(sub)
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
