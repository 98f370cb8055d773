"""``bench``'s command line: every subcommand and option, each with its help text.

A subcommand is added by a function taking the subparsers object and setting ``func``
(a callable taking the parsed namespace and returning the exit status).
"""

from __future__ import annotations

import argparse

from bench import __version__
from bench.cli.errors import EXIT_STATUSES
from bench.cli.password_options import CP_PASSWORD, DUT_PASSWORD
from bench.ports import SPAN, add_port_arguments
from bench.scenarios.registry import PROFILES, ROLES

DESCRIPTION = "OCPP 1.6J charger test bench: a Central System, a charger agent and a rig."
STATE_HELP = "where the bench keeps its state and logs (default: bench-state)"


def _epilog() -> str:
    lines = ["exit statuses:"]
    lines += [f"  {code:3}  {meaning}" for code, meaning in sorted(EXIT_STATUSES.items())]
    return "\n".join(lines)


def _verbose() -> argparse.ArgumentParser:
    """``-v`` after the subcommand too (``bench up -v``), counted with the one before it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="show every log record and tracebacks on the console (-vv: debug)",
    )
    return common


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role", action="append", choices=ROLES, help="cs: the charger is tested; csms: the CSMS"
    )
    parser.add_argument(
        "--profile", action="append", choices=PROFILES, help="an OCPP feature profile"
    )
    parser.add_argument(
        "--pics",
        help="judge applicability by this PICS: agent, seed-charger, csms, seed-csms "
        "or a PICS TOML file",
    )


def _up(sub: argparse._SubParsersAction) -> None:
    from bench.cli.up import cmd_up

    up = sub.add_parser(
        "up",
        parents=[_verbose()],
        help="start the CSMS, the agent, the rig and the panel until Ctrl-C",
        description="Start the CSMS, the charger agent, the rig (simulated unless --rig "
        "says otherwise) and the web panel; Ctrl-C stops everything.",
    )
    up.add_argument("--state-dir", default="bench-state", help=STATE_HELP)
    up.add_argument("--rig", help="rig file (TOML, see wiring/rig.example.toml); default simulated")
    up.add_argument("--panel-host", default="127.0.0.1", help="web panel address")
    up.add_argument("--panel-port", type=int, help="web panel port (default 8080, or base+4)")
    add_port_arguments(up)
    other = up.add_argument_group(
        "our charger at another Central System (the bench's own CSMS stays off)"
    )
    other.add_argument("--csms", metavar="URL", help="ws(s)://host:port/path (id is appended)")
    other.add_argument("--cp-id", help="the charge point id to connect as")
    CP_PASSWORD.add_arguments(other, "security profiles 1, 2")
    other.add_argument("--ca", help="CA certificate (PEM) to trust; default: the system store")
    other.add_argument("--profile", type=int, help="security profile 0-3 (default from URL)")
    other.add_argument("--cert", help="client certificate chain (PEM), profile 3")
    other.add_argument("--key", help="its private key (PEM), profile 3")
    up.add_argument(
        "--double",
        metavar="QUIRKS.json",
        help="run the misbehaving charger double (bench/doubles/charger.py) with these "
        "quirks instead of the firmware: to see a test fail as it must",
    )
    up.add_argument(
        "--panel-tls",
        choices=("auto", "on", "off"),
        default="auto",
        help="HTTPS for the panel with the bench's CA (auto: on beyond 127.0.0.1)",
    )
    up.set_defaults(func=cmd_up)


def _run(sub: argparse._SubParsersAction) -> None:
    from bench.cli.run import cmd_run

    run = sub.add_parser(
        "run",
        parents=[_verbose()],
        help="run scenarios, each against a fresh simulated rig",
        description="Run scenarios, each on a fresh rig of its own; exit status 1 if any "
        "fails. Failed cases keep their state under REPORT/failed/ or "
        "STATE/failed/<time>/.",
    )
    run.add_argument("ids", nargs="*", help="scenario ids (see `bench scenarios`)")
    _selection(run)
    run.add_argument("--state-dir", default="bench-state", help=STATE_HELP)
    run.add_argument(
        "--dut",
        default="local",
        help="'local'; the URL of a CSMS under test (--role csms); 'external': a charge "
        "point the bench waits for (--role cs)",
    )
    run.add_argument(
        "--dut-cp-id",
        help="charge point id: the bench's at an external CSMS, or the external charge point's",
    )
    DUT_PASSWORD.add_arguments(run, "--dut external: default one made once per --state-dir")
    run.add_argument("--dut-ca", help="CA certificate to trust for an external CSMS")
    run.add_argument(
        "--operator-hook",
        help="command run as `HOOK ACTION JSON` when a case needs the external CSMS's operator",
    )
    run.add_argument(
        "--interactive",
        action="store_true",
        help="--dut external: ask a person for the physical steps, on the console and in a "
        "panel at --port-base+4, instead of a hook",
    )
    run.add_argument(
        "--operator-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="--interactive: seconds the operator has for each step (default 120)",
    )
    run.add_argument(
        "--dut-wait",
        type=float,
        default=300.0,
        metavar="S",
        help="--dut external: seconds to wait for the charge point to connect (default 300)",
    )
    run.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per wall second (default 4 on the simulated rig, 1 external)",
    )
    run.add_argument(
        "--parallel", type=int, help="rigs at once (default 4 on the simulated rig, 1 external)"
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario parameter (soak: faults=N, seed=N)",
    )
    run.add_argument(
        "--port-base",
        type=int,
        help=f"rig n of --parallel listens on BASE+n*{SPAN}.. (default: free ports)",
    )
    run.add_argument("--json", metavar="FILE", help="write the results as JSON to this file")
    run.add_argument(
        "--report", metavar="DIR", help="write index.html, results.json and junit.xml here"
    )
    run.set_defaults(func=cmd_run)


def _scenarios(sub: argparse._SubParsersAction) -> None:
    from bench.cli.run import cmd_scenarios

    scen = sub.add_parser("scenarios", parents=[_verbose()], help="list the scenarios")
    _selection(scen)
    scen.add_argument("--all", action="store_true", help="include the bench's own sessions")
    scen.set_defaults(func=cmd_scenarios)


def _user(sub: argparse._SubParsersAction) -> None:
    from web.users import USAGE, add_arguments

    user = sub.add_parser(
        "user",
        help="panel users: add NAME --role operator|viewer, remove NAME, list",
        description=USAGE,
    )
    add_arguments(user)


def build_parser() -> argparse.ArgumentParser:
    from bench.cli.rigs import add_subcommands as add_rigs
    from bench.csms.cli import add_subcommands as add_csms
    from bench.perf.cli import add_perf
    from bench.report.fleet import add_subcommand as add_report_fleet
    from firmware_image.cli import add_subcommands as add_firmware

    parser = argparse.ArgumentParser(
        prog="bench",
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show every log record and tracebacks on the console (-vv: debug)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _up(sub)
    _run(sub)
    _scenarios(sub)
    add_csms(sub)
    add_firmware(sub)
    add_report_fleet(sub)
    add_rigs(sub, [_verbose()])
    add_perf(sub, [_verbose()])
    _user(sub)
    return parser
