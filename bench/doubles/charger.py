"""A charger that does wrong on purpose: the real firmware with a faulty OCPP link.

``python -m bench.doubles.charger SETTINGS`` runs the firmware (``charger``) exactly
as ``python -m charger`` does, but its link misbehaves as ``quirks.json`` beside the
settings file says. The firmware knows nothing of it; the bench starts this module
instead of the firmware when a case runs against a DUT double.

Quirks:
- ``status_override``: {"Charging": "SuspendedEV"} reports one status as another;
- ``reply_delay_s``: answers every CALL of the Central System that many seconds late;
- ``drop_stop_transaction``: a StopTransaction is never sent (the charger believes it was).

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
from pathlib import Path
from typing import Any

from ocpp.messages import Call

from charger import __main__ as firmware
from charger.agent.link import AgentLink
from charger.agent.runtime import Charger

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


def faulty_link(quirks: dict[str, Any], settings_file: Path | None = None) -> type[AgentLink]:
    """An :class:`AgentLink` that breaks the protocol as ``quirks`` say."""
    override: dict[str, str] = quirks.get("status_override", {})
    delay = float(quirks.get("reply_delay_s", 0))
    drop_stop = bool(quirks.get("drop_stop_transaction"))
    drop_events = bool(quirks.get("drop_security_events"))

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
        async def _answer(self, msg: Call) -> None:
            if fake_accept(msg):
                await self._send(msg.create_call_result({"status": "Accepted"}).to_json())
                return
            await super()._answer(msg)

        async def route_message(self, raw_msg: str | bytes) -> None:
            if delay and str(raw_msg).lstrip("[ ").startswith("2"):
                await self.clock.sleep(delay)  # answers the CSMS's CALLs late
            await super().route_message(raw_msg)

        async def request(self, payload: Any, **kwargs: Any) -> dict:
            name = type(payload).__name__
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

        def anonymous(self: ClientProtocol):  # type: ignore[no-untyped-def]
            request = connect(self)
            del request.headers["Authorization"]
            return request

        ClientProtocol.connect = anonymous  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    quirks = load_quirks(Path(argv[-1])) if argv else {}
    Charger.link_class = faulty_link(quirks, Path(argv[-1]) if argv else None)
    break_transport(quirks)
    return firmware.main(argv)


if __name__ == "__main__":
    sys.exit(main())
