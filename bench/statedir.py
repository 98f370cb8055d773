"""Where a bench keeps its state; one directory per rig, created on first run.

pki/         local CA and the CSMS server certificate
csms/        the Central System's SQLite database
agent/       the charger agent's SQLite, settings, hardware map and log
rig/         the twins' non-volatile data (meter energy registers, pilot wire)
logs/        the bench's own log files (the console shows only what a person acts on)
failed/      the state of failed scenario cases, one directory per run
charge-point.json   the charge point id and its Basic-auth password (mode 0600)
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.security.passwords import generate_password
from bench.security.private import kept_secret


class StateDirError(OSError):
    """The state directory cannot be created or written (``errno`` says why)."""

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass(frozen=True)
class StateDir:
    root: Path

    def ensure(self) -> StateDir:
        """Create the directory and prove it writable, before anything starts in it."""
        try:
            if self.root.exists() and not self.root.is_dir():
                raise StateDirError(errno.ENOTDIR, f"state directory {self.root} is a file")
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except StateDirError:
            raise
        except FileExistsError as exc:  # a file where a parent directory should be
            raise StateDirError(
                errno.ENOTDIR, f"state directory {self.root}: a part of the path is a file"
            ) from exc
        except OSError as exc:
            reason = {
                errno.ENOTDIR: "a part of the path is a file",
                errno.EROFS: "it is on a read-only file system",
                errno.EACCES: "no permission to write there",
                errno.EPERM: "no permission to write there",
                errno.ENOSPC: "the disk is full",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            raise StateDirError(exc.errno, f"state directory {self.root}: {reason}") from exc
        return self

    @property
    def logs(self) -> Path:
        return self._dir("logs")

    @property
    def pki(self) -> Path:
        return self._dir("pki")

    @property
    def csms(self) -> Path:
        return self._dir("csms")

    @property
    def agent(self) -> Path:
        return self._dir("agent")

    @property
    def rig(self) -> Path:
        return self._dir("rig")

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def credentials(self, default_id: str = "BENCH-CP-001") -> tuple[str, str]:
        """The charge point id and password, generated on first use."""

        def made() -> str:
            return json.dumps({"charge_point_id": default_id, "password": generate_password()})

        data = json.loads(kept_secret(self.root / "charge-point.json", made))
        return data["charge_point_id"], data["password"]
