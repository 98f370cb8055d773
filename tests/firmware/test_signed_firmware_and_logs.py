"""SignedUpdateFirmware and GetLog against a real FTP server (pyftpdlib), with a fake charger:
the statuses in the whitepaper's order, the signature over the file, the log uploaded."""

from __future__ import annotations

import asyncio
import base64
import sqlite3

from test_firmware_update import eventually, now_iso, publish

from bench.security.ca import manufacturer_ca, sign_data
from charger.agent.features.security.certificates import load_pems
from charger.agent.features.security.events import SecurityLog
from charger.agent.features.security.logs import LogUploads
from charger.agent.features.security.signed_firmware import signed_update
from charger.agent.features.security.tables import create_tables
from charger.agent.slots import SlotStore

SIGNED = "SignedFirmwareStatusNotification"


def firmware(location: str, when: str, certificate: bytes, signature: str) -> dict:
    return {
        "location": location,
        "retrieve_date_time": when,
        "signing_certificate": certificate.decode(),
        "signature": signature,
    }


def test_signed_update_runs_in_the_whitepapers_order(ftp, images, keys, charger_factory):
    data = images.good.path.read_bytes()
    events: list[str] = []

    async def scenario():
        charger = charger_factory()
        manager = charger.firmware
        manager.security_event = lambda kind, info: events.append(kind)
        roots = load_pems(keys.root_path.read_bytes())
        request = firmware(
            publish(ftp, images.good),
            now_iso(charger),
            keys.certificate_pem,
            base64.b64encode(keys.private.sign(data, *_rsa())).decode(),
        )
        status = signed_update(manager, roots, 7, request, 0, 1, lambda k, i: events.append(k))
        assert status == "Accepted"
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses(SIGNED) == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "InstallRebooting",
        ]
        assert charger.statuses() == []  # no FirmwareStatusNotification for a signed update
        assert SlotStore(charger.settings.state_dir).pointer().trial
        manager.close()

    asyncio.run(scenario())
    assert events == []


def _rsa():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


def test_a_bad_signature_keeps_the_running_firmware(ftp, images, keys, charger_factory):
    events: list[str] = []

    async def scenario():
        charger = charger_factory()
        manager = charger.firmware
        manager.security_event = lambda kind, info: events.append(kind)
        roots = load_pems(keys.root_path.read_bytes())
        bad = sign_data(keys.private, b"other bytes")
        request = firmware(publish(ftp, images.good), now_iso(charger), keys.certificate_pem, bad)
        assert signed_update(manager, roots, 8, request, 0, 1, events.append) == "Accepted"
        await eventually(lambda: "InvalidSignature" in charger.statuses(SIGNED))
        assert charger.statuses(SIGNED) == ["Downloading", "Downloaded", "InvalidSignature"]
        assert not charger.reboot.is_set()
        assert SlotStore(charger.settings.state_dir).pointer().slot is None
        manager.close()

    asyncio.run(scenario())
    assert events == ["InvalidFirmwareSignature"]


def test_a_signing_certificate_from_another_ca_is_refused_unread(
    ftp, images, keys, charger_factory, tmp_path
):
    other = manufacturer_ca(tmp_path / "other")
    key, certificate = other.issue_signing_certificate()
    events: list[tuple] = []

    async def scenario():
        charger = charger_factory()
        roots = load_pems(keys.root_path.read_bytes())
        data = images.good.path.read_bytes()
        request = firmware(
            publish(ftp, images.good), now_iso(charger), certificate.encode(), sign_data(key, data)
        )
        status = signed_update(
            charger.firmware, roots, 9, request, 0, 1, lambda k, i: events.append((k, i))
        )
        assert status == "InvalidCertificate"
        await asyncio.sleep(0.2)
        assert charger.statuses(SIGNED) == [] and ftp.count("RETR") == 0

    asyncio.run(scenario())
    assert [k for k, _ in events] == ["InvalidFirmwareSigningCertificate"]


def test_get_log_uploads_the_security_log(ftp, ftp_readonly, charger_factory, tmp_path):
    db = sqlite3.connect(tmp_path / "sec.sqlite", isolation_level=None)
    create_tables(db)
    log = SecurityLog(db, lambda payload: None)
    log.record("StartupOfTheDevice", "2026-01-01T10:00:00Z", "firmware 0.1.0")
    log.record("InvalidCentralSystemCertificate", "2026-01-01T11:00:00Z", "unknown CA")

    async def scenario():
        charger = charger_factory()
        uploads = LogUploads(charger, log)
        status, name = uploads.get_log(
            "SecurityLog", 3, ftp.url("diagnostics/"), "2026-01-01T10:30:00Z", None, 0, 1
        )
        assert status == "Accepted" and name.startswith("security-BENCH-CP-001-")
        await eventually(lambda: "Uploaded" in charger.statuses("LogStatusNotification"))
        assert charger.statuses("LogStatusNotification") == ["Uploading", "Uploaded"]
        text = (ftp.root / "diagnostics" / name).read_text()
        assert "InvalidCentralSystemCertificate" in text and "StartupOfTheDevice" not in text
        status, name = uploads.get_log(
            "SecurityLog", 4, ftp_readonly.url("diagnostics/"), None, None, 0, 1
        )
        await eventually(lambda: "PermissionDenied" in charger.statuses("LogStatusNotification"))
        uploads.get_log("SecurityLog", 5, "https://example.net/logs/", None, None, 2, 1)
        await eventually(lambda: "BadMessage" in charger.statuses("LogStatusNotification"))
        assert charger.statuses("LogStatusNotification")[2:] == [
            "Uploading",
            "PermissionDenied",
            "Uploading",
            "BadMessage",
        ]
        uploads.close()

    asyncio.run(scenario())
    db.close()
