"""The certificate's "Test Result Summary": one verdict per certified functionality.

Names, grouping and description texts are those of the OCA certificates, so the
table reads like the abstract of a lab's test report. A case that is not applicable
to the DUT (its PICS lacks the feature) neither passes nor fails its functionality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

VERDICTS = ("pass", "fail", "error", "n/a", "inconclusive")
PASS, FAIL, NOT_TESTED, INCONCLUSIVE = "Pass", "Fail", "Not Tested", "Inconclusive"


@dataclass(frozen=True)
class Functionality:
    name: str
    kind: str  # "profile" (Certification Profile) | "extension" (Certification Extension)
    profiles: tuple[str, ...]
    description: str


FUNCTIONALITIES: tuple[Functionality, ...] = (
    Functionality(
        "Core",
        "profile",
        ("core",),
        "Basic Charging Station, functionality for booting, authorization, configuration, "
        "transactions, remote control.",
    ),
    Functionality(
        "Firmware Management",
        "profile",
        ("firmware", "diagnostics"),
        "Support for firmware update management and diagnostic log file download.",
    ),
    Functionality(
        "Local Authorization List Management",
        "profile",
        ("local-list",),
        "Features to manage a local list in the charging station containing authorization "
        "data for whitelisting users.",
    ),
    Functionality(
        "Smart Charging",
        "profile",
        ("smart-charging",),
        "Support for Smart Charging, to control charging.",
    ),
    Functionality(
        "Remote Trigger",
        "profile",
        ("trigger",),
        "Support for remotely triggering messages that originate from a Charging Station. "
        "This can be used for resending messages or for getting the latest information "
        "from the Charging Station.",
    ),
    Functionality(
        "Reservation",
        "profile",
        ("reservation",),
        "Support for reservation of a connector of a Charging Station.",
    ),
    Functionality(
        "Security extension",
        "extension",
        ("security",),
        "Implementation of the whitepaper: Improved security for OCPP 1.6-J",
    ),
)
_BY_PROFILE = {p: f for f in FUNCTIONALITIES for p in f.profiles}


def verdict_of(case: dict[str, Any]) -> str:
    """The case's verdict; anything unrecognised is an error, never a silent pass."""
    verdict = str(case.get("verdict", "")).strip().lower()
    if verdict in ("na", "n/a", "not applicable"):
        return "n/a"
    return verdict if verdict in VERDICTS else "error"


def result_of(counts: dict[str, int]) -> str:
    """Fail if anything failed or errored; Inconclusive if a case could not be judged
    (the host could not keep up); Pass if something passed; else Not Tested."""
    if counts.get("fail", 0) or counts.get("error", 0):
        return FAIL
    if counts.get("inconclusive", 0):
        return INCONCLUSIVE
    if counts.get("pass", 0):
        return PASS
    return NOT_TESTED


def summarize(cases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per-functionality result and verdict counts, plus totals and the overall result.

    Cases whose profile is outside the certificate's vocabulary (e.g. the bench's own
    sessions) get a row of their own after the certified ones, so nothing is hidden.
    """
    groups: dict[str, dict[str, int]] = {
        f.name: dict.fromkeys(VERDICTS, 0) for f in FUNCTIONALITIES
    }
    others: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(VERDICTS, 0)
    for case in cases:
        verdict = verdict_of(case)
        profile = str(case.get("profile") or "unknown")
        functionality = _BY_PROFILE.get(profile)
        if functionality is not None:
            counts = groups[functionality.name]
        else:
            counts = others.setdefault(profile, dict.fromkeys(VERDICTS, 0))
        counts[verdict] += 1
        totals[verdict] += 1

    rows = [
        {
            "functionality": f.name,
            "kind": f.kind,
            "profiles": list(f.profiles),
            "description": f.description,
            "result": result_of(groups[f.name]),
            "counts": groups[f.name],
            "total": sum(groups[f.name].values()),
        }
        for f in FUNCTIONALITIES
    ]
    rows += [
        {
            "functionality": f"Other: {profile}",
            "kind": "other",
            "profiles": [profile],
            "description": "Cases outside the OCPP 1.6 certification functionalities.",
            "result": result_of(counts),
            "counts": counts,
            "total": sum(counts.values()),
        }
        for profile, counts in others.items()
    ]
    return {
        "rows": rows,
        "totals": totals,
        "total": sum(totals.values()),
        "result": result_of(totals),
    }
