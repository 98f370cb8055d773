"""One bench: the Central System, the simulated rig and the agent process, wired up.

``bench up`` runs one until Ctrl-C; ``bench run`` builds a fresh one per scenario.
The CSMS and the rig's twins live in this process; the agent is a child process
that reaches them only through the real protocols (wss, Modbus, CAN, serial, pilot).
With a :class:`RemoteCsms` (``bench up --csms URL``) the bench's own Central System
stays off and the agent talks to that one; the bench plays only the rig and the driver.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.agent_process import AgentProcess
from bench.csms.frame_log import FrameFile, FrameRing
from bench.csms.server import CentralSystem
from bench.doubles.charger import write_quirks
from bench.dut_trace import DutTrace
from bench.linkproxy import LinkProxy
from bench.ports import Ports
from bench.rig.sim import SimRig
from bench.security.pki import client_cert_server_context, ensure_pki, server_ssl_context
from bench.statedir import StateDir
from charger.agent.settings import AgentSettings
from charger.clock import Clock
from charger.hw.config import HardwareConfig
from charger.hw.health import HEALTH_FILE, PartStatus, read_health
from firmware_image.keys import ensure_signing_key

log = logging.getLogger("bench.system")

DEMO_TAGS = {
    "0A00B1C2D3": "Accepted",
    "0A00E4F5A6": "Accepted",
    "0A00BADBAD": "Blocked",
}


class SettingsError(ValueError):
    """A remote Central System's settings do not fit together (one line for the user)."""


@dataclass(frozen=True)
class RemoteCsms:
    """Another Central System our charger connects to (``bench up --csms``).

    ``url`` is the endpoint without the charge point id (the agent appends it, as
    OCPP-J §3.1.1 builds it); ``profile`` the OCPP security profile: 1 plain ws with
    Basic auth, 2 TLS with Basic auth, 3 TLS with a client certificate (``cert_file``,
    ``key_file``). ``ca_file`` None trusts the system's CA store.
    """

    url: str
    cp_id: str
    password: str | None = field(default=None, repr=False)  # never in a log line
    ca_file: str | None = None
    profile: int | None = None  # None: 2 for wss://, 1 for ws://
    cert_file: str | None = None
    key_file: str | None = None

    def security_profile(self) -> int:
        """The profile these settings give; :class:`SettingsError` when they contradict."""
        scheme = self.url.split("://", 1)[0].lower()
        if scheme not in ("ws", "wss") or "://" not in self.url:
            raise SettingsError(f"--csms {self.url!r}: expected ws://host:port/path or wss://…")
        profile = self.profile if self.profile is not None else (2 if scheme == "wss" else 1)
        if profile not in (0, 1, 2, 3):
            raise SettingsError(f"--profile {profile}: OCPP 1.6 security profiles are 0-3")
        if profile >= 2 and scheme != "wss":
            raise SettingsError(f"security profile {profile} needs a wss:// URL (TLS)")
        if profile <= 1 and scheme != "ws":
            raise SettingsError(f"security profile {profile} is plain ws://, not {scheme}://")
        if profile in (1, 2) and not self.password:
            raise SettingsError(
                f"security profile {profile} needs a Basic-auth password: "
                "--password-file FILE or $BENCH_CP_PASSWORD"
            )
        if profile == 3 and not (self.cert_file and self.key_file):
            raise SettingsError("security profile 3 needs --cert and --key (client certificate)")
        if not self.cp_id:
            raise SettingsError("--cp-id is required with --csms")
        return profile


@dataclass(frozen=True)
class SystemStatus:
    """What a watcher (the panel) reads of a running bench, in one call on its loop.

    ``rig`` is :meth:`SimRig.snapshot` on a simulated rig and None on real parts;
    ``link_up`` is None before the link proxy runs; ``cp_connected`` is False while
    the Central System is stopped.
    """

    t: float
    speed: float
    cp_id: str
    simulated: bool
    rig: dict[str, Any] | None
    connector_ids: list[int]
    link_up: bool | None
    csms_up: bool
    cp_connected: bool
    agent_running: bool
    agent_pid: int | None
    parts: list[PartStatus]  # the agent's hardware parts as it last reported them
    connected: list[str] = field(default_factory=list)  # every charge point connected now


