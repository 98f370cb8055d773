"""PN532 over HSU: the frame codec, and the driver against the twin on a pty."""

import pytest

from bench.twins.pn532 import Pn532Twin
from charger.hw.config import HardwareConfig, RfidConfig
from charger.hw.factory import open_rfid
from charger.hw.health import HealthBoard
from charger.hw.interfaces import HardwareError
from charger.hw.rfid import pn532
from charger.hw.rfid.pn532_driver import Pn532Reader, probe


def test_frame_layout_matches_the_datasheet():
    # SAMConfiguration, normal mode: 00 00 FF 05 FB D4 14 01 14 01 02 00
    frame = pn532.command(pn532.SAM_CONFIGURATION, bytes([0x01, 0x14, 0x01]))
    assert frame == bytes.fromhex("0000ff05fbd4140114010200")
    assert pn532.ACK == bytes.fromhex("0000ff00ff00")


def test_parser_splits_ack_and_answer_and_skips_wakeup_bytes():
    parser = pn532.FrameParser()
    answer = pn532.response(pn532.GET_FIRMWARE_VERSION, bytes([0x32, 1, 6, 7]))
    stream = b"\x55\x55\x00\x00" + pn532.ACK + answer
    frames = []
    for i in range(len(stream)):  # byte by byte: frames cut anywhere
        frames += parser.feed(stream[i : i + 1])
    assert [f.kind for f in frames] == ["ack", "info"]
    assert frames[1].tfi == pn532.PN532_TFI and frames[1].data == bytes([0x03, 0x32, 1, 6, 7])
    assert parser.rejected == 0 and parser.garbage_bytes == 0


def test_parser_rejects_bad_checksums_and_recovers():
    parser = pn532.FrameParser()
    good = pn532.response(pn532.SAM_CONFIGURATION)
    bad_data = bytearray(good)
    bad_data[-2] ^= 0xFF  # DCS
    bad_length = bytearray(good)
    bad_length[4] ^= 0x01  # LCS
    frames = parser.feed(bytes(bad_data) + bytes(bad_length) + good)
    assert [f.kind for f in frames] == ["info"]
    assert parser.rejected == 2 and "checksum" in (parser.last_error or "")


def test_targets_round_trip_and_cut_answers_refused():
    uid = bytes.fromhex("04A1B2C3D4E5F6")
    assert pn532.parse_targets(pn532.target_data(uid)) == [uid]
    assert pn532.parse_targets(b"\x00") == []
    with pytest.raises(ValueError):
        pn532.parse_targets(pn532.target_data(uid)[:-2])


@pytest.fixture
def twin():
    t = Pn532Twin()
    yield t
    t.close()


def test_probe_wakes_configures_and_reads_the_firmware(twin):
    assert probe(twin.device_path) == "PN532 firmware 1.6 at 115200 baud; no card in the field"
    assert twin.commands[:3] == [
        pn532.SAM_CONFIGURATION,
        pn532.RF_CONFIGURATION,
        pn532.GET_FIRMWARE_VERSION,
    ]
    twin.present("DEADBEEF")
    assert probe(twin.device_path).endswith("card DEADBEEF")


def test_a_silent_reader_is_a_hardware_error(twin):
    twin.silent = True
    with pytest.raises(HardwareError, match="did not answer"):
        probe(twin.device_path)


def test_reader_reports_cards_and_their_removal(twin, until):
    events = []
    health = HealthBoard()
    reader = open_rfid(RfidConfig(model="pn532", device=twin.device_path), health)
    assert isinstance(reader, Pn532Reader) and reader.baudrate == 115200
    reader.start(events.append)
    try:
        until(lambda: health.get("rfid") and health.get("rfid").ok, timeout=10)
        twin.present("04A1B2C3D4E5F6")
        until(lambda: [e.kind for e in events] == ["present"], timeout=10)
        twin.remove()
        until(lambda: [e.kind for e in events] == ["present", "removed"], timeout=10)
        assert {e.uid for e in events} == {"04A1B2C3D4E5F6"}
    finally:
        reader.close()


def test_reader_on_a_missing_port_reports_it_and_picks_it_up(tmp_path, until):
    events = []
    health = HealthBoard()
    missing = tmp_path / "ttyPN532"
    reader = Pn532Reader(str(missing), health=health)
    reader.start(events.append)
    twin = Pn532Twin()
    try:
        status = until(lambda: health.get("rfid"), timeout=10)
        assert not status.ok and status.problem == "device missing"
        assert status.error_code == "ReaderFailure" and "rig file" in status.fix
        missing.symlink_to(twin.device_path)  # the reader is plugged in
        until(lambda: health.get("rfid").ok, timeout=10)
        twin.present("DEADBEEF")
        until(lambda: events and events[0].uid == "DEADBEEF", timeout=10)
    finally:
        reader.close()
        twin.close()


def test_rig_file_selects_the_pn532_and_its_baud_rate():
    cfg = HardwareConfig.from_dict(
        {
            "connectors": [],
            "can": {"interface": "remote", "channel": "ws://127.0.0.1:1"},
            "rfid": {"model": "pn532", "device": "/dev/ttyAMA0"},
        }
    )
    assert cfg.rfid.baudrate == 115200
    with pytest.raises(ValueError, match="model"):
        RfidConfig(model="mfrc522", device="/dev/spidev0.0")
