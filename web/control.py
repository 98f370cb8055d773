"""Manual control from the panel: the simulated rig's hands, faults, any OCPP operation.

Every action runs on the bench's loop (through :class:`~web.loop_bridge.LoopBridge`)
and is written to the activity log with who did it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from typing import Any

from bench.csms.operation_types import OperationError
from charger.protocol.errors import CallErrorReceived, NotConnected
from web import schemas
from web.errors import BenchError
from web.live_state import LiveState
from web.loop_bridge import LoopBridge
from web.system_view import BenchView

FAULTS = (
    "link_cut",
    "link_restore",
    "meter",
    "power_loss",
    "power_restore",
    "csms_stop",
    "csms_start",
    "agent_kill",
    "agent_start",
)
METER_FAULTS = (None, "timeout", "exception")


class ManualControl:
    def __init__(
        self, system: BenchView, bridge: LoopBridge, live: LiveState, call_timeout_s: float
    ) -> None:
        self.system = system
        self.bridge = bridge
        self.live = live
        self.call_timeout_s = call_timeout_s

    # --- the rig -------------------------------------------------------------------

    def _simulated(self) -> None:
        if not self.bridge.call(lambda: self.system.status().simulated):
            raise BenchError("this bench drives a real rig: do that by hand at the rig", 409)

    def _connector(self, connector: Any) -> int:
        try:
            cid = int(connector)
        except (TypeError, ValueError):
            raise BenchError(f"connector must be a number, not {connector!r}") from None
        if cid not in self.bridge.call(self.system.connector_ids):
            raise BenchError(f"no connector {cid} on this rig", 404)
        return cid

    def plug(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._simulated()
        self.bridge.call(self.system.rig.plug, cid)
        self.live.note(user, f"plugged the EV into connector {cid}")

    def unplug(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._simulated()
        self.bridge.call(self.system.rig.unplug, cid)
        self.live.note(user, f"unplugged the EV from connector {cid}")

    def ev_stop(self, connector: Any, user: str = "?") -> None:
        cid = self._connector(connector)
        self._simulated()
        self.bridge.call(self.system.rig.ev_stop, cid)
        self.live.note(user, f"EV on connector {cid} asked to stop charging")

    def present_tag(self, uid: Any, hold_s: float = 0.8, user: str = "?") -> None:
        """Hold RFID card ``uid`` to the reader for ``hold_s`` simulated seconds."""
        self._simulated()
        if not isinstance(uid, str):
            raise BenchError("the tag uid must be a string")
        hold = min(max(float(hold_s), 0.1), 30.0)
        rig = self.system.rig
        try:
            self.bridge.call(rig.present_tag, uid)
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        loop = self.bridge.loop
        self.bridge.call(lambda: loop.call_later(self.system.clock.wall(hold), rig.remove_tag))
        self.live.note(user, f"presented RFID {uid.strip().upper()}")

    def remove_tag(self, user: str = "?") -> None:
        self._simulated()
        self.bridge.call(self.system.rig.remove_tag)

    # --- faults --------------------------------------------------------------------

    def inject_fault(self, kind: str, user: str = "?", **params: Any) -> str:
        """One of :data:`FAULTS`; returns what was done, in words."""
        system = self.system
        if kind not in FAULTS:
            raise BenchError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if kind in ("link_cut", "link_restore"):
            proxy = system.proxy
            if proxy is None:
                raise BenchError("the link proxy is not running", 409)
            self.bridge.call(proxy.cut if kind == "link_cut" else proxy.restore)
            text = "cut the link CSMS-charger" if kind == "link_cut" else "restored the link"
        elif kind == "meter":
            cid = self._connector(params.get("connector"))
            fault = params.get("fault") or None
            if fault not in METER_FAULTS:
                raise BenchError("meter fault must be none, timeout or exception")
            self._simulated()
            self.bridge.call(system.rig.meters[cid].set_fault, fault)
            text = f"meter on connector {cid}: " + (f"fault {fault}" if fault else "healthy")
        elif kind == "power_loss":
            self._simulated()
            self.bridge.call(system.power_loss)
            text = "power loss (agent killed, charger unpowered)"
        elif kind == "power_restore":
            self._simulated()
            self.bridge.call(system.power_restore)
            text = "power restored"
        elif kind == "agent_kill":
            self.bridge.call(system.kill_agent)
            text = "killed the agent process"
        elif kind == "agent_start":
            self.bridge.call(system.start_agent)
            text = "started the agent process"
        elif kind == "csms_stop":
            if not self.bridge.call(lambda: system.csms_running):
                raise BenchError("the CSMS is already stopped", 409)
            self.bridge.run(system.stop_csms, timeout=15)
            text = "stopped the CSMS"
        else:  # csms_start
            if self.bridge.call(lambda: system.csms_running):
                raise BenchError("the CSMS is already running", 409)
            self.bridge.run(system.start_csms, timeout=15)
            text = "started the CSMS"
        self.live.note(user, text)
        return text

    # --- OCPP operations -------------------------------------------------------------

    def send_operation(
        self, action: str, payload: Any, user: str = "?", cp_id: str | None = None
    ) -> dict[str, Any]:
        """Validate ``payload`` against the action's 1.6 schema and send it through the CSMS
        to ``cp_id`` (default: the bench's own charge point).

        Returns ``{"result": ...}`` for a CALLRESULT, ``{"callerror": {...}}`` for a
        CALLERROR. Raises :class:`~web.schemas.PayloadInvalid`, or :class:`BenchError`
        (409 not connected, 504 no answer).
        """
        if action not in schemas.CSMS_ACTIONS:
            raise BenchError(f"{action!r} is not an operation the CSMS sends", 404)
        if not isinstance(payload, dict):
            raise schemas.PayloadInvalid(
                action, [{"path": "(payload)", "message": "not an object"}]
            )
        schemas.to_call(action, payload)  # the form gets every schema error, by path
        system = self.system
        csms = system.csms
        if csms is None or not self.bridge.call(lambda: system.csms_running):
            raise BenchError("the CSMS is stopped", 409)
        target = cp_id or system.cp_id
        text = json.dumps(payload, separators=(",", ":"))[:200]
        self.live.note(user, f"sent {action} {text}" + (f" to {target}" if cp_id else ""))
        wall = system.clock.wall(self.call_timeout_s)

        async def send() -> dict[str, Any]:
            # Through the operation table, like the CLI and the HTTP API: logged in the
            # operations log, with what the CSMS fills in (e.g. a generated key).
            outcome = await asyncio.wait_for(csms.operate(target, action, payload), wall)
            return outcome.response

        try:
            result = self.bridge.run(send, timeout=wall + 5)
        except NotConnected as exc:
            raise BenchError(f"the charge point is not connected: {exc}", 409) from None
        except OperationError as exc:
            raise BenchError(str(exc), 400) from None
        except CallErrorReceived as exc:
            return {
                "callerror": {
                    "errorCode": exc.code,
                    "errorDescription": exc.description,
                    "errorDetails": exc.details,
                }
            }
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise BenchError(
                f"no answer to {action} within {self.call_timeout_s:g} s", 504
            ) from None
        return {"result": result}
