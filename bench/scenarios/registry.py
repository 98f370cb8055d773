"""Where scenarios register themselves; the CLI and the panel list them from here."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.scenarios.handle import Handle

ScenarioFn = Callable[["Handle"], Awaitable[dict[str, Any] | None]]

_REGISTRY: dict[str, Scenario] = {}
_MODULES = ("bench.scenarios.sessions",)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    fn: ScenarioFn
    role: str = "cs"
    profile: str = "core"
    timeout_s: float = 180.0
    agent_config: dict[str, str] = field(default_factory=dict)


def scenario(
    id: str,
    title: str,
    *,
    role: str = "cs",
    profile: str = "core",
    timeout_s: float = 180.0,
    agent_config: dict[str, str] | None = None,
) -> Callable[[ScenarioFn], ScenarioFn]:
    def register(fn: ScenarioFn) -> ScenarioFn:
        if id in _REGISTRY:
            raise ValueError(f"scenario {id} registered twice")
        _REGISTRY[id] = Scenario(id, title, fn, role, profile, timeout_s, agent_config or {})
        return fn

    return register


def all_scenarios() -> dict[str, Scenario]:
    for module in _MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)
