"""Which parts of the charger answer, and for those that do not: what is wrong and the fix.

Every driver reports to one :class:`HealthBoard` when a part opens, answers, or fails;
the board keeps one :class:`PartStatus` per part and writes them, on every change, to a
JSON file in the agent's state directory. That file is how the bench's console and the
panel learn, within a second, that ``/dev/ttyUSB0`` is missing or ``can0`` is down,
without reading the agent's log. :func:`diagnose` turns the exception a library raised
into one line a hardware engineer can act on.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Kind = Literal["serial", "can", "gpio", "modbus"]
HEALTH_FILE = "hardware-health.json"


@dataclass(frozen=True)
class PartStatus:
    """One part as the agent last found it."""

    part: str  # "meter 1", "pilot 2", "power stage", "rfid"
    where: str  # "/dev/ttyUSB0#1", "socketcan:can0", "GPIO12 + SPI0.0"
    ok: bool
    problem: str | None = None
    fix: str | None = None
    error_code: str | None = None  # the OCPP ChargePointErrorCode it causes
    connectors: tuple[int, ...] = ()  # the connectors it takes down (empty: the station)
    since: float = 0.0  # wall-clock time of the last change

    def line(self) -> str:
        """The one console line for this part."""
        if self.ok:
            return f"{self.part} ({self.where}): ok"
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.part} ({self.where}): {self.problem}{fix}"


def _errno_of(exc: BaseException) -> int | None:
    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "errno", None)
        if isinstance(code, int):
            return code
        match = re.search(r"\[Errno (\d+)\]", str(seen))
        if match:
            return int(match.group(1))
        seen = seen.__cause__ or seen.__context__
    return None


def _root(exc: BaseException) -> str:
    """The message of the innermost cause: what actually went wrong."""
    seen = exc
    while (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return str(seen) or type(seen).__name__


def _text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        text = str(seen)
        if text and not any(text in p for p in parts):
            parts.append(text)
        seen = seen.__cause__ or seen.__context__
    return " / ".join(parts)


def diagnose(kind: Kind, where: str, exc: BaseException) -> tuple[str, str]:
    """``(problem, fix)`` for a part of ``kind`` at ``where`` that raised ``exc``."""
    code = _errno_of(exc)
    text = _text(exc)
    if kind == "gpio":
        if "pin factory" in text or "No module named" in text:
            root = _root(exc)
            return (
                root if "pin factory" in root else f"no GPIO pin factory: {root}",
                "on a Pi: pip install 'ocpp-bench[pi]' (lgpio, spidev); "
                "elsewhere use the simulated rig",
            )
        if "pwm-2chan" in text or "/sys/class/pwm" in text or "pwmchip" in text:
            return (
                f"no hardware PWM ({_root(exc)})",
                "add dtoverlay=pwm-2chan,pin=12,func=4,pin2=13,func2=4 (wiring/boot-config.txt) "
                'and reboot, or set pin_factory = "lgpio" for software PWM',
            )
        if code == errno.ENOENT and "spidev" in text:
            return ("no SPI device", "add dtparam=spi=on to /boot/firmware/config.txt, reboot")
        if code in (errno.EACCES, errno.EPERM):
            return (
                f"permission denied ({text})",
                "add the bench user to groups gpio and spi: sudo usermod -aG gpio,spi $USER",
            )
        return (text, "check the pin numbers in the rig file against `bench wiring`")
    if kind == "can":
        if "bitrate" in text:
            return (text, "fix `bitrate` in the rig file or the interface's (systemd-networkd)")
        if code == errno.EAFNOSUPPORT:
            return (
                "no SocketCAN in this kernel (Errno 97)",
                "run on the Pi with the MCP2515 overlay, or use the simulated rig",
            )
        if code == errno.ENODEV:
            return (
                f"no CAN interface {where.split(':')[-1]}",
                "add dtoverlay=mcp2515-can0,oscillator=<crystal Hz>,interrupt=25 and "
                "dtparam=spi=on to the boot config (wiring/boot-config.txt), reboot",
            )
        if code == errno.ENETDOWN:
            return (
                f"CAN interface {where.split(':')[-1]} is down",
                "sudo ip link set can0 up type can bitrate 500000 "
                "(persist: wiring/80-can0.network)",
            )
        if code == errno.ECONNREFUSED or "refused" in text.lower():
            return ("nobody serves the CAN bus there", "start the bench's twins (bench up)")
        return (text, "check the CAN HAT, its oscillator setting and `ip -details link show can0`")
    if kind == "serial":
        if code == errno.ENOENT or "No such file" in text:
            return (
                "device missing",
                "plug the adapter in or fix `device` in the rig file (ls /dev/serial/by-id; "
                "wiring/99-bench-serial.rules gives stable names)",
            )
        if code in (errno.EACCES, errno.EPERM):
            return (
                "permission denied",
                "add the bench user to group dialout: sudo usermod -aG dialout $USER",
            )
        if code == errno.EBUSY:
            return (
                "device busy",
                "another process holds it: turn the serial console off (raspi-config)",
            )
        return (text, "check the cable and the baud rate in the rig file")
    # modbus: the line opened (or is TCP) but the meter does not answer properly
    root = _root(exc)
    if "exception code 1 " in root or "exception code 2 " in root:
        return (
            f"{root}: not the registers of the configured model",
            "set `model` in the rig file to the meter on the line (wiring/meters.md)",
        )
    if "implausible" in text:
        return (root, "check `model` and `energy_wh_per_count` in the rig file (wiring/meters.md)")
    if code == errno.ENOENT or "No such file" in text:
        return (
            "RS-485 adapter missing",
            "plug the adapter in or fix `device` in the rig file (ls /dev/serial/by-id)",
        )
    if code in (errno.EACCES, errno.EPERM):
        return ("permission denied", "sudo usermod -aG dialout $USER, then log in again")
    if code == errno.ECONNREFUSED or "refused" in text.lower() or "cannot connect" in text:
        return (
            "nobody listens there",
            "start the meter (its TCP gateway, or the twin) or fix host/port in the rig file",
        )
    return (
        root,
        "check the meter's power, the A/B pair, its unit id, baud rate and model in the rig file",
    )


class HealthBoard:
    """Thread-safe register of part statuses; writes ``path`` atomically on each change."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, quiet: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.quiet = quiet  # True: record only (a self-test reports by itself)
        self._lock = threading.Lock()
        self._parts: dict[str, PartStatus] = {}

    def ok(self, part: str, where: str, connectors: tuple[int, ...] = ()) -> None:
        self._set(PartStatus(part, where, True, connectors=connectors))

    def failed(
        self,
        part: str,
        where: str,
        kind: Kind,
        exc: BaseException,
        *,
        error_code: str,
        connectors: tuple[int, ...] = (),
    ) -> PartStatus:
        """Record a failure (logged once per change, not per retry); returns the status."""
        problem, fix = diagnose(kind, where, exc)
        status = PartStatus(part, where, False, problem, fix, error_code, connectors)
        self._set(status)
        return self._parts[part]

    def get(self, part: str) -> PartStatus | None:
        with self._lock:
            return self._parts.get(part)

    def parts(self) -> list[PartStatus]:
        with self._lock:
            return list(self._parts.values())

    def fault_of(self, connector: int) -> PartStatus | None:
        """The first failed part that takes ``connector`` down, if any."""
        return next((p for p in self.parts() if not p.ok and connector in p.connectors), None)

    def _set(self, status: PartStatus) -> None:
        with self._lock:
            old = self._parts.get(status.part)
            same = old is not None and (old.ok, old.problem, old.where) == (
                status.ok,
                status.problem,
                status.where,
            )
            if same:
                return
            status = PartStatus(**{**asdict(status), "since": time.time()})
            self._parts[status.part] = status
            # Written under the lock: a later change never lands before an earlier one.
            self._write([asdict(p) for p in self._parts.values()])
        level = logging.INFO if status.ok else logging.ERROR
        if status.ok and old is None or self.quiet:
            level = logging.DEBUG
        log.log(level, "hardware: %s", status.line())

    def _write(self, document: list[dict[str, object]]) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".health-", dir=self.path.parent)
            with os.fdopen(fd, "w") as handle:
                json.dump({"parts": document}, handle, indent=1)
            os.replace(tmp, self.path)
        except OSError:
            log.warning("hardware: cannot write %s", self.path, exc_info=True)


def read_health(path: str | os.PathLike[str]) -> list[PartStatus]:
    """The statuses an agent last wrote to ``path`` (empty if none or unreadable)."""
    try:
        data = json.loads(Path(path).read_text())
        return [
            PartStatus(**{**p, "connectors": tuple(p.get("connectors", ()))}) for p in data["parts"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return []
