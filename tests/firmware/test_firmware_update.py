"""UpdateFirmware against a real FTP server (pyftpdlib), with a fake charger.

The charger's pump is captured: every FirmwareStatusNotification in the order it left.
A "reboot" is the charger's reboot event, then the supervisor's begin_boot and a new
FirmwareManager resuming from the state directory, as after exit code 75.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta

from charger.agent.fwimage import check_image, load_trust
from charger.agent.slots import SlotStore
from charger.clock import iso


async def eventually(predicate, timeout: float = 15.0):
    """Await (wall seconds) until ``predicate()`` is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)


def publish(ftp, image) -> str:
    shutil.copy(image.path, ftp.root / "firmware" / image.path.name)
    return ftp.url(f"firmware/{image.path.name}")


def now_iso(charger, seconds: float = 0.0) -> str:
    return iso(charger.clock.now() + timedelta(seconds=seconds))


def record(charger) -> dict:
    return json.loads((SlotStore(charger.settings.state_dir).root / "update.json").read_text())


async def reboot(charger, charger_factory):
    """Exit 75 and start again: the supervisor picks the slot, the new agent resumes."""
    await asyncio.wait_for(charger.reboot.wait(), 20)
    charger.firmware.close()
    SlotStore(charger.settings.state_dir).begin_boot()
    again = charger_factory()
    again.accepted.clear()  # not connected yet
    again.firmware.resume()
    return again


def test_download_install_reboot_installed(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        manager = charger.firmware
        assert manager.running_version() == "0.1.0" and manager.status() == "Idle"
        manager.update_firmware(publish(ftp, images.good), now_iso(charger), 1, 5)
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses() == ["Downloading", "Downloaded", "Installing"]
        assert ftp.count("RETR") == 1
        slots = SlotStore(charger.settings.state_dir)
        assert slots.pointer().slot == "A" and slots.pointer().trial
        assert record(charger)["phase"] == "activating"

        after = await reboot(charger, charger_factory)
        await eventually(lambda: SlotStore(after.settings.state_dir).pointer().trial is False)
        assert after.statuses() == []  # Installed waits for the BootNotification
        assert after.firmware.running_version() == "2.0.0"
        after.accepted.set()
        await eventually(lambda: after.statuses() == ["Installed"])
        assert record(after)["phase"] == "done"
        assert after.firmware.status() == "Idle"
        assert not SlotStore(after.settings.state_dir).staging_dir("A").exists()
        after.firmware.close()

    asyncio.run(scenario())


def test_a_second_update_goes_to_the_other_slot(ftp, images, keys, charger_factory):
    async def scenario():
        charger = charger_factory()
        slots = SlotStore(charger.settings.state_dir)
        key = load_trust(keys.root_path.read_bytes())
        slots.install("A", check_image(images.good.path.read_bytes(), key))
        slots.activate("A")
        slots.confirm_boot()
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger), 0, 1)
        await asyncio.wait_for(charger.reboot.wait(), 20)
        pointer = slots.pointer()
        assert (pointer.slot, pointer.previous) == ("B", "A")

    asyncio.run(scenario())


def test_download_failed_after_the_retries(ftp, charger_factory):
    async def scenario():
        charger = charger_factory()
        charger.firmware.update_firmware(ftp.url("firmware/missing.tar.gz"), now_iso(charger), 2, 3)
        await eventually(lambda: "DownloadFailed" in charger.statuses())
        assert charger.statuses() == ["Downloading", "DownloadFailed"]
        assert ftp.count("RETR") == 3  # 1 + retries
        assert record(charger)["attempts"] == 3 and record(charger)["phase"] == "failed"
        slots = SlotStore(charger.settings.state_dir)
        assert slots.pointer().slot is None and not slots.staging_dir("A").exists()
        assert charger.firmware.running_version() == "0.1.0"
        assert not charger.reboot.is_set()

    asyncio.run(scenario())


