"""The certificate's "Performance Measurement Results", computed from the OCPP traces.

A lab reports, per timing the PICS declares, the min/max/average it saw over the
whole run. Every figure here comes from the bench's frame timestamps, so it includes
the network between bench and DUT, exactly as OCTT measures it. They are wall-clock
seconds (a frame's ``wall``) at any clock speed: a lab compares them with a
certificate's. A trace without ``wall`` (older reports) falls back to ``ts``.

Pairing rules, all within one case:

* a response is the first CALLRESULT/CALLERROR from the DUT with the CALL's unique id;
* a triggered function is the first DUT CALL that :data:`TRIGGERS` says the bench CALL
  asks for, counted only when the DUT's answer promised it (``Accepted``/``Unlocked``)
  and only when the state says it is due at once (a RemoteStart on an empty connector
  waits for the driver; an Unlock without a session changes no status). A repeat of
  the same request (same action, connector, requested message, transaction)
  supersedes a pending one, so a DUT that accepts and never acts is not later
  credited with an unrelated frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CALL, CALLRESULT, CALLERROR = 2, 3, 4

#: Connector states in which a session exists that an UnlockConnector ends.
SESSION_STATES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})

Statuses = dict[int, str]
Payload = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One line of the seed's performance table."""

    key: str
    name: str
    limit_s: float
    roles: tuple[str, ...]
    description: str


ROWS: tuple[Row, ...] = (
    Row(
        "response",
        "OCPP response time",
        10.0,
        ("cs", "csms"),
        "Time from a CALL sent by the bench to the DUT's CALLRESULT or CALLERROR "
        "(PICS: OCPP response timeout).",
    ),
    Row(
        "triggered",
        "OCPP triggered function time",
        30.0,
        ("cs",),
        "Time from a bench request to the DUT request it triggers (TriggerMessage, "
        "ChangeAvailability, UnlockConnector, RemoteStart/StopTransaction). Excludes "
        "firmware, diagnostics and rebooting (PICS: OCPP triggered function timeout).",
    ),
    Row(
        "remote_start",
        "Transaction authorization time by RemoteStartTransaction",
        10.0,
        ("cs",),
        "Time between RemoteStartTransaction.req and the corresponding "
        "StartTransaction.req; only RemoteStarts that were Accepted and immediately led "
        "to an authorization and a StartTransaction.req.",
    ),
    Row(
        "remote_stop",
        "Transaction authorization end time by RemoteStopTransaction",
        10.0,
        ("cs",),
        "Time between RemoteStopTransaction.req and the corresponding "
        "StopTransaction.req; only RemoteStops that were Accepted.",
    ),
    Row(
        "authorize",
        "Authorize response time",
        10.0,
        ("csms",),
        "Time from an Authorize.req sent by the bench to the Central System's "
        "Authorize.conf (PICS: Response time Authorize).",
    ),
)


# --- what a bench request triggers -------------------------------------------------


def _always(req: Payload, statuses: Statuses) -> bool:
    return True


def _same_connector(req: Payload, statuses: Statuses, got: Payload) -> bool:
    want = req.get("connectorId")
    return want is None or got.get("connectorId") in (None, want)


def _availability_due(req: Payload, statuses: Statuses) -> bool:
    """A StatusNotification is only due when an addressed connector changes state.

    A connector whose state the trace has not shown yet might change, so it counts.
    """
    want = req.get("connectorId")
    inoperative = req.get("type") == "Inoperative"
    if want not in (None, 0):
        addressed = {want: statuses.get(want)}
    else:
        addressed = dict(statuses) or {0: None}
    for status in addressed.values():
        if status is None or (status != "Unavailable") == inoperative:
            return True
    return False


def _availability_reached(req: Payload, statuses: Statuses, got: Payload) -> bool:
    want = req.get("connectorId")
    connector = got.get("connectorId")
    if want not in (None, 0) and connector != want:
        return False
    status = got.get("status")
    if req.get("type") == "Inoperative":
        return status == "Unavailable" and statuses.get(connector) != "Unavailable"
    return status != "Unavailable" and statuses.get(connector, "Unavailable") == "Unavailable"


def _unlock_due(req: Payload, statuses: Statuses) -> bool:
    return statuses.get(req.get("connectorId")) in SESSION_STATES


def _status_changed(req: Payload, statuses: Statuses, got: Payload) -> bool:
    connector = req.get("connectorId")
    return got.get("connectorId") == connector and got.get("status") != statuses.get(connector)


def _remote_start_immediate(req: Payload, statuses: Statuses) -> bool:
    """A RemoteStart on a connector known to be Available waits for the cable: not counted."""
    connector = req.get("connectorId")
    if connector is not None:
        return statuses.get(connector) != "Available"
    known = [s for c, s in statuses.items() if c != 0]
    return not known or any(s != "Available" for s in known)


def _remote_start_began(req: Payload, statuses: Statuses, got: Payload) -> bool:
    return got.get("idTag") == req.get("idTag") and _same_connector(req, statuses, got)


