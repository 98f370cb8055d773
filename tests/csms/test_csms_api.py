"""The operations API: one implementation, three ways in (Python, HTTP, CLI), and its document."""

import asyncio
import json
import re

import pytest
from csms_rig import CP, OTHER, PASSWORD, ahttp, running

from bench.csms.cli import add_subcommands, parse_fields
from bench.csms.http_api import create_app
from bench.csms.openapi import ocpp_schema
from bench.csms.operations import OPERATIONS, OperationError
from bench.csms.server import CentralSystem
from bench.scenarios.csms_role import NO_ANSWER
from bench.security.redact import redact
from charger.clock import Clock
from charger.protocol.errors import NotConnected


def ensure_pki_pem():
    import tempfile

    from bench.security.pki import ensure_pki

    with tempfile.TemporaryDirectory() as d:
        return ensure_pki(d).ca_cert.read_text()


def _rules(app):
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((method, path))
    return out


def _documented(doc):
    return {(m.upper(), path) for path, item in doc["paths"].items() for m in item}


def test_openapi_document_matches_the_routes(tmp_path):
    cs = CentralSystem(":memory:", Clock.start())
    app = create_app(cs)
    client = app.test_client()
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert _rules(app) == _documented(doc)
    # Every CSMS-initiated 1.6 action has its route, with the OCPP schemas.
    for action in OPERATIONS:
        item = doc["paths"][f"/api/charge-points/{{cp_id}}/operations/{action}"]["post"]
        body = item["requestBody"]["content"]["application/json"]["schema"]
        assert set(ocpp_schema(action)["properties"]) <= set(body["properties"])
        assert {"200", "400", "404", "409", "502", "504"} <= set(item["responses"])
    assert len(OPERATIONS) == 26  # 19 of Core and the optional profiles, 7 of security
    # Fields the CSMS fills are optional in the API.
    update = doc["paths"]["/api/charge-points/{cp_id}/operations/UpdateFirmware"]["post"]
    schema = update["requestBody"]["content"]["application/json"]["schema"]
    assert "location" not in schema.get("required", []) and "firmware" in schema["properties"]
    cs.store.close()


def test_openapi_document_is_valid_openapi():
    import openapi_spec_validator as validator  # a dev dependency: never skipped

    cs = CentralSystem(":memory:", Clock.start())
    doc = create_app(cs).test_client().get("/api/openapi.json").get_json()
    validator.validate(doc)
    cs.store.close()


def test_calls_to_a_charge_point_that_is_not_connected_get_409(tmp_path):
    async def main():
        async with running(tmp_path, connect=False) as (cs, _):
            base = f"{cs.api_url}/api/charge-points"
            status, body = await ahttp("POST", f"{base}/{CP}/operations/Reset", {"type": "Soft"})
            assert status == 409
            assert body["error"] == "not_connected" and CP in body["message"]
            status, body = await ahttp("POST", f"{base}/NOPE/operations/Reset", {"type": "Soft"})
            assert status == 404 and body["error"] == "unknown_charge_point"
            status, body = await ahttp("POST", f"{base}/{CP}/operations/Explode", {})
            assert status == 404
            with pytest.raises(NotConnected):
                await cs.reset(CP)
            # The refused request is in the operations log.
            assert cs.store.operations(CP)[-1]["error"] == "NotConnected"

    asyncio.run(main())


def test_bad_requests_get_400(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, _):
            base = f"{cs.api_url}/api/charge-points/{CP}/operations"
            status, body = await ahttp("POST", f"{base}/Reset", {"type": "Sideways"})
            assert status == 400 and "Sideways" in body["message"]
            status, body = await ahttp("POST", f"{base}/Reset", {"type": "Soft", "when": 1})
            assert status == 400 and "when" in body["message"]
            status, body = await ahttp("POST", f"{base}/UpdateFirmware", {"firmware": "x.bin"})
            assert status == 400 and "x.bin" in body["message"]
            status, body = await ahttp("POST", f"{base}/Reset", raw=b"[1, 2]")
            assert status == 400
            with pytest.raises(OperationError):
                await cs.update_firmware(CP)  # neither firmware nor location

    asyncio.run(main())


SOME_PEM = ensure_pki_pem()

