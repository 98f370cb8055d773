"""``bench up``: the CSMS, the agent, the rig and the panel until Ctrl-C.

Everything that can be refused (the rig file, the state directory, the ports) is
checked before anything starts or anything is printed, so a refusal is one line.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import signal
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.cli.errors import UserError, port_in_use
from bench.cli.logs import setup as setup_logging
from bench.cli.password_options import CP_PASSWORD
from bench.ports import Ports, ports_from_args
from bench.rigfile import RigFile
from bench.security.pki import is_loopback, panel_ssl_context
from bench.statedir import StateDir

if TYPE_CHECKING:
    from bench.system import BenchSystem, RemoteCsms

log = logging.getLogger("bench.cli")


def check_port_free(host: str, port: int, what: str, option: str) -> None:
    """Refuse a port something else listens on (before we start half the bench)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise port_in_use(port, what, option) from None
            raise


def _remote(args: argparse.Namespace) -> RemoteCsms | None:
    """``--csms`` and its credentials, or None for the bench's own Central System."""
    from bench.system import RemoteCsms, SettingsError

    given = [o for o in ("cp_id", "ca", "profile", "cert", "key") if getattr(args, o)]
    given = ["--" + o.replace("_", "-") for o in given] + CP_PASSWORD.given(args)
    if args.csms is None:  # $BENCH_CP_PASSWORD alone is no mistake: the environment is ambient
        if given:
            raise UserError(f"{given[0]} goes with --csms URL", "give --csms or leave it out")
        return None
    for option in ("ca", "cert", "key"):
        path = getattr(args, option)
        if path and not Path(path).is_file():
            raise UserError(f"--{option} {path}: no such file")
    remote = RemoteCsms(
        url=args.csms,
        cp_id=args.cp_id or "",
        password=CP_PASSWORD.resolve(args),
        ca_file=str(Path(args.ca).resolve()) if args.ca else None,
        profile=args.profile,
        cert_file=str(Path(args.cert).resolve()) if args.cert else None,
        key_file=str(Path(args.key).resolve()) if args.key else None,
    )
    try:
        remote.security_profile()
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    return remote


def _ports(args: argparse.Namespace, remote: RemoteCsms | None) -> Ports:
    """Every listener's port: from --port-base (default --port, else 9000) or one by one."""
    try:
        ports = ports_from_args(args, default_base=args.csms_port or 9000)
    except ValueError as exc:
        raise UserError(str(exc), "choose another --port-base") from None
    if args.panel_port is not None:
        ports = ports.with_overrides(panel=args.panel_port)
    elif args.port_base is None:
        ports = ports.with_overrides(panel=8080)  # the panel's documented default
    if remote is not None:  # our CSMS, its API, FTP and the link proxy stay off
        ports = replace(ports, api=None, client_cert=None, plain=None)
    return ports


def _check_ports(args: argparse.Namespace, ports: Ports, remote: RemoteCsms | None) -> None:
    checks: list[tuple[str, int | None, str, str]] = [
        (args.panel_host, ports.panel, "panel", "--panel-port"),
        ("127.0.0.1", ports.can, "CAN bus twin", "--can-port"),
    ]
    checks += [("127.0.0.1", p, "meter twin", "--meter-ports") for p in ports.meters[:2]]
    if remote is None:
        checks += [
            ("127.0.0.1", ports.csms, "CSMS", "--port"),
            ("127.0.0.1", ports.api, "CSMS HTTP API", "--api-port"),
            ("127.0.0.1", ports.client_cert, "CSMS profile 3", "--client-cert-port"),
            ("127.0.0.1", ports.plain, "CSMS profile 1", "--plain-port"),
            ("127.0.0.1", ports.ftp, "FTP", "--ftp-port"),
            ("127.0.0.1", ports.proxy, "link proxy", "--proxy-port"),
            ("127.0.0.1", ports.proxy_client_cert, "link proxy", "--proxy-client-cert-port"),
        ]
        if ports.plain is not None:
            checks.append(("127.0.0.1", ports.proxy_plain, "link proxy", "--proxy-plain-port"))
    for host, port, what, option in checks:
        if port:
            check_port_free(host, port, what, option + " or --port-base")