def _same_transaction(req: Payload, statuses: Statuses, got: Payload) -> bool:
    return got.get("transactionId") == req.get("transactionId")


def _requested(req: Payload) -> str | None:
    return req.get("requestedMessage")


#: ExtendedTriggerMessage names the message differently from the action that follows.
_EXTENDED = {
    "FirmwareStatusNotification": "SignedFirmwareStatusNotification",
    "SignChargePointCertificate": "SignCertificate",
}


def _requested_extended(req: Payload) -> str | None:
    name = req.get("requestedMessage")
    return _EXTENDED.get(name, name) if name else None


@dataclass(frozen=True)
class Trigger:
    """A bench request and the DUT request that must follow it."""

    request: str
    accepted: frozenset[str]
    target: str | Callable[[Payload], str | None]
    due: Callable[[Payload, Statuses], bool]
    matches: Callable[[Payload, Statuses, Payload], bool]

    def target_for(self, req: Payload) -> str | None:
        return self.target(req) if callable(self.target) else self.target


_A = frozenset({"Accepted"})

#: The triggered-function mapping. TriggerMessage of a firmware or diagnostics *status*
#: is a trigger like any other; UpdateFirmware, SignedUpdateFirmware, GetDiagnostics,
#: GetLog and Reset are the long functions the seed excludes, and ChangeConfiguration of
#: MeterValueSampleInterval starts a periodic stream, not a triggered request.
# fmt: off
TRIGGERS: tuple[Trigger, ...] = (
    #       bench request            answer that promises it  DUT request that follows
    #                                                         due now?                 matches?
    Trigger("TriggerMessage",         _A,                     _requested,
            _always,                  _same_connector),
    Trigger("ExtendedTriggerMessage", _A,                     _requested_extended,
            _always,                  _same_connector),
    Trigger("ChangeAvailability",     _A,                     "StatusNotification",
            _availability_due,        _availability_reached),
    Trigger("UnlockConnector",        frozenset({"Unlocked"}), "StatusNotification",
            _unlock_due,              _status_changed),
    Trigger("RemoteStartTransaction", _A,                     "StartTransaction",
            _remote_start_immediate,  _remote_start_began),
    Trigger("RemoteStopTransaction",  _A,                     "StopTransaction",
            _always,                  _same_transaction),
)
# fmt: on
_BY_REQUEST = {t.request: t for t in TRIGGERS}

#: Requests deliberately left out of the triggered-function figure, and why.
NOT_TRIGGERED: dict[str, str] = {
    "Reset": "rebooting (excluded by the PICS definition)",
    "UpdateFirmware": "firmware (excluded by the PICS definition)",
    "SignedUpdateFirmware": "firmware (excluded by the PICS definition)",
    "GetDiagnostics": "diagnostics (excluded by the PICS definition)",
    "GetLog": "diagnostics (excluded by the PICS definition)",
    "ChangeConfiguration": "MeterValueSampleInterval starts periodic MeterValues, not a trigger",
}


# --- pairing ----------------------------------------------------------------------


@dataclass
class Sample:
    """One measured interval, kept so the worst one can be traced back to its case."""

    case: str
    action: str
    unique_id: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "action": self.action,
            "unique_id": self.unique_id,
            "s": round(self.seconds, 3),
        }