#: A minimal valid payload per action (what the CSMS fills is left out).
MINIMAL = {
    "CancelReservation": {"reservationId": 1},
    "ChangeAvailability": {"connectorId": 1, "type": "Inoperative"},
    "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "120"},
    "ClearCache": {},
    "ClearChargingProfile": {},
    "DataTransfer": {"vendorId": "com.example"},
    "GetCompositeSchedule": {"connectorId": 1, "duration": 600},
    "GetConfiguration": {},
    "GetDiagnostics": {},
    "GetLocalListVersion": {},
    "RemoteStartTransaction": {"idTag": "TAG-1", "connectorId": 1},
    "RemoteStopTransaction": {"transactionId": 99},
    "ReserveNow": {"connectorId": 1, "idTag": "TAG-1"},
    "Reset": {"type": "Soft"},
    "SendLocalList": {},
    "SetChargingProfile": {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
        },
    },
    "TriggerMessage": {"requestedMessage": "Heartbeat"},
    "UnlockConnector": {"connectorId": 1},
    "UpdateFirmware": {"location": "ftp://example.invalid/fw.bin"},
    "CertificateSigned": {"certificateChain": SOME_PEM},
    "DeleteCertificate": {"certificate": SOME_PEM},
    "ExtendedTriggerMessage": {"requestedMessage": "Heartbeat"},
    "GetInstalledCertificateIds": {"certificateType": "CentralSystemRootCertificate"},
    "GetLog": {"logType": "SecurityLog", "log": {"remoteLocation": "ftp://example.invalid/"}},
    "InstallCertificate": {"certificateType": "CentralSystemRootCertificate"},
    "SignedUpdateFirmware": {
        "firmware": {
            "location": "ftp://example.invalid/fw.bin",
            "retrieveDateTime": "2030-01-01T00:00:00Z",
            "signingCertificate": SOME_PEM,
            "signature": "c2lnbmF0dXJl",
        }
    },
}


def test_every_operation_over_http_reaches_the_charge_point(tmp_path):
    assert set(MINIMAL) == set(OPERATIONS)

    async def main():
        async with running(tmp_path) as (cs, cp):
            base = f"{cs.api_url}/api/charge-points/{CP}/operations"
            for action, payload in MINIMAL.items():
                status, body = await ahttp("POST", f"{base}/{action}", payload)
                assert status == 200, (action, body)
                assert body["action"] == action
                assert isinstance(body["response"], dict)
                # The charge point got exactly the request the API reports as sent
                # (where the API shows credentials masked: FTP passwords).
                sent = [f for f in cp.frames if f[0] == "in" and f[1] == action and f[2] == 2]
                assert sent and redact(sent[-1][4]) == body["request"], action
            log = cs.store.operations(CP, limit=100)
            assert [r["action"] for r in log] == list(MINIMAL)
            assert all(r["response"] is not None and r["error"] is None for r in log)

    asyncio.run(main())


def test_python_api_methods_cover_every_operation():
    for op in OPERATIONS.values():
        assert callable(getattr(CentralSystem, op.method)), op.method


def test_reads(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, cp):
            from ocpp.v16 import call

            start = await cp.request(
                call.StartTransaction(
                    connector_id=1, id_tag="TAG-1", meter_start=100, timestamp=cp.now()
                )
            )
            tx = start["transactionId"]
            await cp.request(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        {
                            "timestamp": cp.now(),
                            "sampledValue": [
                                {"value": "150", "measurand": "Energy.Active.Import.Register"},
                                {"value": "7.5", "measurand": "Current.Import", "phase": "L1"},
                            ],
                        }
                    ],
                )
            )
            await cp.request(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Charging", timestamp=cp.now()
                )
            )
            api = f"{cs.api_url}/api"
            status, body = await ahttp("GET", f"{api}/status")
            assert status == 200 and body["connected"] == [CP] and body["octt_compatible"]
            status, body = await ahttp("GET", f"{api}/charge-points")
            assert {c["id"]: c["connected"] for c in body} == {CP: True, OTHER: False}
            assert body[0]["connectors"]["1"]["status"] == "Charging"
            status, body = await ahttp("GET", f"{api}/transactions?open=true")
            assert [t["id"] for t in body] == [tx]
            status, body = await ahttp("GET", f"{api}/meter-values?transaction_id={tx}")
            assert {(m["measurand"], m["phase"]) for m in body} == {
                ("Energy.Active.Import.Register", None),
                ("Current.Import", "L1"),
            }
            for path in ("statuses", "notifications", "configuration", "local-list",
                         "charging-profiles", "composite-checks", "operations"):  # fmt: skip
                status, _ = await ahttp("GET", f"{api}/charge-points/{CP}/{path}")
                assert status == 200, path
            for path in ("reservations", "firmware-rollout", "firmware", "diagnostics"):
                status, _ = await ahttp("GET", f"{api}/{path}")
                assert status == 200, path
            status, body = await ahttp("GET", f"{api}/charge-points/NOPE")
            assert status == 404

    asyncio.run(main())


