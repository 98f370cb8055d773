"""A charger that does wrong on purpose: the real firmware with a faulty OCPP link.

``python -m bench.doubles.charger SETTINGS`` runs the firmware (``charger``) exactly
as ``python -m charger`` does, but its link misbehaves as ``quirks.json`` beside the
settings file says. The firmware knows nothing of it; the bench starts this module
instead of the firmware when a case runs against a DUT double.

Quirks:
- ``status_override``: {"Charging": "SuspendedEV"} reports one status as another;
- ``reply_delay_s``: answers every CALL of the Central System that many seconds late;
- ``drop_stop_transaction``: a StopTransaction is never sent (the charger believes it was).
- ``limits``: {"max_current_a": 400}: the charger offers more than its rating (the
  firmware's ``Limits`` replaced; the EV-side case ev-overdemand must fail on it).
- ``mutate``: a list of targeted frame mutations (see :class:`Mutation`): a request of
  the charger or its answer to the Central System with a field set to a wrong value or
  removed, lost (never sent), or sent late. Each ``_CS`` case module is shown failing
  on one (tests/engine/test_cs_doubles.py).

Security quirks (the ``_CS`` security cases must fail on each):
- ``keep_old_authorization_key``: ChangeConfiguration AuthorizationKey is answered
  Accepted and never applied;
- ``accept_downgrade``: ChangeConfiguration SecurityProfile below the one in force is
  answered Accepted (and ignored);
- ``ignore_profile_upgrade``: ChangeConfiguration SecurityProfile above it is answered
  Accepted and never applied;
- ``accept_any_certificate_chain``: CertificateSigned is answered Accepted, unchecked and
  not installed;
- ``drop_security_events``: no SecurityEventNotification is ever sent;
- ``accept_any_firmware_signature``: SignedUpdateFirmware is answered Accepted, whatever
  vouches for the image, and nothing is downloaded;
- ``fake_install_certificate``: InstallCertificate is answered Accepted, nothing stored;
- ``fake_delete_certificate``: DeleteCertificate is answered Accepted, nothing deleted;
- ``trust_any_server_certificate``: TLS connections verify neither the server's chain
  nor its host name;
- ``no_basic_auth``: the WebSocket handshake carries no Authorization header.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import ssl
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ocpp.charge_point import camel_to_snake_case, remove_nones, snake_to_camel_case
from ocpp.messages import Call
from ocpp.v16 import call

from bench.scenarios.handle import matches
from charger import __main__ as firmware
from charger.agent.link import AgentLink
from charger.agent.runtime import Charger
from charger.agent.settings import AgentSettings
from charger.clock import iso

QUIRKS_FILE = "quirks.json"


def load_quirks(settings_file: Path) -> dict[str, Any]:
    path = settings_file.parent / QUIRKS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_quirks(settings_file: Path, quirks: dict[str, Any]) -> None:
    (settings_file.parent / QUIRKS_FILE).write_text(json.dumps(quirks))


def profile_in_force(settings_file: Path | None) -> int:
    """The SecurityProfile the firmware holds (its ``config`` table in agent.sqlite),
    read only when a quirk must tell an upgrade from a downgrade."""
    if settings_file is None:
        return 2
    settings = json.loads(settings_file.read_text())
    value = (settings.get("initial_config") or {}).get("SecurityProfile", "2")
    db_file = Path(settings["state_dir"]) / "agent.sqlite"
    if db_file.exists():
        with contextlib.closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM config WHERE key='SecurityProfile'").fetchone()
        value = row[0] if row else value
    return int(value)


class Mutation:
    """One targeted defect, from a ``mutate`` rule (JSON, camelCase as on the wire):

    - ``action``: the OCPP action; ``kind``: ``"request"`` (a CALL the charger sends,
      the default) or ``"answer"`` (its CALLRESULT to a CALL of the Central System);
    - ``where``: the payload must contain this subset (default: any);
    - ``set``: {"a.b": value} sets fields (``"$now"``: the time it is sent);
      ``remove``: ["a.b"] removes them; a dotted path goes into objects, a number into
      lists (``"meterValue.0.sampledValue"``);
    - ``drop``: a request is never sent (the firmware believes it was); an answer is
      never sent;
    - ``delay_s``: simulated seconds it is held before it is sent;
    - ``send_first``: {"action", "payload"}: a request sent just before this one (with a
      ``drop`` rule on the real one: that message out of its order);
    - ``skip``: so many matching frames pass unaltered first (default 0);
    - ``times``: how many matching frames are altered (default: all).
    """

    def __init__(self, rule: dict[str, Any]) -> None:
        self.action: str = rule["action"]
        self.kind: str = rule.get("kind", "request")
        self.where: dict[str, Any] = rule.get("where") or {}
        self.set: dict[str, Any] = rule.get("set") or {}
        self.remove: list[str] = rule.get("remove") or []
        self.drop = bool(rule.get("drop"))
        self.delay_s = float(rule.get("delay_s", 0))
        self.send_first: dict[str, Any] | None = rule.get("send_first")
        self.left = int(rule.get("times", -1))
        self.skip = int(rule.get("skip", 0))

    def applies(self, kind: str, action: str | None, payload: dict[str, Any]) -> bool:
        if self.left == 0 or kind != self.kind or action != self.action:
            return False
        if not matches(payload, self.where):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        self.left -= 1
        return True

    def edit(self, payload: dict[str, Any], now: str) -> None:
        for path, value in self.set.items():
            *parents, last = _steps(path)
            _descend(payload, parents)[last] = now if value == "$now" else value
        for path in self.remove:
            *parents, last = _steps(path)
            with contextlib.suppress(KeyError, IndexError, TypeError):
                del _descend(payload, parents)[last]


def _stamped(payload: dict[str, Any], clock: Any) -> dict[str, Any]:
    now = iso(clock.now())
    return {k: now if v == "$now" else v for k, v in payload.items()}


def _steps(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def _descend(payload: Any, steps: list[str | int]) -> Any:
    for step in steps:
        payload = payload[step]
    return payload


def faulty_link(quirks: dict[str, Any], settings_file: Path | None = None) -> type[AgentLink]:
    """An :class:`AgentLink` that breaks the protocol as ``quirks`` say."""
    override: dict[str, str] = quirks.get("status_override", {})
    delay = float(quirks.get("reply_delay_s", 0))
    drop_stop = bool(quirks.get("drop_stop_transaction"))
    drop_events = bool(quirks.get("drop_security_events"))
    mutations = [Mutation(rule) for rule in quirks.get("mutate", [])]

    def mutation(kind: str, action: str | None, payload: dict[str, Any]) -> Mutation | None:
        return next((m for m in mutations if m.applies(kind, action, payload)), None)

    def fake_accept(msg: Call) -> bool:
        """Whether to answer this CALL Accepted without letting the firmware see it."""
        payload = msg.payload
        if msg.action == "ChangeConfiguration" and payload.get("key") == "AuthorizationKey":
            return bool(quirks.get("keep_old_authorization_key"))
        if msg.action == "ChangeConfiguration" and payload.get("key") == "SecurityProfile":
            current = profile_in_force(settings_file)
            try:
                wanted = int(str(payload.get("value")))
            except ValueError:
                return False
            if wanted < current:
                return bool(quirks.get("accept_downgrade"))
            return wanted > current and bool(quirks.get("ignore_profile_upgrade"))
        if msg.action == "CertificateSigned":
            return bool(quirks.get("accept_any_certificate_chain"))
        if msg.action == "SignedUpdateFirmware":
            return bool(quirks.get("accept_any_firmware_signature"))
        if msg.action == "InstallCertificate":
            return bool(quirks.get("fake_install_certificate"))
        if msg.action == "DeleteCertificate":
            return bool(quirks.get("fake_delete_certificate"))
        return False

    class FaultyLink(AgentLink):
        _edit_next: Mutation | None = None  # a request's rule, applied as its frame is sent

        async def _answer(self, msg: Call) -> None:
            if fake_accept(msg):
                await self._send(msg.create_call_result({"status": "Accepted"}).to_json())
                return
            await super()._answer(msg)

        async def route_message(self, raw_msg: str | bytes) -> None:
            if delay and str(raw_msg).lstrip("[ ").startswith("2"):
                await self.clock.sleep(delay)  # answers the CSMS's CALLs late
            await super().route_message(raw_msg)

        async def _send(self, message: str) -> None:
            frame = json.loads(message)
            if frame[0] == 3:  # our answer to a CALL of the Central System
                action = self._answering.get(frame[1], (None, None))[0]
                rule = mutation("answer", action, frame[2])
                if rule is not None:
                    if rule.drop:
                        return
                    await self.clock.sleep(rule.delay_s)
                    rule.edit(frame[2], iso(self.clock.now()))
                    message = json.dumps(frame)
            elif frame[0] == 2 and self._edit_next is not None:
                rule, self._edit_next = self._edit_next, None
                rule.edit(frame[3], iso(self.clock.now()))
                message = json.dumps(frame)
            await super()._send(message)

        async def request(self, payload: Any, **kwargs: Any) -> dict:
            name = type(payload).__name__
            if mutations:
                wire = snake_to_camel_case(remove_nones(asdict(payload)))
                rule = mutation("request", name, wire)
                if rule is not None:
                    if rule.drop:
                        return {}  # lost: the firmware believes it was delivered
                    await self.clock.sleep(rule.delay_s)
                    if rule.send_first:
                        early = rule.send_first
                        first = getattr(call, early["action"])(
                            **camel_to_snake_case(_stamped(early["payload"], self.clock))
                        )
                        await super().request(first, skip_schema_validation=True)
                    self._edit_next = rule
                    kwargs["skip_schema_validation"] = True
            if name == "StopTransaction" and drop_stop:
                return {}  # never sent; the outbox takes it as delivered
            if name == "SecurityEventNotification" and drop_events:
                return {}  # never sent; the charger believes it was
            if name == "StatusNotification" and payload.status in override:
                payload.status = override[payload.status]
            return await super().request(payload, **kwargs)

    return FaultyLink


def break_transport(quirks: dict[str, Any]) -> None:
    """Quirks below OCPP: TLS that trusts anyone, a handshake without credentials. They
    patch the libraries the firmware uses (ssl, websockets) in this process only."""
    if quirks.get("trust_any_server_certificate"):
        wrap_bio = ssl.SSLContext.wrap_bio

        def trusting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> ssl.SSLObject:
            if not kwargs.get("server_side"):
                self.check_hostname = False
                self.verify_mode = ssl.CERT_NONE
            return wrap_bio(self, *args, **kwargs)

        ssl.SSLContext.wrap_bio = trusting  # type: ignore[method-assign]
    if quirks.get("no_basic_auth"):
        from websockets.client import ClientProtocol

        connect = ClientProtocol.connect

        def anonymous(self: ClientProtocol):
            request = connect(self)
            del request.headers["Authorization"]
            return request

        ClientProtocol.connect = anonymous  # type: ignore[method-assign]


def overrate(quirks: dict[str, Any]) -> None:
    """Quirk ``limits``: the settings the firmware loads carry other power limits."""
    limits = quirks.get("limits")
    if not limits:
        return
    load = AgentSettings.load.__func__  # type: ignore[attr-defined]

    def overrated(cls: type[AgentSettings], path: Path) -> AgentSettings:
        settings = load(cls, path)
        settings.limits = replace(settings.limits, **limits)
        return settings

    AgentSettings.load = classmethod(overrated)  # type: ignore[method-assign,assignment]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quirks = load_quirks(Path(argv[-1])) if argv else {}
    Charger.link_class = faulty_link(quirks, Path(argv[-1]) if argv else None)
    break_transport(quirks)
    overrate(quirks)
    return firmware.main(argv)


if __name__ == "__main__":
    sys.exit(main())
