"""The rig config file: simulated twins (the default) or the real parts on the Pi.

    mode = "simulated"          # or "real"
    [hardware]                  # mode = "real" only: a charger.hw.config.HardwareConfig
    ...
    [[ev]]                      # mode = "real" only: a vehicle-side pilot board each
    ...                         # (bench.ev.board.config.EvBoardConfig)

In real mode the bench starts no twins and hands ``[hardware]`` to the agent as is;
the EVs are real cars or an external EV emulator, so the simulated scenarios do not run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.ev.board import pins as ev_pins
from bench.ev.board.config import EvBoardConfig
from charger.hw.config import HardwareConfig
from charger.hw.header import check

MODES = ("simulated", "real")
TOP_LEVEL_KEYS = ("mode", "hardware", "ev")
EXAMPLE = "wiring/rig.example.toml"


class RigFileError(ValueError):
    """A rig file that cannot be used; ``kind`` is missing, syntax or invalid."""

    def __init__(self, message: str, kind: str, remedy: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.remedy = remedy


@dataclass(frozen=True)
class RigFile:
    mode: str = "simulated"
    hardware: HardwareConfig | None = None
    ev: tuple[EvBoardConfig, ...] = ()

    @classmethod
    def load(cls, path: Path | str | None) -> RigFile:
        if path is None:
            return cls()
        try:
            with Path(path).open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise RigFileError(
                f"rig file {path} not found", "missing", f"give the path of one (see {EXAMPLE})"
            ) from None
        except IsADirectoryError:
            raise RigFileError(
                f"rig file {path} is a directory", "missing", "give the path of a TOML file"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise RigFileError(
                f"rig file {path} is not valid TOML ({exc})", "syntax", "fix the line it names"
            ) from None
        unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise RigFileError(
                f"rig file {path}: unknown key(s) {', '.join(unknown)}",
                "invalid",
                f"the top level takes only {', '.join(TOP_LEVEL_KEYS)} (see {EXAMPLE})",
            )
        mode = data.get("mode", "simulated")
        if mode not in MODES:
            raise RigFileError(
                f"rig file {path}: mode must be 'simulated' or 'real', not {mode!r}",
                "invalid",
                'write mode = "simulated" or mode = "real"',
            )
        if mode == "simulated":
            return cls()
        if "hardware" not in data:
            raise RigFileError(
                f"rig file {path}: mode 'real' needs a [hardware] table",
                "invalid",
                f"describe the parts as in {EXAMPLE}",
            )
        try:
            hardware = HardwareConfig.from_dict(data["hardware"])
        except ValueError as exc:  # unknown keys (typos), wrong values
            raise RigFileError(
                f"rig file {path}: [hardware] {exc}", "invalid", f"compare with {EXAMPLE}"
            ) from None
        tables = data.get("ev", [])
        if not isinstance(tables, list):
            raise RigFileError(
                f"rig file {path}: ev must be [[ev]] tables, one per vehicle-side board",
                "invalid",
                f"write [[ev]] as in {EXAMPLE}",
            )
        try:
            ev = tuple(EvBoardConfig.from_dict(t) for t in tables)
            ids = {c.id for c in hardware.connectors}
            for board in ev:
                if board.connector not in ids:
                    raise ValueError(f"EV board for connector {board.connector}: no such connector")
            ev_pins.check_channels(ev, hardware)
            check(hardware, ev_pins.uses(ev))
        except ValueError as exc:  # WiringError is one
            raise RigFileError(
                f"rig file {path}: [[ev]] {exc}", "invalid", f"compare with {EXAMPLE}"
            ) from None
        return cls(mode, hardware, ev)
