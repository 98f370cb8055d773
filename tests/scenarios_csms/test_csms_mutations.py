"""Every ``_CSMS`` case module fails against a Central System that gets its part wrong.

Our CSMS is the base; one seam is bent per test: an answer it gives a charge point
(``ChargePointSession.handle``), a request it sends one (``CentralSystem.call``), or what it
records. Each case must then fail with a message that names the defect. (The misbehaving
external double of ``test_csms_role_double.py`` and the optional-profile tests cover
the modules not listed here.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bench.csms.operations import Operations
from bench.csms.server import CentralSystem
from bench.csms.session import ChargePointSession
from bench.scenarios.registry import select
from bench.scenarios.runner import RunOptions, run_case

SPEED = 10.0


def answer(action: str, edit: Callable[[dict[str, Any]], None]):
    """Bend the CSMS's answer to ``action`` from a charge point."""

    def install(monkeypatch) -> None:
        handle = ChargePointSession.handle

        def bent(self, name, handler, payload):
            response = handle(self, name, handler, payload)
            if name == action:
                response = dict(response)
                edit(response)
            return response

        monkeypatch.setattr(ChargePointSession, "handle", bent)

    return install


def request(action: str, edit: Callable[[Any], None]):
    """Bend the request ``action`` the CSMS sends a charge point."""

    def install(monkeypatch) -> None:
        send = CentralSystem.call

        async def bent(self, cp_id, message, *args, **kwargs):
            if type(message).__name__ == action:
                edit(message)
            return await send(self, cp_id, message, *args, **kwargs)

        monkeypatch.setattr(CentralSystem, "call", bent)

    return install


def ignores(action: str):
    """The CSMS answers ``action`` from a charge point but does nothing with it."""

    def install(monkeypatch) -> None:
        handle = ChargePointSession.handle

        def bent(self, name, handler, payload):
            return {} if name == action else handle(self, name, handler, payload)

        monkeypatch.setattr(ChargePointSession, "handle", bent)

    return install


def forgets(method: str):
    """The CSMS does not record what ``Operations.<method>`` would record."""

    def install(monkeypatch) -> None:
        monkeypatch.setattr(Operations, method, lambda self, *args, **kwargs: None)

    return install


def _set(**fields: Any) -> Callable[[Any], None]:
    def edit(target: Any) -> None:
        for name, value in fields.items():
            if isinstance(target, dict):
                target[name] = value
            else:
                setattr(target, name, value)

    return edit


MUTATIONS = {
    # module: case, the defect, words the failure must contain
    "start_session": (
        "TC_003_CSMS",
        answer("StartTransaction", _set(idTagInfo={"status": "Blocked"})),
        ["StartTransaction", "Blocked"],
    ),
    "stop_session": (
        "TC_005_1_CSMS",
        answer("StopTransaction", _set(idTagInfo={"status": "Invalid"})),
        ["StopTransaction", "Invalid"],
    ),
    "remote_actions": (
        "TC_010_CSMS",
        request("RemoteStartTransaction", _set(connector_id=2)),
        ["RemoteStartTransaction is for connector 2"],
    ),
    "reset": ("TC_013_CSMS", request("Reset", _set(type="Soft")), ["Reset", "Soft"]),
    "configuration": (
        "TC_021_CSMS",
        forgets("_after_change_configuration"),
        ["the CSMS records MeterValueSampleInterval"],
    ),
    "non_happy_remote": (
        "TC_028_CSMS",
        request("RemoteStopTransaction", _set(transaction_id=1)),
        ["RemoteStopTransaction", "'transactionId': 1"],
    ),
    "non_happy_unlock": (
        "TC_030_CSMS",
        request("UnlockConnector", _set(connector_id=2)),
        ["UnlockConnector", "'connectorId': 2"],
    ),
    "power_failure": (
        "TC_032_1_CSMS",
        answer("StopTransaction", _set(idTagInfo={"status": "Blocked"})),
        ["StopTransaction", "Blocked"],
    ),
    "config_keys": (
        "TC_040_1_CSMS",
        request("ChangeConfiguration", _set(key="HeartbeatInterval")),
        ["ChangeConfiguration", "HeartbeatInterval"],
    ),
    "data_transfer": (
        "TC_064_CSMS",
        answer("DataTransfer", lambda response: response.pop("status")),  # not a .conf
        ["DataTransfer", "CALLERROR"],
    ),
    "diagnostics": (
        "TC_045_1_CSMS",
        request("GetDiagnostics", _set(location="ftp://127.0.0.1:9/nowhere/")),
        ["ftp://127.0.0.1:9/nowhere/", "failed"],
    ),
    "remote_trigger": (
        "TC_054_CSMS",
        request("TriggerMessage", _set(requested_message="Heartbeat")),
        ["TriggerMessage", "Heartbeat"],
    ),
}

#: The loose cases of issue 13, each failing on the defect it claims to check.
TIGHTENED = {
    "TC_024_CSMS": (ignores("StatusNotification"), ["ConnectorLockFailure", "CSMS shows"]),
    "TC_032_1_CSMS": (
        answer("StopTransaction", _set(idTagInfo={"status": "Expired"})),
        ["StopTransaction", "Expired"],
    ),
    "TC_048_4_CSMS": (forgets("_after_reserve_now"), ["reservation"]),
    "TC_067_CSMS": (forgets("_after_clear_charging_profile"), ["still lists"]),
}


def run_bent(case_id: str, install, monkeypatch):
    install(monkeypatch)
    return asyncio.run(run_case(select([case_id])[0], RunOptions(speed=SPEED)))


@pytest.mark.parametrize("module", sorted(MUTATIONS))
def test_a_csms_that_gets_it_wrong_fails_the_module(module, monkeypatch):
    case_id, install, words = MUTATIONS[module]
    result = run_bent(case_id, install, monkeypatch)
    message = result.details.get("message", "")
    assert result.verdict == "fail", (case_id, result.verdict, message)
    for word in words:
        assert word in message, (case_id, message)


@pytest.mark.parametrize("case_id", sorted(TIGHTENED))
def test_a_tightened_case_fails_on_the_defect_it_checks(case_id, monkeypatch):
    install, words = TIGHTENED[case_id]
    result = run_bent(case_id, install, monkeypatch)
    message = result.details.get("message", "")
    assert result.verdict == "fail", (case_id, result.verdict, message)
    for word in words:
        assert word in message, (case_id, message)


def test_every_csms_case_module_is_shown_failing():
    from bench.scenarios import csms_core, csms_optional

    covered = set(MUTATIONS) | {
        "cold_boot",  # test_csms_role_double: 001
        "cache",  # 061
        "unlock",  # 017_1
        "non_happy_basic",  # 023_1, and 024 below
        "offline",  # 037_3
        "local_list",  # test_csms_optional_cases: 043_4
        "reservation",  # 046, 053, and 048_4 below
        "smart_charging",  # 057, 066, and 067 below
        "firmware",  # 044_1
    }
    modules = set(csms_core.MODULES) | set(csms_optional.MODULES)
    assert modules - covered == set()
