"""Hostile frames for every OCPP 1.6 action at both ends: our CSMS and our charger's agent.

Each frame breaks one rule of its action's schema (``hostile_frames``) and must get the
CALLERROR OCPP-J 1.6 prescribes, with its own UniqueId; the connection stays open (a
valid call on it is still answered) and another charge point on the CSMS still gets
answers. Every (action, defect) pair is swept once; Hypothesis then combines them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Coroutine
from typing import Any

import pytest
from hostile_frames import CODES, CP_INITIATED, CSMS_INITIATED, hostile, mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.v16 import call

from bench.csms.server import CentralSystem
from bench.scenarios.csms_role import SimChargePoint
from bench.statedir import StateDir
from bench.system import BenchSystem
from charger.clock import Clock
from charger.protocol.transport import connect_client

CP, OTHER, PASSWORD = "CP-FUZZ-1", "CP-FUZZ-2", "fuzz-password-0123456789"
REPLY_S = 10.0
uids = (f"fz{n}" for n in itertools.count())


class LoopThread:
    """An event loop in a thread, so Hypothesis (synchronous) can drive async ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _supported(reply: list[Any]) -> bool:
    return not (reply[0] == 4 and reply[2] == "NotSupported")


class CsmsEnd:
    """Our Central System, a raw charge point sending the frames, and a well-behaved one."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.supported: dict[str, bool] = {}

    async def start(self) -> None:
        self.cs = CentralSystem(self.tmp_path / "csms.sqlite", Clock.start())
        await self.cs.start()
        for cp in (CP, OTHER):
            self.cs.register_charge_point(cp, PASSWORD)
        self.raw = await connect_client(self.cs.url(CP), CP, PASSWORD)
        self.other = SimChargePoint(OTHER, self.cs.url(OTHER), PASSWORD, self.cs.clock, print)
        await self.other.connect()
        await self.other.request(self.other.boot_payload())
        boot = {"chargePointVendor": "F", "chargePointModel": "Z"}
        boot = await self.exchange(json.dumps([2, "boot", "BootNotification", boot]))
        assert boot[2]["status"] == "Accepted"

    async def stop(self) -> None:
        await self.raw.close()
        await self.other.close()
        await self.cs.stop()

    async def exchange(self, raw: str | bytes) -> list[Any]:
        """Send one frame; the CALLRESULT/CALLERROR the CSMS answers it with."""
        uid = json.loads(raw)[1] if isinstance(raw, str) and raw.count("[") < 50 else None
        await self.raw.send(raw)
        while True:
            frame = json.loads(await asyncio.wait_for(self.raw.recv(), REPLY_S))
            if frame[0] in (3, 4) and (uid is None or frame[1] == uid):
                return frame

    async def still_serving(self) -> None:
        heartbeat = await self.exchange(json.dumps([2, next(uids), "Heartbeat", {}]))
        assert heartbeat[0] == 3, f"the connection no longer works: {heartbeat}"
        answer = await asyncio.wait_for(self.other.request(call.Heartbeat()), REPLY_S)
        assert "currentTime" in answer, "another charge point is no longer answered"


class AgentEnd:
    """Our charger's agent (its own process, on a simulated rig); the CSMS sends the frames."""

    def __init__(self, tmp_path) -> None:
        self.system = BenchSystem(StateDir(tmp_path / "state"), Clock.start())
        self.supported: dict[str, bool] = {}

    async def start(self) -> None:
        await self.system.start()
        await self.system.csms.wait_connected(self.system.cp_id, 60)
        self.pid = self.system.agent.pid

    async def stop(self) -> None:
        await self.system.stop()

    async def exchange(self, raw: str | bytes) -> list[Any]:
        text = raw.decode() if isinstance(raw, bytes) else raw
        uid = text.split('"')[1]
        session = self.system.csms._sessions[self.system.cp_id]
        since = len(self.system.trace)
        await session._connection.send(raw)
        deadline = asyncio.get_running_loop().time() + REPLY_S
        while asyncio.get_running_loop().time() < deadline:
            for frame in self.system.trace[since:]:
                if frame["sender"] == "dut" and frame["unique_id"] == uid:
                    payload = frame["payload"]
                    if frame["message_type"] == 4:
                        return [4, uid, payload["errorCode"], payload["errorDescription"]]
                    return [frame["message_type"], uid, payload]
            await self.system.trace_changed(0.2)
        raise AssertionError(f"the agent did not answer {text[:120]}")

    async def still_serving(self) -> None:
        ask = call.GetConfiguration(key=["HeartbeatInterval"])
        answer = await asyncio.wait_for(self.system.csms.call(self.system.cp_id, ask), REPLY_S)
        assert answer["configurationKey"], answer
        assert self.system.agent.pid == self.pid and self.system.agent_crashes == 0


async def check(end: CsmsEnd | AgentEnd, action: str, kind: str, path, pick: int = 0) -> None:
    uid = next(uids)
    raw, code = hostile(action, uid, kind, path, pick)
    if action not in end.supported:  # the link refuses unhandled actions before validating
        probe = await end.exchange(json.dumps([2, next(uids), action, {"zzUnknownField": 1}]))
        end.supported[action] = _supported(probe)
    reply = await end.exchange(raw)
    unreadable = kind in ("nan", "deep", "binary", "huge_int")  # refused as the frame is read
    want = code if end.supported[action] or unreadable else "NotSupported"
    assert reply[:3] == [4, uid, want], (action, kind, path, str(raw)[:200], reply)


def sweep(actions: frozenset[str]) -> list[tuple[str, str, tuple]]:
    return [(a, kind, path) for a in sorted(actions) for kind, path in mutations(a)]


@pytest.fixture(scope="module")
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def csms_end(loop, tmp_path_factory):
    end = CsmsEnd(tmp_path_factory.mktemp("fuzz-csms"))
    try:
        loop.run(end.start())
        yield end
    finally:
        loop.run(end.stop())


@pytest.fixture(scope="module")
def agent_end(loop, tmp_path_factory):
    end = AgentEnd(tmp_path_factory.mktemp("fuzz-agent"))
    try:
        loop.run(end.start(), timeout=120)
        yield end
    finally:
        loop.run(end.stop())


def test_every_action_and_defect_at_the_csms(loop, csms_end):
    cases = sweep(CP_INITIATED)
    assert {c[1] for c in cases} == set(CODES)
    for action, kind, path in cases:
        loop.run(check(csms_end, action, kind, path))
    loop.run(csms_end.still_serving())
    assert all(csms_end.supported[a] for a in CP_INITIATED), csms_end.supported


@pytest.mark.e2e
def test_every_action_and_defect_at_the_agent(loop, agent_end):
    cases = sweep(CSMS_INITIATED)
    for action, kind, path in cases:
        loop.run(check(agent_end, action, kind, path))
    loop.run(agent_end.still_serving())


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _cases(actions: frozenset[str]):
    return st.sampled_from(sweep(actions)).flatmap(
        lambda case: st.tuples(st.just(case), st.integers(0, 11))
    )


@FUZZ
@given(case=_cases(CP_INITIATED))
def test_generated_frames_at_the_csms(loop, csms_end, case):
    (action, kind, path), pick = case
    loop.run(check(csms_end, action, kind, path, pick))
    loop.run(csms_end.still_serving())


@pytest.mark.e2e
@FUZZ
@given(case=_cases(CSMS_INITIATED))
def test_generated_frames_at_the_agent(loop, agent_end, case):
    (action, kind, path), pick = case
    loop.run(check(agent_end, action, kind, path, pick))
    loop.run(agent_end.still_serving())