def panel_tls_wanted(host: str, choice: str = "auto") -> bool:
    """HTTPS for the panel: always when asked, by default whenever it listens beyond
    this machine (its session cookie and passwords would cross the network)."""
    if choice in ("on", "off"):
        return choice == "on"
    return not is_loopback(host)


def cmd_up(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    remote = _remote(args)
    ports = _ports(args, remote)
    state = StateDir(Path(args.state_dir).resolve()).ensure()
    _check_ports(args, ports, remote)
    setup_logging(args.verbose, state.logs / "bench.log")
    return asyncio.run(_up(args, rig, state, ports, remote, _quirks(args.double)))


def _quirks(path: str | None) -> dict[str, Any] | None:
    """The charger double's quirks (``--double``), or None for the firmware itself."""
    if path is None:
        return None
    try:
        quirks = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--double {path}: {exc}", "give a JSON file of quirks") from None
    if not isinstance(quirks, dict) or not quirks:
        raise UserError(f"--double {path}: expected a JSON object of quirks")
    return quirks


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
        for port in system.proxy.route_ports():
            lines.append(("link proxy", f"127.0.0.1:{port}  (agent -> another profile's port)"))
    lines.append(("panel", f"{panel_url}  (`bench user add NAME --role operator` first)"))
    if system.hardware is None and system.rig.can_server is not None:
        lines.append(("CAN bus twin", system.rig.can_server.url))
        for cid, meter in system.rig.meters.items():
            lines.append((f"meter {cid} twin", f"modbus-tcp://127.0.0.1:{meter.port}"))
    for name, value in lines:
        print(f"{name:15} {value}")


async def _up(
    args: argparse.Namespace,
    rig: RigFile,
    state: StateDir,
    ports: Ports,
    remote: RemoteCsms | None,
    quirks: dict[str, Any] | None = None,
) -> int:
    from bench.system import BenchSystem
    from web.serve import start_panel

    system = BenchSystem(
        state, hardware=rig.hardware, ports=ports, remote=remote, agent_quirks=quirks
    )
    # A part the agent cannot open (or that comes back) is one line here, with the fix.
    system.health_listeners.append(lambda part: print(f"{'hardware':16}{part.line()}", flush=True))
    stop_panel = None
    try:
        endpoints = await system.start()
        panel_tls = None
        if panel_tls_wanted(args.panel_host, args.panel_tls):
            panel_tls = panel_ssl_context(state.pki, args.panel_host)
        panel_url, stop_panel = start_panel(
            system,
            asyncio.get_running_loop(),
            state.root,
            host=args.panel_host,
            port=ports.panel or 0,
            ssl_context=panel_tls,
        )
        if remote is not None:
            profile = remote.security_profile()
            print(f"charger at      {endpoints.csms_url}  (security profile {profile})")
        else:
            print(f"CSMS            {endpoints.csms_url}")
        print(f"charge point id {endpoints.charge_point_id}")
        print(f"agent pid       {endpoints.agent_pid}")
        print(f"state directory {endpoints.state_dir}")
        _print_listeners(system, panel_url)
        if rig.mode == "real":
            print(f"rig             real parts from {args.rig}")
        else:
            print("rig             simulated (CCS2 on connector 1, CCS1 on connector 2)")
        print(f"log             {state.logs / 'bench.log'}  (-v shows it here too)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # before saying so: a Ctrl-C at once counts
            loop.add_signal_handler(sig, stop.set)
        print("Ctrl-C stops everything.", flush=True)
        await stop.wait()
        print("stopping ...", flush=True)
    finally:
        if stop_panel is not None:
            stop_panel()
        await system.stop()
    return 0