@dataclass
class Endpoints:
    csms_url: str
    charge_point_id: str
    state_dir: str
    agent_pid: int | None


class BenchSystem:
    def __init__(
        self,
        state: StateDir,
        clock: Clock | None = None,
        agent_config: dict[str, str] | None = None,
        hardware: HardwareConfig | None = None,
        agent_quirks: dict[str, Any] | None = None,
        ports: Ports | None = None,
        remote: RemoteCsms | None = None,
    ) -> None:
        self.state = state
        self.clock = clock or Clock.start()
        #: Where every listener binds (0: any free port; None: that listener is off).
        self.ports = ports or Ports()
        self.csms_port = self.ports.csms
        self.ftp_port = self.ports.ftp
        self.remote = remote  # another Central System: ours stays off
        self.agent_config = dict(agent_config or {})
        if remote is not None:
            self.agent_config.setdefault("SecurityProfile", str(remote.security_profile()))
            self.cp_id, self.password = remote.cp_id, remote.password
        else:
            self.cp_id, self.password = state.credentials()
        self.csms: CentralSystem | None = None
        self.hardware = hardware  # real parts: no twins are started
        self.agent_quirks = agent_quirks or {}
        self.api_port = self.ports.api  # the CSMS's HTTP operations API (bench up), None: off
        # The CSMS's ports for security profile 3 (client certificates) and 1 (plain ws),
        # None: off.
        self.client_cert_port = self.ports.client_cert
        self.plain_port = self.ports.plain
        #: (certificate, key) files the CSMS's main port presents instead of the bench's
        #: server certificate from the next (re)start: a case may present one the charge
        #: point must not trust, or one from a root it has just installed.
        self.server_identity: tuple[str, str] | None = None
        self.rig = SimRig(
            state.rig, self.clock, can_port=self.ports.can, meter_ports=self.ports.meters
        )
        self.agent: AgentProcess | None = None
        self.proxy: LinkProxy | None = None
        #: Every frame across CSMS restarts: the newest in memory (indexed by position among
        #: all), every one on disk in the state directory's ``logs/ocpp-trace*.jsonl``.
        self.trace = FrameRing(file=FrameFile(state.logs, "ocpp-trace"))
        self.dut_trace = DutTrace(self.trace)
        self.agent_crashes = 0
        self.csms_running = False  # started and not stopped by stop_csms()
        # The agent's part statuses (its health file) and who wants to hear of changes.
        self.health: dict[str, PartStatus] = {}
        self.health_listeners: list[Callable[[PartStatus], None]] = []
        self._health_mtime = 0.0
        self._watchdog: asyncio.Task | None = None

    async def start(self) -> Endpoints:
        # Key generation takes a second or more on a Pi: off the loop, where it would
        # stall every twin on it (another case's, or the live rig's).
        pki = await asyncio.to_thread(ensure_pki, self.state.pki)
        signing_key = await asyncio.to_thread(ensure_signing_key, self.state.pki / "firmware")
        csms_urls: dict[str, str] = {}
        if self.remote is None:
            await self.start_csms()
            assert self.csms is not None
            self.proxy = await LinkProxy("127.0.0.1", self.csms_port).start(self.ports.proxy)
            # Where the charger connects per security profile, every port behind the one cable.
            route_ports = {3: self.ports.proxy_client_cert, 1: self.ports.proxy_plain}
            for profile, port in sorted(self.csms.profile_ports().items()):
                if port == self.csms_port:
                    local = self.proxy.port
                else:
                    local = await self.proxy.route(port, route_ports.get(profile) or 0)
                scheme = "ws" if profile == 1 else "wss"
                csms_urls[str(profile)] = f"{scheme}://127.0.0.1:{local}/ocpp"
            csms_url, ca_file = f"wss://127.0.0.1:{self.proxy.port}/ocpp", str(pki.ca_cert)
        else:
            csms_url, ca_file = self.remote.url, self.remote.ca_file
        hardware = self.hardware or await self.rig.start()
        hardware_file = self.state.agent / "hardware.json"
        hardware_file.write_text(json.dumps(hardware.to_dict(), indent=2))
        # The agent reports its parts afresh; a report from an earlier run is no news.
        (self.state.agent / HEALTH_FILE).unlink(missing_ok=True)
        settings = AgentSettings(
            charge_point_id=self.cp_id,
            csms_url=csms_url,
            csms_urls=csms_urls,
            state_dir=str(self.state.agent),
            hardware_file=str(hardware_file),
            ca_file=ca_file,
            initial_password=self.password,
            initial_config=self.agent_config,
            manufacturer_root=str(signing_key.root_path),
            client_cert_file=self.remote.cert_file if self.remote else None,
            client_key_file=self.remote.key_file if self.remote else None,
        )
        settings_file = self.state.agent / "settings.json"
        settings.dump(settings_file)
        module = "charger"
        if self.agent_quirks:  # a DUT double: the firmware behind a faulty link
            write_quirks(settings_file, self.agent_quirks)
            module = "bench.doubles.charger"
        self.agent = AgentProcess(
            settings_file, self.clock, self.state.agent / "agent.out", module=module
        )
        self.agent.start()
        self._watchdog = asyncio.create_task(self._watch_agent())
        return self.endpoints()

    async def _watch_agent(self) -> None:
        """A charger's hardware watchdog: an agent that dies on its own is restarted."""
        while True:
            await asyncio.sleep(0.5)
            self._read_health()
            if self.agent is not None and self.agent.rebooting():
                log.info("the agent rebooted (Reset); starting it again")
                self.agent.start()
            elif self.agent is not None and self.agent.crashed():
                self.agent_crashes += 1
                log.error(
                    "the agent exited by itself (code %s): %s; restarting it (crash %d)",
                    self.agent.proc.returncode if self.agent.proc else None,
                    self._last_agent_words(),
                    self.agent_crashes,
                )
                self.agent.start()

    def _last_agent_words(self) -> str:
        """The last line the agent printed (its exception), for the crash message."""
        try:
            lines = (self.state.agent / "agent.out").read_text(errors="replace").splitlines()
        except OSError:
            return "no output"
        return next((line.strip() for line in reversed(lines) if line.strip()), "no output")

    def _read_health(self) -> None:
        """Pick up the agent's part statuses; tell listeners of each change."""
        path = self.state.agent / HEALTH_FILE
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == self._health_mtime:
            return
        self._health_mtime = mtime
        for status in read_health(path):
            old = self.health.get(status.part)
            self.health[status.part] = status
            if old is None and status.ok:
                continue  # a part that opened fine is no news
            if old is not None and (old.ok, old.problem) == (status.ok, status.problem):
                continue
            for listener in self.health_listeners:
                listener(status)

    def hardware_health(self) -> list[PartStatus]:
        """The agent's parts as last reported (empty before its first report)."""
        self._read_health()
        return list(self.health.values())

    def endpoints(self) -> Endpoints:
        if self.remote is not None:
            csms_url = self.remote.url.rstrip("/") + "/" + self.cp_id
        else:
            assert self.csms is not None
            csms_url = self.csms.url(self.cp_id)
        return Endpoints(
            csms_url=csms_url,
            charge_point_id=self.cp_id,
            state_dir=str(self.state.root),
            agent_pid=self.agent.pid if self.agent else None,
        )

    async def stop(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
        if self.agent:
            await self.agent.stop()
        if self.proxy:
            await self.proxy.stop()
        if self.hardware is None:
            await self.rig.stop()
        if self.csms:
            await self.csms.stop()
        self.trace.close()

    def all_frames(self) -> list[dict[str, Any]]:
        """Every frame of this run: from memory, or from the files if the ring has dropped some."""
        if self.trace.first == 0 or self.trace.file is None:
            return list(self.trace)
        return list(self.trace.file.read())

    async def start_csms(self) -> None:
        """Start (or restart, on the same port and database) the Central System."""
        if self.remote is not None:
            raise RuntimeError("this bench's charger talks to another Central System")
        pki = await asyncio.to_thread(ensure_pki, self.state.pki)
        cert, key = self.server_identity or (pki.server_cert, pki.server_key)
        self.csms = CentralSystem(
            self.state.csms / "csms.sqlite",
            self.clock,
            port=self.csms_port,
            ssl_context=server_ssl_context(cert, key),
            api_port=self.api_port,
            pki_dir=self.state.pki,
            client_cert_port=self.client_cert_port,
            client_cert_ssl_context=client_cert_server_context(
                pki.server_cert, pki.server_key, pki.ca_cert
            ),
            plain_port=self.plain_port,
            ftp=True,  # with the bench, on its port, not on first use
            ftp_port=self.ftp_port,
            ftp_passive_ports=self.ports.ftp_passive,
        )
        self.csms.frames.add_listener(self.dut_trace.csms_entry)
        await self.csms.start()
        self.csms_running = True
        self.csms_port = self.csms.port
        ports = self.csms.profile_ports()
        self.client_cert_port, self.plain_port = ports.get(3), ports.get(1)  # same on restart
        if self.csms.ftp is not None:
            self.ftp_port = self.csms.ftp.port
        if self.csms.store.charge_point(self.cp_id) is None:  # keep a rotated key, its profile
            # The profile the charger is provisioned with (its SecurityProfile key), if any.
            profile = self.agent_config.get("SecurityProfile")
            self.csms.register_charge_point(
                self.cp_id, self.password, int(profile) if profile else None
            )
        for tag, status in DEMO_TAGS.items():
            self.csms.add_id_tag(tag, status)

    async def trace_changed(self, timeout: float) -> None:
        """Wait (wall seconds) until a frame is added to the trace."""
        await self.dut_trace.changed(timeout)

    async def stop_csms(self) -> None:
        """The Central System goes away; the agent must queue and reconnect."""
        self.csms_running = False
        if self.csms is not None:
            await self.csms.stop()

    # --- what a watcher reads (on the bench's loop) -----------------------------------

    def status(self) -> SystemStatus:
        simulated = self.hardware is None
        csms = self.csms if self.csms_running else None
        return SystemStatus(
            t=round(self.clock.time(), 3),
            speed=self.clock.speed,
            cp_id=self.cp_id,
            simulated=simulated,
            rig=self.rig.snapshot() if simulated and self.rig.running else None,
            connector_ids=self.connector_ids(),
            link_up=self.proxy.up if self.proxy is not None else None,
            csms_up=csms is not None,
            cp_connected=csms is not None and csms.connected(self.cp_id),
            agent_running=self.agent is not None and self.agent.running,
            agent_pid=self.agent.pid if self.agent is not None else None,
            parts=self.hardware_health(),
            connected=csms.connected_ids() if csms is not None else [],
        )

    def connector_ids(self) -> list[int]:
        if self.hardware is not None:
            return [c.id for c in self.hardware.connectors]
        return list(self.rig.connector_ids)

    def transactions(self) -> list[dict[str, Any]]:
        """The charge point's transactions as the CSMS stored them; [] while it is stopped."""
        if self.csms is None or not self.csms_running:
            return []
        return self.csms.transactions(self.cp_id)

    def composite_schedule(self, connector: int, duration_s: int) -> dict[str, Any] | None:
        """The schedule the CSMS's charging profiles give ``connector``; None: no limit."""
        if self.csms is None or not self.csms_running:
            return None
        schedule = self.csms.predict_composite(self.cp_id, connector, duration_s)
        return schedule if schedule.get("chargingSchedulePeriod") else None

    def kill_agent(self) -> None:
        assert self.agent is not None
        self.agent.kill()

    def start_agent(self) -> None:
        assert self.agent is not None
        self.agent.start()

    def power_loss(self) -> None:
        """The charger loses mains: its controller dies and its hardware goes dark."""
        self.kill_agent()
        self.rig.power_cut()

    def power_restore(self) -> None:
        self.rig.power_restore()
        self.start_agent()
