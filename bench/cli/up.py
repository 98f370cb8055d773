"""``bench up``: the CSMS, the agent, the rig and the panel until Ctrl-C.

Everything that can be refused (the rig file, the state directory, the ports) is
checked before anything starts or anything is printed, so a refusal is one line.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import socket
from pathlib import Path

from bench.cli.errors import port_in_use
from bench.cli.logs import setup as setup_logging
from bench.rigfile import RigFile
from bench.security.pki import is_loopback, panel_ssl_context
from bench.statedir import StateDir

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


def panel_tls_wanted(host: str, choice: str = "auto") -> bool:
    """HTTPS for the panel: always when asked, by default whenever it listens beyond
    this machine (its session cookie and passwords would cross the network)."""
    if choice in ("on", "off"):
        return choice == "on"
    return not is_loopback(host)


def cmd_up(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    state = StateDir(Path(args.state_dir).resolve()).ensure()
    check_port_free("127.0.0.1", args.port, "CSMS", "--port")
    check_port_free("127.0.0.1", args.port + 1, "CSMS HTTP API, --port + 1", "--port")
    check_port_free("127.0.0.1", args.port + 2, "CSMS profile 3, --port + 2", "--port")
    if args.plain_port is not None:
        check_port_free("127.0.0.1", args.plain_port, "CSMS profile 1", "--plain-port")
    check_port_free(args.panel_host, args.panel_port, "panel", "--panel-port")
    setup_logging(args.verbose, state.logs / "bench.log")
    return asyncio.run(_up(args, rig, state))


async def _up(args: argparse.Namespace, rig: RigFile, state: StateDir) -> int:
    from bench.system import BenchSystem
    from web.serve import start_panel

    system = BenchSystem(
        state,
        csms_port=args.port,
        hardware=rig.hardware,
        api_port=args.port + 1,
        client_cert_port=args.port + 2,
        plain_port=args.plain_port,
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
            port=args.panel_port,
            ssl_context=panel_tls,
        )
        print(f"CSMS            {endpoints.csms_url}")
        print(f"CSMS API        http://127.0.0.1:{args.port + 1}/api  (`bench csms --help`)")
        print(f"CSMS profile 3  wss://127.0.0.1:{args.port + 2}/ocpp/<id>  (client certificates)")
        if args.plain_port is not None:
            plain = f"ws://127.0.0.1:{args.plain_port}/ocpp/<id>"
            print(f"CSMS profile 1  {plain}  (plain, Basic auth)")
        print(f"charge point id {endpoints.charge_point_id}")
        print(f"agent pid       {endpoints.agent_pid}")
        print(f"state directory {endpoints.state_dir}")
        print(f"panel           {panel_url}  (`bench user add NAME --role operator` first)")
        if rig.mode == "real":
            print(f"rig             real parts from {args.rig}")
        else:
            print("rig             simulated (CCS2 on connector 1, CCS1 on connector 2)")
        print(f"log             {state.logs / 'bench.log'}  (-v shows it here too)")
        print("Ctrl-C stops everything.", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("stopping ...", flush=True)
    finally:
        if stop_panel is not None:
            stop_panel()
        await system.stop()
    return 0
