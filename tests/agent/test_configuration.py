"""GetConfiguration / ChangeConfiguration answers, persisted across a restart."""

from charger.agent.config_keys import KeyTable
from charger.agent.configuration import Configuration
from charger.agent.store import AgentStore


def make(tmp_path):
    return Configuration(AgentStore(tmp_path / "a.sqlite"), KeyTable(2), {})


def test_seed_limits(tmp_path):
    cfg = make(tmp_path)
    assert cfg.change("MeterValueSampleInterval", "4") == "Rejected"
    assert cfg.change("MeterValueSampleInterval", "61") == "Rejected"
    assert cfg.change("MeterValueSampleInterval", "5") == "Accepted"
    assert cfg.change("HeartbeatInterval", "3601") == "Rejected"
    assert cfg.change("HeartbeatInterval", "abc") == "Rejected"
    found, _ = cfg.report(["GetConfigurationMaxKeys"])
    assert found == [{"key": "GetConfigurationMaxKeys", "readonly": True, "value": "21"}]


def test_unknown_readonly_and_reboot(tmp_path):
    cfg = make(tmp_path)
    assert cfg.change("NoSuchKey", "1") == "NotSupported"
    assert cfg.change("NumberOfConnectors", "3") == "Rejected"
    assert cfg.change("WebSocketPingInterval", "20") == "RebootRequired"
    assert cfg.change("MeterValuesSampledData", "Voltage,Bogus") == "Rejected"
    assert cfg.change("StopTransactionOnInvalidId", "TRUE") == "Accepted"
    assert cfg.get("StopTransactionOnInvalidId") == "true"


def test_authorization_key_is_write_only(tmp_path):
    cfg = make(tmp_path)
    assert cfg.change("AuthorizationKey", "short") == "Rejected"
    assert cfg.change("AuthorizationKey", "0123456789abcdef01") == "Accepted"
    found, unknown = cfg.report(["AuthorizationKey"])
    assert found == [] and unknown == ["AuthorizationKey"]
    assert all(k["key"] != "AuthorizationKey" for k in cfg.report(None)[0])


def test_changes_survive_a_restart(tmp_path):
    cfg = make(tmp_path)
    cfg.change("MeterValueSampleInterval", "7")
    cfg.store.close()
    assert make(tmp_path).get("MeterValueSampleInterval") == "7"
