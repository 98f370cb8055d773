"""How this charger is provisioned: identity, where its CSMS is, where its parts are."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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
    # Where the Central System serves each security profile ("1": ws://, "2"/"3": wss://),
    # the charge point id appended as to csms_url; a profile not listed uses csms_url.
    csms_urls: dict[str, str] = field(default_factory=dict)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> AgentSettings:
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits(**data.get("limits", {}))
        return cls(**data)