def test_a_wrong_ftp_password_is_a_failed_download(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        publish(ftp, images.good)
        location = ftp.url(f"firmware/{images.good.path.name}", password="wrong")
        charger.firmware.update_firmware(location, now_iso(charger), 0, 1)
        await eventually(lambda: "DownloadFailed" in charger.statuses())
        assert charger.statuses() == ["Downloading", "DownloadFailed"]

    asyncio.run(scenario())


def test_a_broken_image_fails_to_install_and_the_active_slot_stays(
    ftp, images, keys, charger_factory
):
    async def scenario():
        charger = charger_factory()
        slots = SlotStore(charger.settings.state_dir)
        key = load_trust(keys.root_path.read_bytes())
        slots.install("A", check_image(images.good.path.read_bytes(), key))
        slots.activate("A")
        slots.confirm_boot()
        before = slots.pointer()
        manager = charger.firmware
        manager.update_firmware(publish(ftp, images.broken), now_iso(charger), 0, 1)
        await eventually(lambda: "InstallationFailed" in charger.statuses())
        expected = ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
        assert charger.statuses() == expected
        assert slots.pointer() == before
        assert manager.running_version() == "2.0.0"
        assert not (slots.root / "B").exists() and not (slots.root / ".B.new").exists()
        assert not charger.reboot.is_set()
        assert record(charger)["phase"] == "failed"

    asyncio.run(scenario())


def test_an_image_signed_by_another_key_fails_to_install(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        charger.firmware.update_firmware(publish(ftp, images.foreign), now_iso(charger), 0, 1)
        await eventually(lambda: "InstallationFailed" in charger.statuses())
        assert SlotStore(charger.settings.state_dir).pointer().slot is None
        assert charger.firmware.running_version() == "0.1.0"

    asyncio.run(scenario())


def test_without_a_provisioned_key_every_image_is_refused(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory(public_key=None)
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger), 0, 1)
        await eventually(lambda: "InstallationFailed" in charger.statuses())

    asyncio.run(scenario())


def test_it_waits_for_the_retrieve_date(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()  # 50 simulated seconds per wall second
        retrieve_at = charger.clock.time() + 100
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger, 100), 0, 1)
        await eventually(lambda: charger.statuses()[:1] == ["Downloading"], timeout=30)
        started = charger.sent_at[0]
        assert started >= retrieve_at - 0.5, f"downloading {retrieve_at - started:.1f} s early"
        await asyncio.wait_for(charger.reboot.wait(), 20)

    asyncio.run(scenario())


def test_install_and_reboot_wait_for_the_transaction_to_end(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        charger.connectors[1].tx_active = True
        charger.local_tx[1] = 7
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger), 0, 1)
        await eventually(lambda: "Downloaded" in charger.statuses())  # download: allowed
        await asyncio.sleep(0.5)
        assert charger.statuses() == ["Downloading", "Downloaded"]
        assert not charger.reboot.is_set()
        assert SlotStore(charger.settings.state_dir).pointer().slot is None
        charger.connectors[1].tx_active = False
        charger.local_tx.clear()
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses() == ["Downloading", "Downloaded", "Installing"]

    asyncio.run(scenario())


