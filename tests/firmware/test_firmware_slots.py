"""A/B slots: the pointer flips atomically, installs never touch the running slot, fallback."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from charger.agent import fwimage
from charger.agent.fwimage import ImageError, check_image, load_trust
from charger.agent.slots import MAX_TRIAL_BOOTS, Pointer, SlotStore, agent_command, running_version


@pytest.fixture
def checked(images, keys):
    key = load_trust(keys.root_path.read_bytes())
    return check_image(images.good.path.read_bytes(), key)


def test_without_a_slot_the_agent_runs_the_source_tree_at_the_settings_version(tmp_path):
    slots = SlotStore(tmp_path)
    assert slots.active() is None and slots.inactive() == "A"
    assert running_version(tmp_path, "0.1.0") == "0.1.0"
    assert slots.begin_boot() is None
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"state_dir": str(tmp_path)}))
    argv, env = agent_command(settings)
    assert argv[1:] == ["-P", "-m", "charger", str(settings)] and env == {}


def test_a_folder_named_charger_where_the_user_stands_is_not_the_firmware(tmp_path):
    """``bench up --state-dir charger`` makes such a folder in the working directory."""
    (tmp_path / "charger").mkdir()
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"state_dir": str(tmp_path / "state")}))
    argv, _ = agent_command(settings)
    argv[-1] = str(tmp_path / "missing.json")  # the firmware says so and exits
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "No module named" not in proc.stderr, proc.stderr
    assert "python -m charger: " in proc.stderr and "missing.json" in proc.stderr, proc.stderr


def test_install_then_flip_makes_the_slot_the_running_version(tmp_path, checked):
    slots = SlotStore(tmp_path)
    manifest = slots.install("A", checked)
    assert manifest.version == "2.0.0"
    assert running_version(tmp_path, "0.1.0") == "0.1.0"  # installed, not active yet
    slots.activate("A")
    assert slots.pointer() == Pointer(slot="A", previous=None, trial=True, boots=0)
    assert running_version(tmp_path, "0.1.0") == "2.0.0"
    assert slots.inactive() == "B"
    assert (tmp_path / "slots" / "A" / "charger" / "agent" / "runtime.py").is_file()
    assert not list((tmp_path / "slots").glob(".*.new"))


def test_the_running_slot_is_never_overwritten(tmp_path, checked):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    with pytest.raises(ImageError, match="running one"):
        slots.install("A", checked)


def test_a_failed_install_leaves_the_slot_and_the_pointer_as_they_were(
    tmp_path, checked, monkeypatch
):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    slots.confirm_boot()
    slots.install("B", checked)
    before = (tmp_path / "slots" / "B" / "manifest.json").read_bytes()
    pointer = slots.pointer()

    def full_disk(image, dest):
        dest.mkdir(parents=True)
        (dest / "half").write_bytes(b"x")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("charger.agent.slots.write_tree", full_disk)
    with pytest.raises(ImageError, match="No space left"):
        slots.install("B", checked)
    assert (tmp_path / "slots" / "B" / "manifest.json").read_bytes() == before
    assert slots.pointer() == pointer
    assert not (tmp_path / "slots" / ".B.new").exists()


def test_the_pointer_is_replaced_atomically(tmp_path, monkeypatch):
    """A power cut while writing leaves the old pointer (only a stray temp file)."""
    slots = SlotStore(tmp_path)
    slots.write_pointer(Pointer(slot="A"))

    def cut(src, dst):
        raise OSError("power cut before the rename")

    monkeypatch.setattr(fwimage.os, "replace", cut)
    with pytest.raises(OSError):
        slots.write_pointer(Pointer(slot="B", previous="A", trial=True))
    monkeypatch.undo()
    assert slots.pointer().slot == "A"
    assert (tmp_path / "slots" / ".active.tmp").exists()  # written in full, never renamed
    slots.write_pointer(Pointer(slot="B", previous="A"))
    assert slots.pointer().slot == "B"
    assert not (tmp_path / "slots" / ".active.tmp").exists()
    assert json.loads((tmp_path / "slots" / "active").read_text())["slot"] == "B"


def test_a_trial_slot_that_never_comes_up_is_rolled_back(tmp_path, checked):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    slots.confirm_boot()
    slots.install("B", checked)
    slots.activate("B")
    for _ in range(MAX_TRIAL_BOOTS):
        assert slots.begin_boot() == "B"  # crashes before confirming
    assert slots.begin_boot() == "A"
    assert slots.pointer() == Pointer(slot="A", previous=None, trial=False, rejected="B")


def test_a_confirmed_slot_stays(tmp_path, checked):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    assert slots.begin_boot() == "A"
    slots.confirm_boot()
    for _ in range(MAX_TRIAL_BOOTS + 2):
        assert slots.begin_boot() == "A"
    assert slots.pointer().trial is False


def test_a_slot_whose_files_changed_on_disk_is_not_started(tmp_path, checked):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    slots.confirm_boot()
    runtime = tmp_path / "slots" / "A" / "charger" / "agent" / "runtime.py"
    os.chmod(runtime, 0o644)
    runtime.write_text("garbage")
    assert slots.begin_boot() is None  # back to the source tree
    assert slots.pointer().rejected == "A"
    assert running_version(tmp_path, "0.1.0") == "0.1.0"


def test_agent_command_puts_the_active_slot_first(tmp_path, checked, monkeypatch):
    slots = SlotStore(tmp_path)
    slots.install("A", checked)
    slots.activate("A")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"state_dir": str(tmp_path)}))
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    argv, env = agent_command(settings, python="python3")
    assert argv == ["python3", "-P", "-m", "charger", str(settings)]
    assert env["PYTHONPATH"] == f"{(tmp_path / 'slots' / 'A').resolve()}{os.pathsep}/somewhere"
    assert slots.pointer().boots == 1
