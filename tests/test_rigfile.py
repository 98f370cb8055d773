"""The rig config file: simulated by default, the real parts when it says so."""

from pathlib import Path

import pytest

from bench.rigfile import RigFile

EXAMPLE = Path(__file__).parent.parent / "wiring" / "rig.example.toml"


def test_no_file_means_simulated():
    assert RigFile.load(None).mode == "simulated"


def test_the_example_real_rig_maps_every_part():
    rig = RigFile.load(EXAMPLE)
    assert rig.mode == "real"
    hw = rig.hardware
    assert [(c.id, c.standard) for c in hw.connectors] == [(1, "CCS2"), (2, "CCS1")]
    assert hw.can.interface == "socketcan" and hw.can.channel == "can0"
    assert hw.rfid.device == "/dev/ttyAMA0"
    assert {c.meter.transport for c in hw.connectors} == {"rtu"}
    assert {c.pilot.backend for c in hw.connectors} == {"gpio"}


def test_real_mode_without_hardware_is_refused(tmp_path):
    bad = tmp_path / "rig.toml"
    bad.write_text('mode = "real"\n')
    with pytest.raises(ValueError, match="hardware"):
        RigFile.load(bad)
    bad.write_text('mode = "bogus"\n')
    with pytest.raises(ValueError, match="mode"):
        RigFile.load(bad)
