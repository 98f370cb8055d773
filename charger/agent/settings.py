"""How this charger is provisioned: identity, where its CSMS is, where its parts are.

The file ``python -m charger SETTINGS`` reads; every field is described in
``docs/agent-settings.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from charger.agent.connector import Limits


@dataclass
class AgentSettings:
    charge_point_id: str
    csms_url: str  # ws(s)://host:port/path; the charge point id is appended
    state_dir: str
    hardware_file: str
    ca_file: str | None = None
    initial_password: str | None = None  # provisioning only; then AuthorizationKey in SQLite
    vendor: str = "OCPP Bench"
    model: str = "BENCH-DC-2"
    serial_number: str = "SIM-0001"
    firmware_version: str = "0.1.0"
    limits: Limits = field(default_factory=Limits)
    tick_s: float = 0.1
    meter_poll_s: float = 1.0
    response_timeout_s: float = 10.0
    initial_config: dict[str, str] = field(default_factory=dict)
    manufacturer_root: str | None = None  # PEM: the manufacturer CA whose images it installs
    allow_firmware_downgrade: bool = False  # install an image older than the running one
    csms_urls: dict[str, str] = field(default_factory=dict)  # security profile -> base URL
    client_cert_file: str | None = None  # PEM chain: security profile 3 (TLS client auth)
    client_key_file: str | None = None  # its private key (PEM)

    def dump(self, path: Path) -> None:
        """Mode 0600 from the first byte: it holds the provisioning password (issue 11)."""
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(asdict(self), indent=2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> AgentSettings:
        """Read a settings file; ValueError (one line) for a bad one, unknown keys included."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
        try:
            data["limits"] = Limits(**data.get("limits", {}))
            return cls(**data)
        except TypeError as exc:  # a required field missing, an unknown limit
            raise ValueError(f"{path}: {exc}") from None
