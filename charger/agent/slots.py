"""A/B firmware slots under the agent's state directory.

::

    STATE/agent/slots/A/            an unpacked image: charger/..., manifest.json, manifest.sig
    STATE/agent/slots/B/
    STATE/agent/slots/active        the pointer (JSON, replaced atomically)
    STATE/agent/slots/.staging-B/   the download for the inactive slot
    STATE/agent/slots/update.json   a firmware update in progress (features/firmware.py)

The pointer says which slot runs (``null``: the source tree the bench was started
from), which ran before, whether the slot is on trial (installed, not yet confirmed
by a boot that got as far as the charger's main loop) and how many times it was
started on trial. The supervisor (``agent_command``, called by AgentProcess on every
start) starts ``python -P -m charger`` with the active slot first on PYTHONPATH;
a slot that fails to come up ``MAX_TRIAL_BOOTS`` times, or whose files no longer
match its manifest, is rolled back to the previous one and marked ``rejected``.

An install writes only the inactive slot, and only through ``.X.new`` plus a rename:
the running slot and the pointer change only once the new one is complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from charger.agent.fwimage import (
    MANIFEST,
    CheckedImage,
    ImageError,
    Manifest,
    check_tree,
    fsync_dir,
    write_atomically,
    write_tree,
)

log = logging.getLogger("charger.agent.slots")

SLOTS = ("A", "B")
POINTER = "active"
MAX_TRIAL_BOOTS = 2


@dataclass
class Pointer:
    slot: str | None = None  # None: the source tree the bench runs from
    previous: str | None = None
    trial: bool = False  # installed, not yet confirmed by a boot
    boots: int = 0  # starts while on trial
    rejected: str | None = None  # the slot last rolled back from


class SlotStore:
    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.root = Path(state_dir) / "slots"

    # --- where things are ----------------------------------------------------

    def slot_dir(self, name: str) -> Path:
        if name not in SLOTS:
            raise ValueError(f"no slot {name!r}")
        return self.root / name

    def staging_dir(self, name: str) -> Path:
        return self.root / f".staging-{self.slot_dir(name).name}"

    # --- the pointer ---------------------------------------------------------

    def pointer(self) -> Pointer:
        try:
            data = json.loads((self.root / POINTER).read_text())
            pointer = Pointer(**data)
        except FileNotFoundError:
            return Pointer()
        except (ValueError, TypeError) as exc:  # cannot happen with atomic writes
            log.error("slot pointer unreadable (%s): running the source tree", exc)
            return Pointer()
        if pointer.slot is not None and pointer.slot not in SLOTS:
            return Pointer()
        return pointer

    def write_pointer(self, pointer: Pointer) -> None:
        write_atomically(self.root / POINTER, (json.dumps(asdict(pointer)) + "\n").encode())

    def active(self) -> str | None:
        return self.pointer().slot

    def inactive(self) -> str:
        """The slot an install may write: never the active one."""
        return "B" if self.active() == "A" else "A"

    def manifest(self, name: str | None) -> Manifest | None:
        if name is None:
            return None
        try:
            return Manifest.parse((self.slot_dir(name) / MANIFEST).read_bytes())
        except (OSError, ImageError):
            return None

    def active_version(self, fallback: str) -> str:
        """The running firmware version: the active slot's manifest, else ``fallback``."""
        manifest = self.manifest(self.active())
        return manifest.version if manifest else fallback

    # --- install and switch ----------------------------------------------------

    def install(self, name: str, image: CheckedImage) -> Manifest:
        """Unpack a checked image into the inactive slot ``name``, all or nothing."""
        if name == self.active():
            raise ImageError(f"slot {name} is the running one; refusing to overwrite it")
        final = self.slot_dir(name)
        new = self.root / f".{name}.new"
        old = self.root / f".{name}.old"
        for leftover in (new, old):
            shutil.rmtree(leftover, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            write_tree(image, new)
            manifest = check_tree(new)
        except OSError as exc:
            shutil.rmtree(new, ignore_errors=True)
            raise ImageError(f"writing slot {name} failed: {exc}") from None
        except ImageError:
            shutil.rmtree(new, ignore_errors=True)
            raise
        if final.exists():
            os.replace(final, old)
        os.replace(new, final)
        fsync_dir(self.root)
        shutil.rmtree(old, ignore_errors=True)
        pointer = self.pointer()
        if pointer.rejected == name:  # a new image in a slot once rolled back from
            pointer.rejected = None
            self.write_pointer(pointer)
        return manifest

    def activate(self, name: str) -> None:
        """Flip the pointer to ``name`` (on trial until a boot confirms it)."""
        self.slot_dir(name)
        current = self.pointer()
        self.write_pointer(Pointer(slot=name, previous=current.slot, trial=True, boots=0))
        log.info("active slot is now %s (was %s), on trial", name, current.slot)

    def confirm_boot(self) -> None:
        """The running firmware came up: it stays (called by the agent at start)."""
        pointer = self.pointer()
        if pointer.trial:
            pointer.trial = False
            pointer.boots = 0
            self.write_pointer(pointer)
            log.info("slot %s confirmed", pointer.slot)

    def begin_boot(self) -> str | None:
        """The supervisor starts the agent: the slot to run (None: the source tree).

        Counts starts on trial and rolls back after MAX_TRIAL_BOOTS unconfirmed ones,
        or at once when the slot's files no longer match its manifest.
        """
        pointer = self.pointer()
        if pointer.slot is None:
            return None
        broken = None
        try:
            check_tree(self.slot_dir(pointer.slot))
        except ImageError as exc:
            broken = str(exc)
        if broken is None and pointer.trial:
            pointer.boots += 1
            if pointer.boots > MAX_TRIAL_BOOTS:
                broken = f"slot {pointer.slot} did not come up in {MAX_TRIAL_BOOTS} starts"
        if broken is not None:
            back = pointer.previous if pointer.previous != pointer.slot else None
            if back is not None and self.manifest(back) is None:
                back = None
            log.error("%s: rolling back to %s", broken, back or "the source tree")
            pointer = Pointer(slot=back, previous=None, rejected=pointer.slot)
        self.write_pointer(pointer)
        return pointer.slot


def running_version(state_dir: str | os.PathLike[str], fallback: str) -> str:
    """BootNotification.firmwareVersion: the active slot's version, else the settings'."""
    return SlotStore(state_dir).active_version(fallback)


def agent_command(
    settings_file: str | os.PathLike[str],
    python: str = sys.executable,
    module: str = "charger",
) -> tuple[list[str], dict[str, str]]:
    """argv and environment additions to start the agent from the active slot.

    Call once per start: it counts trial boots and may roll back. ``-P`` keeps the
    working directory off sys.path, so ``charger`` comes from the slot (or the installed
    package), never from a folder that happens to be named so where the user stands.
    ``module`` is what runs it: the firmware, or a test double wrapping it.
    """
    state_dir = json.loads(Path(settings_file).read_text())["state_dir"]
    slot = SlotStore(state_dir).begin_boot()
    if slot is None:
        return [python, "-P", "-m", module, str(settings_file)], {}
    path = str(SlotStore(state_dir).slot_dir(slot).resolve())
    inherited = os.environ.get("PYTHONPATH")
    env = {"PYTHONPATH": path + (os.pathsep + inherited if inherited else "")}
    return [python, "-P", "-m", module, str(settings_file)], env