def test_the_token_is_required_even_on_127_0_0_1(tmp_path):
    async def main():
        async with running(tmp_path) as (cs, _):
            assert cs.api_url.startswith("http://127.0.0.1:") and cs.api_token
            for token in ("", "wrong-token"):
                status, body = await ahttp("GET", f"{cs.api_url}/api/status", token=token)
                assert status == 401 and body["error"] == "unauthorized"
                status, body = await ahttp(
                    "POST",
                    f"{cs.api_url}/api/charge-points/{CP}/operations/Reset",
                    {"type": "Hard"},
                    token=token,
                )
                assert status == 401
            assert cs.store.operations(CP) == []  # nothing reached the charge point
            info = json.loads((tmp_path / "csms" / "api.json").read_text())
            assert info["token"] == cs.api_token

    asyncio.run(main())


def test_token_is_required_when_set(tmp_path):
    async def main():
        async with running(tmp_path, api_token="s3cret-token") as (cs, _):
            status, body = await ahttp("GET", f"{cs.api_url}/api/status", token="")
            assert status == 401 and body["error"] == "unauthorized"
            status, _ = await ahttp("GET", f"{cs.api_url}/api/status", token="s3cret-token")
            assert status == 200
            status, _ = await ahttp("GET", f"{cs.api_url}/api/openapi.json")
            assert status == 200
            info = json.loads((tmp_path / "csms" / "api.json").read_text())
            assert info == {"url": cs.api_url, "token": "s3cret-token"}
        assert not (tmp_path / "csms" / "api.json").exists()

    asyncio.run(main())


def test_cli_calls_the_http_api(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    state = tmp_path  # running() keeps the CSMS in tmp_path/csms: STATE is tmp_path

    def bench(*argv):
        args = parser.parse_args(["csms", *argv, "--state-dir", str(state)])
        return args.func(args)

    async def main():
        async with running(tmp_path) as (cs, cp):
            code = await asyncio.to_thread(bench, "Reset", "--cp", CP, "type=Hard")
            assert code == 0
            out = json.loads(capsys.readouterr().out)
            assert out["request"] == {"type": "Hard"} and out["response"] == {"status": "Accepted"}
            code = await asyncio.to_thread(
                bench, "get_configuration", "--cp", CP, "key=HeartbeatInterval,NumberOfConnectors"
            )
            assert code == 0
            out = json.loads(capsys.readouterr().out)
            assert [k["key"] for k in out["response"]["configurationKey"]] == [
                "HeartbeatInterval",
                "NumberOfConnectors",
            ]
            code = await asyncio.to_thread(bench, "Reset", "--cp", OTHER, "type=Soft")
            assert code == 1
            assert "HTTP 409" in capsys.readouterr().err
            code = await asyncio.to_thread(bench, "charge-points")
            assert code == 0 and CP in capsys.readouterr().out

    asyncio.run(main())
    assert bench("Reset") == 2  # --cp missing
    assert parse_fields("ReserveNow", ["connector_id=1", "idTag=0042", "expiresIn=60"]) == {
        "connectorId": 1,
        "idTag": "0042",  # a string field stays a string
        "expiresIn": 60,
    }
    with pytest.raises(ValueError):
        parse_fields("Reset", ["colour=red"])


def test_a_charge_point_that_never_answers_costs_a_timeout_not_the_server(tmp_path):
    async def main():
        async with running(tmp_path, response_timeout=1.0) as (cs, cp):
            from bench.scenarios.csms_role import SimChargePoint

            other = SimChargePoint(OTHER, cs.url(OTHER), PASSWORD, cs.clock, lambda *f: None)
            await other.connect()
            try:
                cp.script("Reset", lambda p: NO_ANSWER)
                hung = asyncio.ensure_future(cs.reset(CP))
                # Meanwhile the server serves: the other charge point, and the hung one's
                # own requests.
                assert (await cs.clear_cache(OTHER)) == {"status": "Accepted"}
                from ocpp.v16 import call

                beat = await asyncio.wait_for(cp.request(call.Heartbeat()), 2)
                assert "currentTime" in beat
                with pytest.raises(TimeoutError):
                    await hung
                assert cs.store.operations(CP)[-1]["error"] == "Timeout"
                # Over HTTP the same is a 504.
                status, body = await ahttp(
                    "POST",
                    f"{cs.api_url}/api/charge-points/{CP}/operations/Reset",
                    {"type": "Soft"},
                )
                assert status == 504 and body["error"] == "timeout"
                # Once it answers again, calls work again.
                cp.script("Reset", None)
                assert (await cs.reset(CP)) == {"status": "Accepted"}
                assert cs.connected(CP)
            finally:
                await other.close()

    asyncio.run(main())
