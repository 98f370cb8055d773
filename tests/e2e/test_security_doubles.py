"""The security _CS cases can fail: each runs against a charger double that breaks what
the case checks (bench/doubles/charger.py: the real firmware behind a faulty link or
transport) and must fail, saying what is wrong. The same cases pass against our agent
(tests/e2e/test_catalogue.py)."""

import asyncio

import pytest

from bench.scenarios.registry import all_scenarios
from bench.scenarios.runner import RunOptions, run_case

pytestmark = pytest.mark.e2e

#: case, the double's quirk, what the failure message must say
DOUBLES = [
    ("TC_073_CS", "keep_old_authorization_key", "after accepting a new AuthorizationKey"),
    ("TC_074_CS", "accept_any_certificate_chain", "SecurityProfile=3 answered status"),
    ("TC_075_1_CS", "fake_install_certificate", "does not list the manufacturer root"),
    ("TC_075_2_CS", "fake_install_certificate", "does not list the second CPO root"),
    ("TC_076_CS", "fake_delete_certificate", "the deleted manufacturer root is still listed"),
    (
        "TC_077_CS",
        "accept_any_certificate_chain",
        "CertificateSigned with a chain from an unknown CA answered status 'Accepted'",
    ),
    ("TC_078_CS", "trust_any_server_certificate", "no installed root vouches for"),
    ("TC_079_CS", "drop_security_events", "no SecurityEventNotification StartupOfTheDevice"),
    ("TC_080_CS", "drop_security_events", "no SecurityEventNotification FirmwareUpdated"),
    (
        "TC_081_CS",
        "accept_any_firmware_signature",
        "SignedUpdateFirmware signed by an unknown CA answered status 'Accepted'",
    ),
    # It accepts any higher profile: first caught on profile 3 without a certificate.
    ("TC_083_CS", "ignore_profile_upgrade", "SecurityProfile=3 answered status 'Accepted'"),
    ("TC_084_CS", "accept_downgrade", "SecurityProfile=1 answered status 'Accepted'"),
    ("TC_085_CS", "no_basic_auth", "the CSMS accepts it only over plain ws"),
    ("TC_086_CS", "no_basic_auth", "the CSMS accepts it only over TLS"),
    ("TC_087_CS", "accept_any_certificate_chain", "SecurityProfile=3 answered status"),
]


def test_every_security_case_has_a_double():
    cases = {c.id for c in all_scenarios().values() if c.profile == "security" and c.role == "cs"}
    assert cases == {case for case, _, _ in DOUBLES}


@pytest.mark.parametrize(("case_id", "quirk", "says"), DOUBLES, ids=[d[0] for d in DOUBLES])
def test_a_misbehaving_charger_fails_the_case(case_id, quirk, says):
    case = all_scenarios()[case_id]
    result = asyncio.run(run_case(case, RunOptions(speed=4, agent_quirks={quirk: True})))
    assert result.verdict == "fail", (result.verdict, result.details.get("message"))
    assert says in result.details["message"], result.details["message"]
