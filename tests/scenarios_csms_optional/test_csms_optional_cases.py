"""The optional-profile _CSMS cases: registered as the catalogue says, passing against our CSMS,
failing against a Central System that gets them wrong."""

import asyncio
import inspect

import pytest

from bench.scenarios import csms_optional  # noqa: F401 - registers the cases
from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import RunOptions, run_case

SPEED = 20.0
EXPECTED = {
    "local-list": ["042_1", "042_2", "043_1", "043_3", "043_4", "043_5"],
    "firmware": ["044_1", "044_2", "044_3"],
    "diagnostics": ["045_1", "045_2"],
    "reservation": ["046", "047", "048_1", "048_2", "048_3", "048_4", "049", "051", "052", "053"],
    "trigger": ["054", "055"],
    "smart-charging": ["056", "057", "059", "066", "067"],
}
IDS = [f"TC_{n}_CSMS" for numbers in EXPECTED.values() for n in numbers]


def optional_cases():
    return {
        i: c
        for i, c in all_scenarios().items()
        if c.fn.__module__.startswith("bench.scenarios.csms_optional.")
    }


def test_the_catalogue_cases_are_registered_with_profile_and_pics():
    cases = optional_cases()
    assert sorted(cases) == sorted(IDS)
    for profile, numbers in EXPECTED.items():
        for n in numbers:
            case = cases[f"TC_{n}_CSMS"]
            assert case.role == "csms" and case.profile == profile
            pics = "profile.firmware" if profile == "diagnostics" else f"profile.{profile}"
            assert case.requires == (pics,)
            assert case.title and inspect.getdoc(case.fn)


def test_a_csms_without_the_profile_makes_them_not_applicable(tmp_path):
    pics = tmp_path / "no-reservation.toml"
    pics.write_text('role = "csms"\n[items]\n"profile.core" = true\n')
    case = optional_cases()["TC_046_CSMS"]
    result = asyncio.run(run_case(case, RunOptions(pics=str(pics), speed=SPEED)))
    assert result.verdict == "n/a"
    assert "profile.reservation" in result.details["message"]


@pytest.mark.parametrize("case_id", IDS)
def test_case_passes_against_our_csms(case_id):
    result = asyncio.run(run_case(optional_cases()[case_id], RunOptions(speed=SPEED)))
    assert result.verdict == "pass", (result.details.get("message"), result.steps[-6:])


def run_broken(case_id, monkeypatch, target, name, replacement):
    monkeypatch.setattr(target, name, replacement)
    return asyncio.run(run_case(optional_cases()[case_id], RunOptions(speed=SPEED)))


def test_authorize_without_parent_fails_053(monkeypatch):
    from bench.csms import handlers

    original = handlers.id_tag_info

    def no_parent(store, clock, id_tag):
        info = original(store, clock, id_tag)
        info.pop("parentIdTag", None)
        return info

    result = run_broken("TC_053_CSMS", monkeypatch, handlers, "id_tag_info", no_parent)
    assert result.verdict == "fail" and "parentIdTag" in result.details["message"]


def test_a_reservation_already_expired_fails_046(monkeypatch):
    from bench.csms import operations

    monkeypatch.setattr(operations, "DEFAULT_RESERVATION_S", -60)
    result = asyncio.run(run_case(optional_cases()["TC_046_CSMS"], RunOptions(speed=SPEED)))
    assert result.verdict == "fail" and "not in the future" in result.details["message"]


def test_a_full_list_without_id_tag_info_fails_043_4(monkeypatch):
    from bench.csms.operations import Operations

    original = Operations._prepare_send_local_list

    def strip(self, cp_id, p, notes):
        p = original(self, cp_id, p, notes)
        p["localAuthorizationList"] = [{"idTag": e["idTag"]} for e in p["localAuthorizationList"]]
        return p

    result = run_broken("TC_043_4_CSMS", monkeypatch, Operations, "_prepare_send_local_list", strip)
    assert result.verdict == "fail" and "idTagInfo" in result.details["message"]


def test_a_tx_profile_without_the_transaction_fails_057(monkeypatch):
    from bench.csms.operations import Operations

    result = run_broken(
        "TC_057_CSMS",
        monkeypatch,
        Operations,
        "_prepare_set_charging_profile",
        lambda self, cp_id, p, notes: p,  # forgets to fill in the transactionId
    )
    assert result.verdict == "fail" and "transactionId" in result.details["message"]


def test_a_wrong_composite_prediction_fails_066(monkeypatch):
    from bench.csms.operations import Operations

    original = Operations.predict_composite

    def off_by_two(self, *args, **kwargs):
        schedule = original(self, *args, **kwargs)
        for period in schedule["chargingSchedulePeriod"]:
            period["limit"] += 2
        return schedule

    result = run_broken("TC_066_CSMS", monkeypatch, Operations, "predict_composite", off_by_two)
    assert result.verdict == "fail" and "prediction disagrees" in result.details["message"]


def test_an_unanswered_firmware_status_fails_044_1(monkeypatch):
    from bench.csms.session import ChargePointSession

    original = ChargePointSession.handle

    def handle(self, action, handler, payload):
        if action == "FirmwareStatusNotification":
            raise RuntimeError("boom")
        return original(self, action, handler, payload)

    result = run_broken("TC_044_1_CSMS", monkeypatch, ChargePointSession, "handle", handle)
    assert result.verdict == "fail" and "CALLERROR" in result.details["message"]
