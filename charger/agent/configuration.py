"""GetConfiguration / ChangeConfiguration over the persistent key store."""

from __future__ import annotations

from collections.abc import Callable

from charger.agent.config_keys import KeyTable
from charger.agent.store import AgentStore


class Configuration:
    def __init__(self, store: AgentStore, table: KeyTable, overrides: dict[str, str]) -> None:
        self.store = store
        self.table = table
        self.values = {spec.name: spec.default for spec in table.specs.values()}
        for key, value in overrides.items():
            if key in table:
                self.values[table[key].name] = value
        self.values.update(store.config())
        self.listeners: list[Callable[[str, str], None]] = []
        #: Keys whose ChangeConfiguration a feature answers itself (after the checks of
        #: type, range and access here): key -> fn(normalised value) -> status.
        self.owners: dict[str, Callable[[str], str]] = {}

    def get(self, key: str) -> str:
        return self.values[key]

    def int(self, key: str) -> int:
        return int(self.values[key])

    def bool(self, key: str) -> bool:
        return self.values[key].lower() == "true"

    def csl(self, key: str) -> list[str]:
        return [item for item in self.values[key].split(",") if item]

    def set_internal(self, key: str, value: str) -> None:
        """Write a key the charger itself owns (read-only keys included)."""
        self.values[key] = value
        self.store.set_config(key, value)

    def report(self, keys: list[str] | None) -> tuple[list[dict], list[str]]:
        """GetConfiguration: (configurationKey, unknownKey)."""
        if not keys:
            specs = self.table.visible()
            unknown: list[str] = []
        else:
            specs = [self.table[k] for k in keys if k in self.table and not self.table[k].hidden]
            unknown = [k for k in keys if k not in self.table or self.table[k].hidden]
        found = [
            {"key": spec.name, "readonly": spec.readonly, "value": self.values[spec.name]}
            for spec in specs
        ]
        return found, unknown

    def change(self, key: str, value: str) -> str:
        """ChangeConfiguration: Accepted, Rejected, RebootRequired or NotSupported."""
        if key not in self.table:
            return "NotSupported"
        spec = self.table[key]
        key = spec.name  # the key as this charger spells it (keys are CiString)
        if spec.readonly:
            return "Rejected"
        normalised = spec.validate(value)
        if normalised is None:
            return "Rejected"
        owner = self.owners.get(key)
        if owner is not None:
            return owner(normalised)
        if key == "SecurityProfile" and int(normalised) < self.int(key):
            return "Rejected"  # never downgrade (whitepaper ed. 3, A05; lab case 084)
        self.values[key] = normalised
        self.store.set_config(key, normalised)
        for listener in self.listeners:
            listener(key, normalised)
        return "RebootRequired" if spec.reboot else "Accepted"
