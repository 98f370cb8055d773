"""Where scenarios register themselves; the CLI and the panel list them from here.

A scenario is an async function taking a :class:`~bench.scenarios.handle.Handle`,
with metadata: its catalogue id (``TC_003_CS``), OCA's title, the role it tests
(``cs``: a charge point, ``csms``: a Central System), its feature profile and the
PICS items it needs. A case whose PICS items the device lacks is "not applicable".
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.scenarios.handle import Handle

ScenarioFn = Callable[["Handle"], Awaitable[dict[str, Any] | None]]

PROFILES = (
    "core",
    "local-list",
    "firmware",
    "diagnostics",
    "reservation",
    "trigger",
    "smart-charging",
    "security",
    "bench",  # the bench's own smoke sessions, not catalogue cases
)
ROLES = ("cs", "csms")

_REGISTRY: dict[str, Scenario] = {}
_MODULES = (
    "bench.scenarios.sessions",
    "bench.scenarios.ev_faults",
    "bench.scenarios.soak",
    "bench.scenarios.cs_core",
    "bench.scenarios.cs_optional",
    "bench.scenarios.cs_security",
    "bench.scenarios.csms_core",
    "bench.scenarios.csms_optional",
    "bench.scenarios.csms_security",
)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    fn: ScenarioFn
    role: str = "cs"
    profile: str = "core"
    requires: tuple[str, ...] = ()  # PICS items that must be true
    timeout_s: float = 180.0
    agent_config: dict[str, str] = field(default_factory=dict)

    def missing(self, pics: dict[str, Any]) -> list[str]:
        """The PICS items this case needs that the device does not declare
        (``!item``: the device must not declare it)."""
        return [
            item
            for item in self.requires
            if (bool(pics.get(item[1:])) if item.startswith("!") else not pics.get(item))
        ]


def scenario(
    id: str,
    title: str,
    *,
    role: str = "cs",
    profile: str = "core",
    requires: tuple[str, ...] = (),
    timeout_s: float = 180.0,
    agent_config: dict[str, str] | None = None,
) -> Callable[[ScenarioFn], ScenarioFn]:
    if role not in ROLES:
        raise ValueError(f"{id}: role must be one of {ROLES}")
    if profile not in PROFILES:
        raise ValueError(f"{id}: profile must be one of {PROFILES}")

    def register(fn: ScenarioFn) -> ScenarioFn:
        if id in _REGISTRY:
            raise ValueError(f"scenario {id} registered twice")
        _REGISTRY[id] = Scenario(
            id, title, fn, role, profile, tuple(requires), timeout_s, agent_config or {}
        )
        return fn

    return register


def all_scenarios() -> dict[str, Scenario]:
    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a case module that exists but is broken must say so
                raise
    return dict(_REGISTRY)


def select(
    ids: list[str] | None = None,
    roles: list[str] | None = None,
    profiles: list[str] | None = None,
) -> list[Scenario]:
    """Cases by id (in the order given) or by role and profile (in catalogue order)."""
    known = all_scenarios()
    if ids:
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise KeyError(", ".join(unknown))
        chosen = [known[i] for i in ids]
    else:
        chosen = [c for c in known.values() if c.profile != "bench"]
    if roles:
        chosen = [c for c in chosen if c.role in roles]
    if profiles:
        chosen = [c for c in chosen if c.profile in profiles]
    return chosen
