import logging
import threading
import time

import pytest

from bench.twins.rfid import RfidTwin
from charger.hw.interfaces import TagEvent
from charger.hw.rfid.driver import REOPEN_DELAY_S, Rdm6300Reader
from charger.hw.rfid.rdm6300 import FrameDecoder, checksum, encode

UID = "0A00B1C2D3"


def test_encode_known_frame():
    frame = encode("0a00b1c2d3")
    assert len(frame) == 14
    assert frame[0] == 0x02 and frame[-1] == 0x03
    assert frame[1:11] == b"0A00B1C2D3"
    assert int(frame[11:13], 16) == 0x0A ^ 0x00 ^ 0xB1 ^ 0xC2 ^ 0xD3 == checksum(UID)


def test_encode_rejects_bad_uid():
    for bad in ("0A00B1C2", "0A00B1C2D3FF", "0A00B1C2DZ"):
        with pytest.raises(ValueError):
            encode(bad)


def test_round_trip_and_split_feeds():
    d = FrameDecoder()
    stream = encode(UID) + encode("1122334455")
    got = []
    for i in range(len(stream)):  # one byte at a time
        got += d.feed(stream[i : i + 1])
    assert got == [UID, "1122334455"]
    assert d.rejected == 0


def test_bad_checksum_rejected_with_reason(caplog):
    frame = bytearray(encode(UID))
    frame[11:13] = b"00"
    d = FrameDecoder()
    with caplog.at_level(logging.WARNING):
        assert d.feed(bytes(frame)) == []
    assert d.rejected == 1 and "checksum" in (d.last_error or "")
    assert "bad checksum" in caplog.text
    assert d.feed(encode(UID)) == [UID]  # and the next good frame still decodes


def test_resync_on_garbage_and_truncated_frames():
    d = FrameDecoder()
    good = encode(UID)
    stream = b"\xff\x00noise" + good[:7] + good + b"\x03\x03" + good
    assert d.feed(stream) == [UID, UID]
    assert d.rejected == 1  # the truncated one
    assert d.garbage_bytes > 0


def test_missing_etx_and_non_hex():
    d = FrameDecoder()
    good = encode(UID)
    no_etx = good[:-1] + b"X"
    non_hex = good[:3] + b"G" + good[4:]
    assert d.feed(no_etx + non_hex + good) == [UID]
    assert d.rejected == 2


class Events:
    def __init__(self):
        self.items: list[TagEvent] = []
        self.lock = threading.Lock()

    def __call__(self, e: TagEvent):
        with self.lock:
            self.items.append(e)

    def kinds(self):
        with self.lock:
            return [(e.kind, e.uid) for e in self.items]


@pytest.fixture
def rig(until):
    twin = RfidTwin(repeat_s=0.05)
    reader = Rdm6300Reader(twin.device_path, removal_silence_s=0.2)
    events = Events()
    reader.start(events)
    until(lambda: reader.connected)
    yield twin, reader, events
    reader.close()
    twin.close()


def test_present_once_then_removed_after_silence(rig, until):
    twin, reader, events = rig
    twin.present(UID.lower())
    until(lambda: twin.frames_sent >= 5)
    assert events.kinds() == [("present", UID)]  # repeated frames, one event
    twin.remove()
    until(lambda: len(events.kinds()) == 2)
    assert events.kinds()[1] == ("removed", UID)
    assert reader.decoder.frames >= 3  # frames sent before the port opened are flushed


def test_card_swap_and_represent(rig, until):
    twin, _, events = rig
    twin.present(UID)
    until(lambda: events.kinds())
    twin.present("1122334455")
    until(lambda: len(events.kinds()) >= 3)
    assert events.kinds()[:3] == [("present", UID), ("removed", UID), ("present", "1122334455")]
    twin.remove()
    until(lambda: len(events.kinds()) == 4)
    twin.present(UID)
    until(lambda: len(events.kinds()) == 5)
    assert events.kinds()[-1] == ("present", UID)


def test_bad_frames_over_the_line_are_dropped(rig, until):
    twin, reader, events = rig
    bad = bytearray(encode(UID))
    bad[12] = ord("0") if bad[12] != ord("0") else ord("1")
    twin.inject(b"\x00\xffjunk" + bytes(bad))
    twin.inject(encode("1122334455"))
    until(lambda: events.kinds())
    assert events.kinds() == [("present", "1122334455")]
    assert reader.decoder.rejected == 1


def test_failing_callback_does_not_kill_the_reader(until):
    twin = RfidTwin(repeat_s=0.05)
    seen = []

    def boom(e):
        seen.append(e)
        raise RuntimeError("consumer bug")

    reader = Rdm6300Reader(twin.device_path, removal_silence_s=0.15)
    reader.start(boom)
    try:
        twin.present(UID)
        until(lambda: seen)
        twin.remove()
        until(lambda: len(seen) == 2)
        twin.present("1122334455")
        until(lambda: len(seen) == 3)
    finally:
        reader.close()
        twin.close()


def test_missing_port_is_retried_until_it_appears(tmp_path, until):
    """A reader plugged in after the agent started is found by the retry, and read."""
    device = tmp_path / "ttyRFID"
    reader = Rdm6300Reader(str(device), removal_silence_s=0.2)
    events = Events()
    reader.start(events)
    twin = RfidTwin(repeat_s=0.05)
    try:
        time.sleep(REOPEN_DELAY_S * 2.5)  # at least two attempts on a missing port
        assert not reader.connected and reader._thread.is_alive()
        device.symlink_to(twin.device_path)  # the reader is plugged in
        until(lambda: reader.connected)
        twin.present(UID)
        until(lambda: events.kinds())
        assert events.kinds() == [("present", UID)]
    finally:
        reader.close()
        twin.close()


def test_a_second_reader_cannot_take_frames_from_the_first(rig, until):
    """One reader per line: a leftover process opening the same tty is refused."""
    twin, reader, events = rig
    intruder = Rdm6300Reader(twin.device_path, removal_silence_s=0.2)
    stolen = Events()
    intruder.start(stolen)
    try:
        time.sleep(REOPEN_DELAY_S * 1.5)
        assert not intruder.connected
        for _ in range(3):
            twin.present(UID)
            until(lambda: events.kinds()[-1:] == [("present", UID)])
            twin.remove()
            until(lambda: events.kinds()[-1:] == [("removed", UID)])
        assert events.kinds() == [("present", UID), ("removed", UID)] * 3
        assert stolen.kinds() == []
    finally:
        intruder.close()
