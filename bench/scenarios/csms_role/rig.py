"""What the runner starts per ``_CSMS`` case: the Central System under test (ours or
external), the simulated charge point and the operator."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call

from bench.ports import Ports
from bench.scenarios.sim_security import Endpoint
from charger.clock import Clock

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem
    from bench.scenarios.csms_role.handle import CsmsHandle
    from bench.scenarios.runner import RunOptions

from bench.dut_trace import DutTrace
from bench.scenarios.csms_role.charge_point import (
    RESPONSE_TIMEOUT_S,
    IdTags,
    SimChargePoint,
)
from bench.scenarios.csms_role.operators import (
    ExternalOperator,
    LocalOperator,
    Operator,
    OperatorHook,
    command_hook,
)

log = logging.getLogger("bench.csms_role")

_SHARED_PKI: Path | None = None


def _shared_pki_dir() -> Path:
    """One local CA for every case of this process (RSA key generation is slow)."""
    global _SHARED_PKI
    if _SHARED_PKI is None:
        _SHARED_PKI = Path(tempfile.mkdtemp(prefix="bench-csms-pki-"))
        atexit.register(shutil.rmtree, _SHARED_PKI, True)
    return _SHARED_PKI


class CsmsBench:
    """One ``_CSMS`` case's bench: the DUT (ours, started here, or external) and the charge point.

    ``options.dut_url`` None: our CentralSystem in a temporary directory with TLS, the
    charge point registered with a fresh password and the idTags the cases need, as a
    lab operator prepares a DUT. Otherwise the bench connects to ``options.dut_url`` as
    ``options.dut_cp_id``/``options.dut_password`` (wss verified against
    ``options.dut_ca`` / ``BENCH_DUT_CA`` if given, else the system store).
    """

    def __init__(
        self,
        options: RunOptions,
        clock: Clock | None = None,
        *,
        operator_hook: OperatorHook | str | None = None,
        connectors: int | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.options = options
        self.ports = ports or Ports()  # our CSMS's listeners when it is the DUT
        self.clock = clock or Clock.start(options.speed)
        self.dut_trace = DutTrace()
        self.trace = self.dut_trace.frames
        self.tags = IdTags()
        self.connectors = connectors or 2
        self.cp_id = options.dut_cp_id or "BENCH-CP-001"
        self.password: str | None = options.dut_password
        self.local = options.dut_url is None
        self.csms: CentralSystem | None = None
        self.cp: SimChargePoint | None = None
        self.operator: Operator | None = None
        self._hook = operator_hook or options.operator_hook
        self._root: Path | None = None

    async def start(self) -> None:
        if self.local:
            url, ca_file = await self._start_local_dut()
            assert self.csms is not None
            self.operator = LocalOperator(self.csms, self.cp_id, self.clock)
        else:
            url = _cp_url(str(self.options.dut_url), self.cp_id)
            ca_file = self.options.dut_ca or os.environ.get("BENCH_DUT_CA")
            hook = self._hook or os.environ.get("BENCH_OPERATOR_HOOK")
            if isinstance(hook, str):
                hook = command_hook(hook)
            self.operator = ExternalOperator(self.cp_id, self.clock, hook)
            if self.clock.speed != 1:
                log.warning("external CSMS at speed %g: its clock runs at 1", self.clock.speed)
        self.cp = SimChargePoint(
            self.cp_id,
            url,
            self.password,
            self.clock,
            self.dut_trace.link_frame,
            ca_file=ca_file,
            connectors=self.connectors,
        )
        if self.local:
            assert self.csms is not None
            self.cp.security.endpoints = {
                profile: Endpoint(
                    self.csms.url(self.cp_id, profile), ca_file if profile > 1 else None
                )
                for profile in self.csms.profile_ports()
            }
            self.cp.security.profile = self.csms.main_profile
        else:
            self.cp.security.endpoints = {2 if url.startswith("wss") else 1: Endpoint(url, ca_file)}
            self.cp.security.profile = 2 if url.startswith("wss") else 1
        if ca_file and Path(ca_file).is_file():
            # The charge point was provisioned with the Central System's root.
            self.cp.security.roots["CentralSystemRootCertificate"].append(Path(ca_file).read_text())

    async def _start_local_dut(self) -> tuple[str, str]:
        from bench.csms.server import CentralSystem
        from bench.security.pki import client_cert_server_context, ensure_pki, server_ssl_context

        self._root = Path(tempfile.mkdtemp(prefix="bench-csms-dut-"))
        pki = ensure_pki(_shared_pki_dir())
        self.password = self.password or secrets.token_urlsafe(18)
        self.csms = CentralSystem(
            self._root / "csms",
            self.clock,
            ssl_context=server_ssl_context(pki.server_cert, pki.server_key),
            pki_dir=_shared_pki_dir(),
            port=self.ports.csms,
            plain_port=self.ports.plain or 0,
            client_cert_port=self.ports.client_cert or 0,
            ftp_port=self.ports.ftp,
            ftp_passive_ports=self.ports.ftp_passive,
            client_cert_ssl_context=client_cert_server_context(
                pki.server_cert, pki.server_key, pki.ca_cert
            ),
        )
        await self.csms.start()
        # What the lab's operator sets up in the DUT before the run.
        self.csms.register_charge_point(self.cp_id, self.password)
        past = self.clock.now() - timedelta(days=30)
        tags = self.tags
        self.csms.add_id_tag(tags.parent, "Accepted")
        self.csms.add_id_tag(tags.valid, "Accepted", parent=tags.parent)
        self.csms.add_id_tag(tags.valid2, "Accepted", parent=tags.parent)
        self.csms.add_id_tag(tags.expired, "Expired", expiry=past)
        self.csms.add_id_tag(tags.blocked, "Blocked")
        return self.csms.url(self.cp_id), str(pki.ca_cert)

    async def stop(self) -> None:
        try:
            if self.cp is not None:
                if not self.local and self.cp.connected:
                    await self._close_open_transactions()
                await self.cp.close()
        finally:
            if self.csms is not None:
                await self.csms.stop()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)

    async def _close_open_transactions(self) -> None:
        """Leave an external DUT without transactions this case opened (best effort)."""
        assert self.cp is not None
        for tx_id, tx in list(self.cp.transactions.items()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.cp.request(
                        call.StopTransaction(
                            meter_stop=tx["meter_start"],
                            timestamp=self.cp.now(),
                            transaction_id=tx_id,
                            reason="Other",
                        )
                    ),
                    self.clock.wall(RESPONSE_TIMEOUT_S),
                )

    def make_handle(self, pics: dict[str, Any] | None = None) -> CsmsHandle:
        from bench.scenarios.csms_role.handle import CsmsHandle

        pics = pics or {}
        if not self.local:
            self.tags = IdTags.from_pics(pics)
            if self.cp is not None:  # the external DUT's other profiles' URLs, if it has them
                for profile in (1, 2, 3):
                    url = pics.get(f"security.url.{profile}")
                    if url:
                        ca = self.cp.security.endpoints.get(2, Endpoint("")).ca_file
                        self.cp.security.endpoints[profile] = Endpoint(
                            _cp_url(str(url), self.cp_id), ca if profile > 1 else None
                        )
        return CsmsHandle(self, pics)

    # -- trace ----------------------------------------------------------------------------

    async def trace_changed(self, timeout: float) -> None:
        """Wait (wall seconds) until a frame is added to the trace."""
        await self.dut_trace.changed(timeout)


def _cp_url(base: str, cp_id: str) -> str:
    """A charger is configured with the base URL; its id is the last path segment."""
    if base.endswith("/"):
        return base  # connect_client appends the id
    if base.rstrip("/").rsplit("/", 1)[-1] == cp_id:
        return base
    return base + "/"


# --- the handle ----------------------------------------------------------------------------
