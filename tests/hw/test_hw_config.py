import json

import pytest

from charger.hw.config import HardwareConfig, MeterConfig, PilotConfig

RIG = {
    "connectors": [
        {
            "id": 1,
            "standard": "CCS1",
            "meter": {"transport": "rtu", "device": "/dev/ttyUSB0", "unit": 1},
            "pilot": {"backend": "gpio", "pwm_pin": 18, "cp_channel": 0, "pp_channel": 1},
        },
        {
            "id": 2,
            "standard": "CCS2",
            "meter": {"transport": "tcp", "port": 1502, "model": "eastron-sdm630"},
            "pilot": {
                "backend": "sim",
                "pwm_pin": 13,
                "cp_channel": 2,
                "pp_channel": 3,
                "wire_file": "/tmp/wire",
                "slot": 1,
            },
        },
    ],
    "can": {"interface": "socketcan", "channel": "can0"},
    "rfid": {"device": "/dev/ttyS0"},
}

TOML = """
[can]
interface = "remote"
channel = "ws://127.0.0.1:5000/"

[rfid]
device = "/dev/pts/3"
removal_silence_s = 0.5

[[connectors]]
id = 1
standard = "CCS2"
meter = { transport = "tcp", port = 15020 }
pilot = { backend = "sim", pwm_pin = 18, cp_channel = 0, pp_channel = 1, wire_file = "w", slot = 0 }
"""


def test_round_trip_through_json():
    cfg = HardwareConfig.from_dict(RIG)
    assert cfg.connectors[1].meter.model == "eastron-sdm630"
    assert cfg.connectors[0].meter.timeout_s == 0.5
    assert cfg.can.bitrate == 500000
    assert cfg.rfid.removal_silence_s == 0.3
    again = HardwareConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_load_toml_and_json(tmp_path):
    toml = tmp_path / "rig.toml"
    toml.write_text(TOML)
    cfg = HardwareConfig.load(toml)
    assert cfg.rfid.removal_silence_s == 0.5
    assert cfg.connectors[0].pilot.wire_file == "w"
    js = tmp_path / "rig.json"
    js.write_text(json.dumps(cfg.to_dict()))
    assert HardwareConfig.load(js) == cfg


@pytest.mark.parametrize(
    "make",
    [
        lambda: MeterConfig(transport="rtu"),  # rtu needs a device
        lambda: MeterConfig(transport="udp"),
        lambda: PilotConfig(backend="sim", pwm_pin=18, cp_channel=0, pp_channel=1),  # no wire
        lambda: PilotConfig(backend="gpio", pwm_pin=18, cp_channel=0, pp_channel=0),
        lambda: MeterConfig.from_dict({"transport": "tcp", "prot": 502}),  # typo
        lambda: HardwareConfig.from_dict({**RIG, "connectors": [RIG["connectors"][0]] * 2}),
    ],
)
def test_bad_configs_are_refused(make):
    with pytest.raises(ValueError):
        make()