def _frames(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in case.get("trace") or [] if isinstance(f, dict)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _elapsed(first: dict[str, Any], then: dict[str, Any]) -> float | None:
    """Wall-clock seconds between two frames (simulated ``ts`` if a frame lacks ``wall``)."""
    for key in ("wall", "ts"):
        if _is_number(first.get(key)) and _is_number(then.get(key)):
            return float(then[key] - first[key])
    return None


def _answers(frames: list[dict[str, Any]]) -> tuple[dict[int, int], list[int]]:
    """Index of each bench CALL -> index of the DUT's answer; and unanswered CALLs."""
    pending: dict[str, int] = {}
    answered: dict[int, int] = {}
    orphans: list[int] = []
    for i, f in enumerate(frames):
        kind, uid = f.get("message_type"), f.get("unique_id")
        if not isinstance(uid, str | int):  # a mangled frame pairs with nothing
            continue
        if f.get("sender") == "bench" and kind == CALL:
            if uid in pending:
                orphans.append(pending[uid])
            pending[uid] = i
        elif f.get("sender") == "dut" and kind in (CALLRESULT, CALLERROR) and uid in pending:
            answered[pending.pop(uid)] = i
    return answered, orphans + list(pending.values())


def _status_of(answer: dict[str, Any] | None) -> str | None:
    if not answer or answer.get("message_type") != CALLRESULT:
        return None
    payload = answer.get("payload")
    return payload.get("status") if isinstance(payload, dict) else None


def _case_samples(case: dict[str, Any]) -> dict[str, list[Sample]]:
    """All five kinds of sample found in one case's trace."""
    cid = str(case.get("id", "?"))
    frames = _frames(case)
    answered, unanswered = _answers(frames)
    out: dict[str, list[Sample]] = {row.key: [] for row in ROWS}
    out["unanswered"] = [
        Sample(cid, str(frames[i].get("action")), str(frames[i].get("unique_id")), 0.0)
        for i in sorted(unanswered)
    ]
    for call_i, answer_i in sorted(answered.items()):
        call, answer = frames[call_i], frames[answer_i]
        seconds = _elapsed(call, answer)
        if seconds is None:
            continue
        sample = Sample(cid, str(call.get("action")), str(call.get("unique_id")), seconds)
        out["response"].append(sample)
        if call.get("action") == "Authorize":
            out["authorize"].append(sample)

    statuses: Statuses = {}
    # (trigger, request frame, statuses then, key) in the order they were sent
    pending: list[tuple[Trigger, dict[str, Any], Statuses, tuple]] = []
    for i, f in enumerate(frames):
        if f.get("message_type") != CALL:
            continue
        payload = f.get("payload") if isinstance(f.get("payload"), dict) else {}
        if f.get("sender") == "bench":
            trigger = _BY_REQUEST.get(f.get("action"))
            if trigger is None:
                continue
            key = (
                trigger.request,
                payload.get("connectorId"),
                payload.get("requestedMessage"),
                payload.get("transactionId"),
            )
            pending = [p for p in pending if p[3] != key]
            answer = frames[answered[i]] if i in answered else None
            if _status_of(answer) in trigger.accepted and trigger.due(payload, statuses):
                pending.append((trigger, f, dict(statuses), key))
            continue
        if f.get("sender") != "dut":
            continue
        for entry in list(pending):
            trigger, req, before, _ = entry
            req_payload = req.get("payload") if isinstance(req.get("payload"), dict) else {}
            if f.get("action") != trigger.target_for(req_payload):
                continue
            if not trigger.matches(req_payload, before, payload):
                continue
            pending.remove(entry)
            seconds = _elapsed(req, f)
            if seconds is None:
                continue
            sample = Sample(
                cid, f"{trigger.request} → {f.get('action')}", str(req.get("unique_id")), seconds
            )
            out["triggered"].append(sample)
            if trigger.request == "RemoteStartTransaction":
                out["remote_start"].append(sample)
            elif trigger.request == "RemoteStopTransaction":
                out["remote_stop"].append(sample)
        if f.get("action") == "StatusNotification" and _is_number(payload.get("connectorId")):
            statuses[int(payload["connectorId"])] = str(payload.get("status"))
    return out


def _r2(seconds: float) -> float:
    """Two decimals rounded half up, as a person would (0.125 -> 0.13)."""
    return float(Decimal(repr(seconds)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _row_result(row: Row, samples: list[Sample]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "key": row.key,
        "name": row.name,
        "description": row.description,
        "limit_s": row.limit_s,
        "roles": list(row.roles),
        "unit": "seconds",
        "count": len(samples),
    }
    if not samples:
        return result | {"min_s": None, "max_s": None, "avg_s": None, "status": "not measured"}
    values = [s.seconds for s in samples]
    worst = max(samples, key=lambda s: s.seconds)
    return result | {
        "min_s": _r2(min(values)),
        "max_s": _r2(max(values)),
        "avg_s": _r2(sum(values) / len(values)),
        "status": "exceeded" if worst.seconds > row.limit_s else "ok",
        "worst": worst.to_json(),
        "samples": [s.to_json() for s in samples],
    }


def measure(cases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The seed's performance rows (min/max/average in seconds, 2 decimals, and count).

    ``rows`` follows :data:`ROWS`; each row has ``status`` "ok", "exceeded" (its max is
    above the PICS limit) or "not measured". A row only draws on cases of its roles.
    ``exceeded`` lists the names of rows over their limit; ``unanswered`` the bench
    CALLs the DUT never answered (a timeout shows up here, not in the response row).
    """
    collected: dict[str, list[Sample]] = {row.key: [] for row in ROWS}
    unanswered: list[Sample] = []
    for case in cases:
        role = case.get("role")
        found = _case_samples(case)
        for row in ROWS:
            if role is None or role in row.roles:
                collected[row.key].extend(found[row.key])
        unanswered.extend(found["unanswered"])
    rows = [_row_result(row, collected[row.key]) for row in ROWS]
    return {
        "rows": rows,
        "exceeded": [r["name"] for r in rows if r["status"] == "exceeded"],
        "unanswered": [
            {"case": s.case, "action": s.action, "unique_id": s.unique_id} for s in unanswered
        ],
    }


def rows_for_role(performance: dict[str, Any], role: str | None) -> list[dict[str, Any]]:
    """The rows a certificate for a DUT of this role shows (all when the role is unknown)."""
    rows = performance.get("rows", [])
    return [r for r in rows if role is None or role in r.get("roles", ())]
