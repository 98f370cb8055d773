"""The security feature inside the agent, without sockets: provisioning, handlers, keys,
events in the durable outbox, file modes."""

import asyncio
import base64
import datetime
import json
import stat
from pathlib import Path

import pytest
from agent_fakes import make_charger

from bench.security.ca import certificate_hash_data, cpo_ca, manufacturer_ca
from bench.security.pki import ensure_pki
from charger.agent.features.security.csr import make_csr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    files = ensure_pki(root)
    maker = manufacturer_ca(root / "manufacturer")
    return files, cpo_ca(root), maker, root / "manufacturer" / "ca.pem"


@pytest.fixture
def charger(tmp_path, pki):
    files, _, _, maker_file = pki
    c = make_charger(tmp_path / "agent")
    c.settings.ca_file = str(files.ca_cert)
    c.settings.manufacturer_root = str(maker_file)
    yield c
    c.store.close()


def outbox(charger) -> list[tuple[str, dict]]:
    rows = charger.store.db.execute("SELECT action, payload FROM outbox ORDER BY seq")
    return [(a, json.loads(p)) for a, p in rows]


def events(charger) -> list[str]:
    return [p["type"] for a, p in outbox(charger) if a == "SecurityEventNotification"]


def test_start_provisions_the_roots_and_records_the_startup(charger, pki):
    _, cpo, maker, _ = pki
    sec = charger.security
    asyncio.run(sec.start())
    ids = sec.on_get_installed_certificate_ids("CentralSystemRootCertificate")
    assert ids.status == "Accepted" and ids.certificate_hash_data == [
        certificate_hash_data(cpo.pem)
    ]
    ids = sec.on_get_installed_certificate_ids("ManufacturerRootCertificate")
    assert ids.certificate_hash_data == [certificate_hash_data(maker.pem)]
    assert events(charger) == ["StartupOfTheDevice"]
    state = Path(charger.settings.state_dir)
    for path in state.glob("agent.sqlite*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_profile_changes_follow_the_whitepaper(charger, pki):
    _, cpo, _, _ = pki
    sec = charger.security
    asyncio.run(sec.start())
    config = charger.config

    async def scenario():
        assert config.change("SecurityProfile", "1") == "Rejected"  # downgrade
        assert config.change("SecurityProfile", "0") == "Rejected"
        assert config.change("SecurityProfile", "3") == "Rejected"  # no certificate yet
        request = make_csr("CP", None)
        sec.certificates.save_pending_key(request.key_pem)
        answer = sec.on_certificate_signed(cpo.sign_csr(request.csr_pem, "CP"))
        assert answer.status == "Accepted"
        reconnects = []
        sec.reconnect = lambda: reconnects.append(True)
        sec.connection.plan()
        sec.connection.connected(True)  # connected with profile 2
        assert config.change("SecurityProfile", "3") == "Accepted"
        assert config.get("SecurityProfile") == "2"  # in force once it connects with 3
        assert sec.connection.machine().in_use() == 3
        await asyncio.sleep(0.1)  # 0.5 simulated seconds at speed 100
        assert reconnects == [True]
        url, context, headers = sec.connection.plan()
        assert "Authorization" not in headers and context is not None

    asyncio.run(scenario())


def test_a_new_authorization_key_reconnects_and_stays_secret(charger):
    sec = charger.security
    asyncio.run(sec.start())

    async def scenario():
        reconnects = []
        sec.reconnect = lambda: reconnects.append(True)
        sec.connection.plan()
        sec.connection.connected(True)  # connected with the provisioned key
        assert charger.config.change("AuthorizationKey", "short") == "Rejected"
        assert charger.config.change("AuthorizationKey", "00112233445566778899aabb") == "Accepted"
        for _ in range(100):
            if reconnects:
                break
            await asyncio.sleep(0.05)
        assert reconnects == [True]
        _, _, headers = sec.connection.plan()
        assert base64.b64decode(headers["Authorization"][6:]) == b"CP:00112233445566778899aabb"
        found, unknown = charger.config.report(["AuthorizationKey"])
        assert found == [] and unknown == ["AuthorizationKey"]

    asyncio.run(scenario())


def test_invalid_charge_point_certificate_is_rejected_with_an_event(charger, tmp_path):
    sec = charger.security
    asyncio.run(sec.start())
    request = make_csr("CP", None)
    sec.certificates.save_pending_key(request.key_pem)
    stranger = cpo_ca(tmp_path / "stranger")
    answer = sec.on_certificate_signed(stranger.sign_csr(request.csr_pem, "CP"))
    assert answer.status == "Rejected"
    assert events(charger)[-1] == "InvalidChargePointCertificate"


def test_extended_trigger_message_values(charger):
    sec = charger.security
    asyncio.run(sec.start())
    assert sec._build("LogStatusNotification", None)[0] == "Accepted"
    status, messages, _ = sec._build("FirmwareStatusNotification", None)
    assert status == "Accepted" and type(messages[0]).__name__ == "SignedFirmwareStatusNotification"
    assert sec._build("SignChargePointCertificate", None) == ("Accepted", [], True)
    assert sec._build("StatusNotification", 9)[0] == "Rejected"
    for value in ("BootNotification", "Heartbeat", "MeterValues", "StatusNotification"):
        assert sec._build(value, None)[0] == "Accepted", value
    assert sec._build("DiagnosticsStatusNotification", None)[0] == "NotImplemented"


def test_a_reboot_is_recorded_before_the_agent_exits(charger):
    sec = charger.security
    asyncio.run(sec.start())
    charger.ctx.reboot.set()
    sec.close()
    assert events(charger) == ["StartupOfTheDevice", "ResetOrReboot"]


def test_a_certificate_about_to_expire_is_renewed_by_the_charger(charger, pki):
    """Use case A03: at the next connection it makes a new key and CSR by itself."""
    _, cpo, _, _ = pki
    sec = charger.security
    asyncio.run(sec.start())
    assert not sec.certificates.needs_renewal(datetime.timedelta(days=30))  # none installed

    async def connected(days: int) -> list[str]:
        request = make_csr("CP", None)
        sec.certificates.save_pending_key(request.key_pem)
        chain = sec.certificates.check_signed_chain(
            cpo.sign_csr(request.csr_pem, "CP", days=days), 10_000
        )
        sec.certificates.install_charge_point_certificate(chain, "2026-12-01T17:00:00Z")
        sent = []

        async def request_(payload):
            sent.append(type(payload).__name__)
            return {"status": "Accepted"}

        charger.ctx.request = request_
        sec.on_accepted()
        # the new key is made off the loop: under load that takes a while
        for _ in range(200 if days < 30 else 10):
            if sent:
                break
            await asyncio.sleep(0.05)
        return sent

    assert asyncio.run(connected(365)) == []
    assert asyncio.run(connected(10)) == ["SignCertificate"]


def test_a_malformed_frame_is_an_invalid_message_in_the_security_log(charger):
    """Once per connection, kept in the log (not sent: a fuzzing peer would flood it)."""
    sec = charger.security
    asyncio.run(sec.start())

    class Connection:
        sent: list[str] = []

        async def send(self, text):
            self.sent.append(text)

    async def scenario():
        link = charger._make_link(Connection())
        await link.route_message("[2, 'not json")
        await link.route_message("[2, 'not json either")
        assert len(Connection.sent) == 2  # both answered with a CALLERROR

    asyncio.run(scenario())
    logged = [e.type for e in sec.log.entries()]
    assert logged.count("InvalidMessages") == 1
    assert "InvalidMessages" not in events(charger)


def test_no_reconnect_when_already_connected_with_the_new_setting(charger):
    """A Reset or a lost link may reconnect it with the new key before the delayed
    reconnect: that fresh connection is kept (what the CSMS sends on it is not cut off)."""
    sec = charger.security
    asyncio.run(sec.start())

    async def scenario():
        reconnects = []
        sec.reconnect = lambda: reconnects.append(True)
        sec.connection.plan()
        sec.connection.connected(True)
        assert charger.config.change("AuthorizationKey", "ffeeddccbbaa99887766") == "Accepted"
        sec.connection.plan()  # the link dropped; the next attempt uses the new key
        sec.connection.connected(True)
        await asyncio.sleep(0.1)
        assert reconnects == []

    asyncio.run(scenario())
