"""How this charger is provisioned: identity, where its CSMS is, where its parts are.

The file ``python -m charger SETTINGS`` reads; every field is described in
``docs/agent-settings.md``.
"""

from __future__ import annotations

import json
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
    firmware_public_key: str | None = None  # PEM: whose signed images this charger installs
    client_cert_file: str | None = None  # PEM chain: security profile 3 (TLS client auth)
    client_key_file: str | None = None  # its private key (PEM)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

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
