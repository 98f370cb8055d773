"""The scenario catalogue as the Scenarios page shows it: filters, applicability by PICS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.pics import SHIPPED, load_pics
from bench.scenarios.registry import PROFILES, ROLES, Scenario, all_scenarios
from web.errors import BenchError


class Catalogue:
    def __init__(
        self,
        cases: Callable[[], dict[str, Scenario]] | None = None,
        default_speed: float = 1.0,
    ) -> None:
        self._cases = cases or all_scenarios
        self.default_speed = default_speed
        self._pics_cache: dict[str, dict[str, Any]] = {}

    def cases(self) -> dict[str, Scenario]:
        return self._cases()

    def pics(self, name: str) -> dict[str, Any]:
        if name not in self._pics_cache:
            self._pics_cache[name] = load_pics(name)
        return self._pics_cache[name]

    def filters(self) -> dict[str, Any]:
        return {
            "roles": list(ROLES),
            "profiles": list(PROFILES),
            "pics": list(SHIPPED),
            "speed": self.default_speed,
        }

    def pics_for(self, role: str, pics: str | None) -> str:
        """``pics`` when it is for ``role``, else the role's own (agent or csms)."""
        if pics and self.pics(pics).get("_role") == role:
            return pics
        return "agent" if role == "cs" else "csms"

    def check_pics(self, pics: str | None) -> None:
        if pics and pics not in SHIPPED:
            raise BenchError(f"unknown PICS {pics!r}; one of {', '.join(SHIPPED)}")

    def list_cases(
        self,
        role: str | None = None,
        profile: str | None = None,
        pics: str | None = None,
        applicability: str | None = None,
    ) -> list[dict[str, Any]]:
        """The catalogue, filtered; ``applicability``: None/"all", "applicable" or "na".

        A case is judged against ``pics`` when that PICS is for the case's role, else
        against the role's default (``agent`` for cs cases, ``csms`` for csms cases).
        """
        self.check_pics(pics)
        out = []
        for case in self.cases().values():
            if role and case.role != role:
                continue
            if profile and case.profile != profile:
                continue
            used = self.pics_for(case.role, pics)
            missing = case.missing(self.pics(used))
            if applicability == "applicable" and missing:
                continue
            if applicability == "na" and not missing:
                continue
            out.append(
                {
                    "id": case.id,
                    "title": case.title,
                    "role": case.role,
                    "profile": case.profile,
                    "requires": list(case.requires),
                    "applicable": not missing,
                    "missing": missing,
                    "pics": used,
                }
            )
        return out

    def known_ids(self, case_ids: Any) -> list[str]:
        """``case_ids`` without repeats, each a known scenario, at least one."""
        if not isinstance(case_ids, list) or not all(isinstance(i, str) for i in case_ids):
            raise BenchError("cases must be a list of scenario ids")
        known = self.cases()
        unknown = [i for i in case_ids if i not in known]
        if unknown:
            raise BenchError(f"unknown scenario(s): {', '.join(unknown)}", 404)
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            raise BenchError("no scenario selected")
        return ids

    def of_profile(self, profile: str, role: str | None = None) -> list[str]:
        ids = [
            c.id
            for c in self.cases().values()
            if c.profile == profile and (not role or c.role == role)
        ]
        if not ids:
            raise BenchError(
                f"no scenario in profile {profile!r}" + (f" for {role}" if role else "")
            )
        return ids
