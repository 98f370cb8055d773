"""The cases against our CSMS seen from outside: its OCPP URL plus its HTTP API as operator hook."""

import asyncio
import secrets
import shlex
import sys
from datetime import timedelta

import pytest

from bench.csms.hook import payload_for
from bench.csms.server import CentralSystem
from bench.scenarios import csms_optional  # noqa: F401 - registers the cases
from bench.scenarios.csms_optional.firmware import FIRMWARE_IMAGE, FIRMWARE_NAME
from bench.scenarios.csms_role import IdTags
from bench.scenarios.registry import select
from bench.scenarios.runner import RunOptions, run_case
from charger.clock import Clock

CP_ID = "EXT-CP-01"
CASES = [
    "TC_012_CSMS",
    "TC_043_5_CSMS",
    "TC_044_1_CSMS",
    "TC_046_CSMS",
    "TC_053_CSMS",
    "TC_054_CSMS",
    "TC_057_CSMS",
    "TC_066_CSMS",
    "TC_067_CSMS",
]


def test_operator_actions_map_to_wire_payloads():
    assert payload_for("reset", {"cp_id": "X", "kind": "Hard"}) == ("Reset", {"type": "Hard"})
    assert payload_for("get_configuration", {"cp_id": "X", "keys": ["A"]}) == (
        "GetConfiguration",
        {"key": ["A"]},
    )
    assert payload_for("set_charging_profile", {"connector_id": 1, "charging_profile": {}}) == (
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": {}},
    )
    assert payload_for("remote_start", {"id_tag": "T", "charging_profile": {"a": 1}}) == (
        "RemoteStartTransaction",
        {"idTag": "T", "chargingProfile": {"a": 1}},
    )
    assert payload_for("call", {"action": "ClearCache", "payload": {}}) == ("ClearCache", {})


@pytest.mark.e2e
def test_cases_pass_against_our_csms_as_an_external_dut(tmp_path):
    async def main():
        cs = CentralSystem(tmp_path / "csms", Clock.start(), api_port=0)
        await cs.start()
        password = secrets.token_urlsafe(18)
        # What the lab's operator sets up in the DUT: the charge point, idTags, the image.
        cs.register_charge_point(CP_ID, password)
        tags = IdTags()
        cs.add_id_tag(tags.parent)
        cs.add_id_tag(tags.valid, parent=tags.parent)
        cs.add_id_tag(tags.valid2, parent=tags.parent)
        cs.add_id_tag(tags.expired, "Expired", expiry=cs.clock.now() - timedelta(days=1))
        cs.add_id_tag(tags.blocked, "Blocked")
        cs.add_firmware(FIRMWARE_NAME, FIRMWARE_IMAGE)
        hook = (
            f"{shlex.quote(sys.executable)} -m bench.csms.hook --api {cs.api_url}"
            f" --token {cs.api_token}"
        )
        options = RunOptions(
            speed=1.0,
            dut_url=f"ws://127.0.0.1:{cs.port}/ocpp/",
            dut_cp_id=CP_ID,
            dut_password=password,
            operator_hook=hook,
        )
        try:
            results = [await run_case(case, options) for case in select(CASES)]
        finally:
            await cs.stop()
        return results

    results = asyncio.run(main())
    failed = {r.id: r.details.get("message") for r in results if r.verdict != "pass"}
    assert not failed, failed
