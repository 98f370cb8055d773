"""The CSMS's optional-profile features over a real connection; how it copes with misbehaviour."""

import asyncio
import ftplib
import io
import json
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from csms_rig import CP, ahttp, running
from ocpp.v16 import call
from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic

from bench.security.redact import redact_text
from charger.charging_profiles import composite_response
from charger.protocol.times import ocpp_time_or_none


def _download(location: str) -> bytes:
    parts = urlsplit(location)
    client = ftplib.FTP()
    client.connect(parts.hostname, parts.port, timeout=5)
    client.login(unquote(parts.username), unquote(parts.password))
    data = io.BytesIO()
    client.retrbinary(f"RETR {parts.path}", data.write)
    client.quit()
    return data.getvalue()


def test_firmware_rollout_over_the_embedded_ftp_server(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            assert cs.ftp is None  # started on first need
            cs.add_firmware("fw-2.0.bin", b"IMAGE")
            status, body = await ahttp(
                "POST",
                f"{cs.api_url}/api/charge-points/{CP}/operations/UpdateFirmware",
                {"firmware": "fw-2.0.bin"},
            )
            assert status == 200, body
            assert ":***@" in body["request"]["location"]  # the API shows no FTP password
            sent = [f for f in cp.frames if f[0] == "in" and f[1] == "UpdateFirmware"]
            location = sent[-1][4]["location"]  # the charge point gets it
            assert location.startswith("ftp://") and location.endswith("/firmware/fw-2.0.bin")
            assert body["request"]["retrieveDate"]
            assert await asyncio.to_thread(_download, location) == b"IMAGE"
            for state in ("Downloading", "Downloaded", "Installing"):
                await cp.request(call.FirmwareStatusNotification(state))
            _, rollout = await ahttp("GET", f"{cs.api_url}/api/firmware-rollout")
            assert rollout[0]["status"] == "Installing" and not rollout[0]["done"]
            assert "***" in rollout[0]["location"]  # the API does not show the password
            await cp.request(call.FirmwareStatusNotification("Idle"))  # not a rollout step
            await cp.request(call.FirmwareStatusNotification("Installed"))
            _, rollout = await ahttp("GET", f"{cs.api_url}/api/firmware-rollout?cp_id={CP}")
            assert rollout[0]["done"] and rollout[0]["firmware"] == "fw-2.0.bin"
            assert [h["status"] for h in rollout[0]["history"]] == [
                "Downloading",
                "Downloaded",
                "Installing",
                "Idle",
                "Installed",
            ]
            _, files = await ahttp("GET", f"{cs.api_url}/api/firmware")
            assert [f["name"] for f in files] == ["fw-2.0.bin"]
            # The credentials live beside the database, outside the FTP root.
            creds = json.loads((tmp_path / "csms" / "ftp.json").read_text())
            assert creds["user"] in location

    asyncio.run(main())


def test_diagnostics_location_and_status(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            cp.script("GetDiagnostics", {"fileName": "cp.log"})
            response = await cs.get_diagnostics(CP)
            assert response == {"fileName": "cp.log"}
            request = cs.store.diagnostics_requests(CP)[-1]
            # Kept without the FTP password (the API serves these rows).
            assert request["location"] == redact_text(cs.ftp.diagnostics_location())
            assert cs.ftp.password not in request["location"]
            assert request["file_name"] == "cp.log" and request["status"] == "Requested"
            await cp.request(call.DiagnosticsStatusNotification("Uploading"))
            await cp.request(call.DiagnosticsStatusNotification("Uploaded"))
            assert cs.store.diagnostics_requests(CP)[-1]["status"] == "Uploaded"
            history = [n["status"] for n in cs.store.notifications(CP)]
            assert history == ["Uploading", "Uploaded"]
            cp.script("GetDiagnostics", {})
            await cs.get_diagnostics(CP, location="ftp://elsewhere.invalid/up/")
            assert cs.store.diagnostics_requests(CP)[-1]["status"] == "NoFile"

    asyncio.run(main())


def test_ftp_can_be_off(tmp_path):
    async def main():
        async with running(tmp_path, ftp=False) as (cs, _):
            status, body = await ahttp(
                "POST", f"{cs.api_url}/api/charge-points/{CP}/operations/GetDiagnostics", {}
            )
            assert status == 400 and "FTP" in body["message"]
        async with running(tmp_path / "on", ftp=True) as (cs, _):
            assert cs.ftp is not None and cs.ftp.running
            assert cs.status()["ftp"]["port"] == cs.ftp.port

    asyncio.run(main())


def test_reservations_with_expiry_and_use(tmp_path):
    async def main():
        async with running(tmp_path, speed=20) as (cs, cp):
            await cs.reserve_now(CP, 1, "TAG-1", expires_in=10)
            first = cs.reservations(CP)[0]
            assert first["status"] == "Accepted" and first["parent_id_tag"] == "PARENT-1"
            assert cs.reservations(CP, active=True)
            sent = [f[4] for f in cp.frames if f[1] == "ReserveNow" and f[0] == "in"][-1]
            assert sent["parentIdTag"] == "PARENT-1" and sent["reservationId"] == first["id"]
            for _ in range(600):  # expires 10 simulated seconds later (0.5 s of wall time)
                if cs.reservations(CP)[0]["status"] == "Expired":
                    break
                await asyncio.sleep(0.05)
            assert cs.reservations(CP)[0]["status"] == "Expired"
            assert cs.clock.now() >= ocpp_time_or_none(first["expiry_date"]), "expired too early"
            assert cs.reservations(CP, active=True) == []
            # A second one is used by a transaction.
            await cs.reserve_now(CP, 0, "TAG-1")
            rid = cs.reservations(CP)[-1]["id"]
            assert rid == first["id"] + 1
            start = await cp.request(
                call.StartTransaction(
                    connector_id=2,
                    id_tag="TAG-1",
                    meter_start=0,
                    timestamp=cp.now(),
                    reservation_id=rid,
                )
            )
            used = cs.reservations(CP)[-1]
            assert used["status"] == "Used" and used["transaction_id"] == start["transactionId"]
            # A third is cancelled; a refused one keeps the charge point's answer.
            await cs.reserve_now(CP, 1, "TAG-1", expiry_date=cs.clock.now() + timedelta(hours=1))
            rid = cs.reservations(CP)[-1]["id"]
            assert (await cs.cancel_reservation(CP, rid)) == {"status": "Accepted"}
            assert cs.reservations(CP)[-1]["status"] == "Cancelled"
            cp.script("ReserveNow", {"status": "Occupied"})
            await cs.reserve_now(CP, 1, "TAG-1")
            assert cs.reservations(CP)[-1]["status"] == "Occupied"

    asyncio.run(main())


def test_local_list_full_then_differential(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            assert (await cs.get_local_list_version(CP)) == {"listVersion": 0}
            await cs.send_local_list(CP)  # Full, from the CSMS's idTags
            full = [f[4] for f in cp.frames if f[1] == "SendLocalList" and f[0] == "in"][-1]
            assert full["updateType"] == "Full" and full["listVersion"] == 1
            assert {
                e["idTag"]: e["idTagInfo"]["status"] for e in full["localAuthorizationList"]
            } == {
                "PARENT-1": "Accepted",
                "TAG-1": "Accepted",
                "TAG-2": "Blocked",
            }
            held = cs.store.local_list(CP)
            assert held["version"] == 1 and set(held["entries"]) == {"PARENT-1", "TAG-1", "TAG-2"}
            # Nothing changed: an empty differential; then a change and a removal.
            await cs.send_local_list(CP, "Differential")
            diff = [f[4] for f in cp.frames if f[1] == "SendLocalList" and f[0] == "in"][-1]
            assert diff["listVersion"] == 2 and diff["localAuthorizationList"] == []
            cs.add_id_tag("TAG-2", "Accepted")
            cs.add_id_tag("TAG-3", "Accepted")
            cs.store._db.execute("DELETE FROM id_tags WHERE id_tag = 'PARENT-1'")
            await cs.send_local_list(CP, "Differential")
            diff = [f[4] for f in cp.frames if f[1] == "SendLocalList" and f[0] == "in"][-1]
            assert diff["listVersion"] == 3
            assert sorted(diff["localAuthorizationList"], key=lambda e: e["idTag"]) == [
                {"idTag": "PARENT-1"},
                {"idTag": "TAG-2", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "TAG-3", "idTagInfo": {"status": "Accepted"}},
            ]
            held = cs.store.local_list(CP)
            assert held["version"] == 3 and set(held["entries"]) == {"TAG-1", "TAG-2", "TAG-3"}
            assert (await cs.get_local_list_version(CP)) == {"listVersion": 3}
            assert cs.store.local_list(CP)["reported_version"] == 3
            # A refused update keeps what the charge point holds.
            cp.script("SendLocalList", {"status": "VersionMismatch"})
            await cs.send_local_list(CP, "Full")
            held = cs.store.local_list(CP)
            assert held["version"] == 3 and held["last_status"] == "VersionMismatch"

    asyncio.run(main())


PROFILE = {
    "chargingProfileId": 7,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 16.0},
            {"startPeriod": 600, "limit": 8.0},
        ],
    },
}


