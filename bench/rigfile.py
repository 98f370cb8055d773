"""The rig config file: simulated twins (the default) or the real parts on the Pi.

    mode = "simulated"          # or "real"
    [hardware]                  # mode = "real" only: a charger.hw.config.HardwareConfig
    ...

In real mode the bench starts no twins and hands ``[hardware]`` to the agent as is;
the EVs are real cars or an external EV emulator, so the simulated scenarios do not run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from charger.hw.config import HardwareConfig


@dataclass(frozen=True)
class RigFile:
    mode: str = "simulated"
    hardware: HardwareConfig | None = None

    @classmethod
    def load(cls, path: Path | str | None) -> RigFile:
        if path is None:
            return cls()
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
        mode = data.get("mode", "simulated")
        if mode not in ("simulated", "real"):
            raise ValueError(f"{path}: mode must be 'simulated' or 'real', not {mode!r}")
        if mode == "simulated":
            return cls()
        if "hardware" not in data:
            raise ValueError(f"{path}: mode 'real' needs a [hardware] table")
        return cls(mode, HardwareConfig.from_dict(data["hardware"]))