def test_a_power_cut_during_the_install_resumes_it(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        slots = SlotStore(charger.settings.state_dir)
        staging = slots.staging_dir("A")
        staging.mkdir(parents=True)
        shutil.copy(images.good.path, staging / "abc.img")
        (slots.root / ".A.new").mkdir()  # half-unpacked when the power went
        (slots.root / ".A.new" / "half.py").write_text("x")
        manager = charger.firmware
        manager.save(
            {
                "id": "abc",
                "location": ftp.url("firmware/x"),
                "retrieve_at": 0,
                "retries": 0,
                "retry_interval": 1,
                "phase": "installing",
                "attempts": 1,
                "target": "A",
                "file": str(staging / "abc.img"),
                "version": None,
                "status": "Installing",
            }
        )
        assert manager.status() == "Installing"
        manager.resume()
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses() == []  # Installing was reported before the cut
        assert slots.pointer().slot == "A" and not (slots.root / ".A.new").exists()
        after = await reboot(charger, charger_factory)
        after.accepted.set()
        await eventually(lambda: after.statuses() == ["Installed"])

    asyncio.run(scenario())


def test_a_power_cut_during_the_download_downloads_again(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        manager = charger.firmware
        manager.save(
            {
                "id": "def",
                "location": publish(ftp, images.good),
                "retrieve_at": 0,
                "retries": 1,
                "retry_interval": 1,
                "phase": "downloading",
                "attempts": 1,
                "target": "A",
                "file": None,
                "version": None,
                "status": "Downloading",
            }
        )
        manager.resume()
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses() == ["Downloaded", "Installing"]
        assert record(charger)["attempts"] == 2

    asyncio.run(scenario())


def test_a_new_firmware_that_never_comes_up_is_reported_failed(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger), 0, 1)
        await asyncio.wait_for(charger.reboot.wait(), 20)
        charger.firmware.close()
        slots = SlotStore(charger.settings.state_dir)
        for _ in range(3):
            slots.begin_boot()  # the new firmware crashes at every start
        assert slots.pointer().slot is None  # back to the source tree
        old = charger_factory()
        old.firmware.resume()
        await eventually(lambda: old.statuses() == ["InstallationFailed"])
        assert old.firmware.running_version() == "0.1.0"

    asyncio.run(scenario())


def test_a_lost_connection_delays_a_status_but_keeps_the_order(ftp, images, charger_factory):
    async def scenario():
        charger = charger_factory()
        failures = {"n": 0}
        real = charger.request

        async def flaky(payload):
            if payload.status == "Downloaded" and failures["n"] < 2:
                failures["n"] += 1
                raise ConnectionError("connection lost")
            return await real(payload)

        charger.request = flaky
        charger.firmware.update_firmware(publish(ftp, images.good), now_iso(charger), 0, 1)
        await asyncio.wait_for(charger.reboot.wait(), 20)
        assert charger.statuses() == ["Downloading", "Downloaded", "Installing"]
        assert failures["n"] == 2

    asyncio.run(scenario())


class FakeConnection:
    def __init__(self):
        self.sent: list[str] = []

    async def send(self, message):
        self.sent.append(message)

    async def recv(self):
        await asyncio.Event().wait()


def test_the_link_handlers_answer_and_start_the_work(ftp, images, charger_factory):
    from charger.agent.link import AgentLink

    def TestLink(connection, charger):  # noqa: N802 - the agent's link, two features
        return AgentLink("CP", connection, [charger.firmware, charger.diagnostics])

    async def scenario():
        charger = charger_factory()
        connection = FakeConnection()
        link = TestLink(connection, charger)
        location = publish(ftp, images.good)
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        frame = [2, "u1", "UpdateFirmware", {"location": location, "retrieveDate": when}]
        await link.route_message(json.dumps(frame))
        assert json.loads(connection.sent[-1]) == [3, "u1", {}]
        await asyncio.wait_for(charger.reboot.wait(), 20)
        frame = [2, "u2", "GetDiagnostics", {"location": ftp.url("diagnostics/")}]
        await link.route_message(json.dumps(frame))
        answer = json.loads(connection.sent[-1])
        assert answer[:2] == [3, "u2"] and answer[2]["fileName"].endswith(".zip")
        await eventually(lambda: "Uploaded" in charger.statuses("DiagnosticsStatusNotification"))
        assert (ftp.root / "diagnostics" / answer[2]["fileName"]).is_file()
        frame = [2, "u3", "GetDiagnostics", {"location": "ftp://h/", "startTime": "yesterday"}]
        await link.route_message(json.dumps(frame))
        answer = json.loads(connection.sent[-1])
        assert answer[:3] == [4, "u3", "PropertyConstraintViolation"]

    asyncio.run(scenario())


def test_an_older_version_is_refused_unless_allowed(ftp, images, keys, charger_factory, tmp_path):
    from firmware_image import build_image

    old = build_image("0.0.9", tmp_path / "old", keys)

    async def scenario(allow: bool):
        charger = charger_factory(state_dir=tmp_path / f"agent-{allow}")
        charger.settings.allow_firmware_downgrade = allow
        manager = charger.firmware
        manager.update_firmware(publish(ftp, old), now_iso(charger), 0, 1)
        if allow:
            await asyncio.wait_for(charger.reboot.wait(), 20)
            assert charger.statuses() == ["Downloading", "Downloaded", "Installing"]
        else:
            await eventually(lambda: "InstallationFailed" in charger.statuses())
            assert SlotStore(charger.settings.state_dir).pointer().slot is None
        manager.close()

    asyncio.run(scenario(False))
    asyncio.run(scenario(True))