def test_composite_schedule_is_checked_against_the_prediction(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            assert (await cs.set_charging_profile(CP, 1, PROFILE)) == {"status": "Accepted"}
            assert [
                i["chargingProfile"]["chargingProfileId"] for i in cs.charging_profiles(CP)
            ] == [7]
            held = [{"connectorId": 1, "chargingProfile": PROFILE}]
            cp.script(
                "GetCompositeSchedule",
                lambda p: composite_response(held, 1, cp.clock.now(), p["duration"]),
            )
            await cs.get_composite_schedule(CP, 1, 1200, "A")
            check = cs.composite_checks(CP)[-1]
            assert check["ok"] and check["problems"] == []
            # A charge point that reports another limit is flagged.
            wrong = json.loads(json.dumps(PROFILE))
            wrong["chargingSchedule"]["chargingSchedulePeriod"][1]["limit"] = 6.0
            cp.script(
                "GetCompositeSchedule",
                lambda p: composite_response(
                    [{"connectorId": 1, "chargingProfile": wrong}], 1, cp.clock.now(), p["duration"]
                ),
            )
            status, body = await ahttp(
                "POST",
                f"{cs.api_url}/api/charge-points/{CP}/operations/GetCompositeSchedule",
                {"connectorId": 1, "duration": 1200},
            )
            assert status == 200
            assert body["notes"]["composite_check"]["ok"] is False
            assert "expected 8" in body["notes"]["composite_check"]["problems"][0]
            assert not cs.composite_checks(CP)[-1]["ok"]
            # Rejected while a profile applies is flagged too.
            cp.script("GetCompositeSchedule", {"status": "Rejected"})
            await cs.get_composite_schedule(CP, 1, 600)
            assert "Rejected" in cs.composite_checks(CP)[-1]["problems"][0]
            # Cleared by criteria: nothing left to predict.
            await cs.clear_charging_profile(
                CP, connector_id=1, charging_profile_purpose="TxDefaultProfile"
            )
            assert cs.charging_profiles(CP) == []

    asyncio.run(main())


def test_tx_profiles_follow_their_transaction(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            tx_profile = {**PROFILE, "chargingProfileId": 8, "chargingProfilePurpose": "TxProfile"}
            await cs.remote_start(CP, "TAG-1", 1, tx_profile)
            start = await cp.request(
                call.StartTransaction(
                    connector_id=1, id_tag="TAG-1", meter_start=0, timestamp=cp.now()
                )
            )
            tx = start["transactionId"]
            assert [
                i["chargingProfile"].get("transactionId") for i in cs.charging_profiles(CP)
            ] == [tx]
            # SetChargingProfile of a TxProfile without transactionId gets the running one.
            second = {**tx_profile, "chargingProfileId": 9, "stackLevel": 1}
            await cs.set_charging_profile(CP, 1, second)
            sent = [f[4] for f in cp.frames if f[1] == "SetChargingProfile" and f[0] == "in"][-1]
            assert sent["csChargingProfiles"]["transactionId"] == tx
            await cp.request(
                call.StopTransaction(meter_stop=10, timestamp=cp.now(), transaction_id=tx)
            )
            assert cs.charging_profiles(CP) == []  # TxProfiles end with the transaction

    asyncio.run(main())


def test_octt_mode_sends_nothing_unsolicited(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            await cs.change_configuration(CP, "HeartbeatInterval", "30")
            await cp.request(cp.boot_payload())
            await asyncio.sleep(0.3)
            from_csms = [f[1] for f in cp.frames if f[0] == "in" and f[2] == 2]
            assert from_csms == ["ChangeConfiguration"]
        async with running(tmp_path / "chatty", octt_compatible=False) as (cs, cp):
            for _ in range(600):  # read after the Accepted boot
                from_csms = [f[1] for f in cp.frames if f[0] == "in" and f[2] == 2]
                if from_csms and cs.store.configuration(CP):
                    break
                await asyncio.sleep(0.05)
            assert from_csms == ["GetConfiguration"]
            keys = {k["key"]: k["value"] for k in cs.store.configuration(CP)}
            assert keys["NumberOfConnectors"] == "2"

    asyncio.run(main())


def test_pending_boot_with_follow_up_configuration(tmp_path):
    async def main():
        async with running(tmp_path, connect=False) as (cs, cp):
            cs.set_boot_policy(CP, "Pending", 30, follow_up={"MeterValueSampleInterval": "15"})
            await cp.connect()
            assert (await cp.request(cp.boot_payload()))["status"] == "Pending"
            for _ in range(100):
                if any(
                    f[1] == "BootNotification" and f[0] == "out" and f[2] == 2
                    for f in cp.frames[2:]
                ):
                    break
                await asyncio.sleep(0.02)
            from_csms = [f[1] for f in cp.frames if f[0] == "in" and f[2] == 2]
            assert from_csms == ["ChangeConfiguration", "TriggerMessage"]
            assert cp.config.get("MeterValueSampleInterval") == "15"
            assert cs.store.charge_point(CP)["boot_policy"] == "Accepted"
            assert (await cp.request(cp.boot_payload()))["status"] == "Accepted"
        with pytest.raises(ValueError):
            cs.set_boot_policy(CP, "Accepted", 30, follow_up={"a": "b"})

    asyncio.run(main())


def test_data_transfer_vendor_hook(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            seen = []

            def hook(cp_id, message_id, data):
                seen.append((cp_id, message_id, data))
                return {"status": "Accepted", "data": (data or "").upper()}

            cs.add_vendor_hook("com.example", hook)
            answer = await cp.request(call.DataTransfer("com.example", "Echo", "hello"))
            assert answer == {"status": "Accepted", "data": "HELLO"}
            assert seen == [(CP, "Echo", "hello")]
            cs.add_vendor_hook("com.broken", lambda *a: 1 / 0)
            assert (await cp.request(call.DataTransfer("com.broken")))["status"] == "Rejected"
            assert (await cp.request(call.DataTransfer("com.other")))["status"] == "UnknownVendorId"
            stored = cs.store.notifications(CP, "DataTransfer")
            assert [n["payload"]["vendorId"] for n in stored] == [
                "com.example",
                "com.broken",
                "com.other",
            ]

    asyncio.run(main())


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "FormationViolation"),
        ('[2, "m1", "Heartbeat"]', "ProtocolError"),
        ('[2, "m2", "FlyToTheMoon", {}]', "NotImplemented"),
        ('[2, "m3", "GetConfiguration", {}]', "NotSupported"),  # a CSMS-to-CP action
        ('[2, "m4", "Authorize", {}]', "ProtocolError"),
        ('[2, "m5", "Authorize", {"idTag": 42}]', "TypeConstraintViolation"),
        (
            '[2, "m6", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", '
            '"status": "Sleeping"}]',
            "PropertyConstraintViolation",
        ),  # fmt: skip
    ],
)
def test_malformed_frames_get_the_right_callerror_and_the_server_keeps_serving(
    tmp_path, frame, code
):
    async def main():
        async with running(tmp_path, connect=False) as (cs, _):
            from csms_rig import PASSWORD

            headers = {"Authorization": build_authorization_basic(CP, PASSWORD)}
            async with connect(
                cs.url(CP), additional_headers=headers, subprotocols=["ocpp1.6"], proxy=None
            ) as ws:
                await ws.send(frame)
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply[0] == 4 and reply[2] == code, reply
                await ws.send('[2, "ok", "Heartbeat", {}]')
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply[0] == 3 and reply[1] == "ok"
            status, _ = await ahttp("GET", f"{cs.api_url}/api/status")
            assert status == 200

    asyncio.run(main())
