"""Fixtures for the panel's tests: a fake bench for the unit tests (fast, no processes)."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.csms.frame_log import FrameRing
from bench.scenarios.registry import Scenario
from bench.scenarios.runner import STOPPED_MESSAGE, CaseResult
from bench.system import SystemStatus
from web import create_app
from web.bench_api import BenchApi
from web.users import add_user

PASSWORDS = {"olga": "operator-pass-1", "victor": "viewer-pass-1"}


class FakeClock:
    speed = 1.0

    def time(self) -> float:
        return time.time()

    def wall(self, seconds: float) -> float:
        return seconds / self.speed


class FakeMeter:
    def __init__(self) -> None:
        self.fault = None

    def set_fault(self, kind: Any) -> None:
        self.fault = kind


class FakeRig:
    connector_ids = [1, 2]

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.powered = True
        self.plugged = {1: False, 2: False}
        self.power_w = {1: 0, 2: 0}
        self.meters = {1: FakeMeter(), 2: FakeMeter()}

    def plug(self, cid: int) -> None:
        self.calls.append(("plug", cid))
        self.plugged[cid] = True

    def unplug(self, cid: int) -> None:
        self.calls.append(("unplug", cid))
        self.plugged[cid] = False

    def ev_stop(self, cid: int) -> None:
        self.calls.append(("ev_stop", cid))

    def present_tag(self, uid: str) -> None:
        if not re.fullmatch(r"[0-9A-Fa-f]{10}", uid.strip()):
            raise ValueError(f"RDM6300 uid must be 10 hex characters, got {uid!r}")
        self.calls.append(("present_tag", uid))

    def remove_tag(self) -> None:
        self.calls.append(("remove_tag",))

    def snapshot(self) -> dict[str, Any]:
        return {
            "powered": self.powered,
            "connectors": {
                cid: {
                    "standard": "CCS2" if cid == 1 else "CCS1",
                    "plugged": self.plugged[cid],
                    "cp": "B" if self.plugged[cid] else "unplugged",
                    "stage": "IDLE",
                    "soc": 20.0,
                    "voltage_v": 400.0 if self.power_w[cid] else 0.0,
                    "current_a": self.power_w[cid] / 400.0,
                    "power_w": self.power_w[cid],
                    "meter_wh": 1000.0,
                    "contactors": bool(self.power_w[cid]),
                    "duty": 5.0 if self.plugged[cid] else None,
                }
                for cid in self.connector_ids
            },
        }


class FakeCsms:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.answer: dict[str, Any] = {"status": "Accepted"}

    async def call(self, cp_id: str, payload: Any) -> dict[str, Any]:
        self.sent.append(payload)
        return self.answer

    async def operate(self, cp_id: str, action: str, payload: dict[str, Any]) -> Any:
        """The operation table's entry point, as the panel's Control page uses it."""
        from web import schemas

        response = await self.call(cp_id, schemas.to_call(action, payload))
        return SimpleNamespace(response=response)

    def transactions(self, cp_id: str | None = None) -> list[dict[str, Any]]:
        return []

    def connected(self, cp_id: str) -> bool:
        return True


class FakeProxy:
    up = True

    def cut(self) -> None:
        self.up = False

    def restore(self) -> None:
        self.up = True


class FakeAgent:
    """AgentProcess's public face: ``running`` and ``pid`` are properties."""

    @property
    def running(self) -> bool:
        return True

    @property
    def pid(self) -> int:
        return 4242


class FakeSystem:
    """:class:`web.system_view.BenchView` as BenchSystem gives it, without processes or sockets."""

    def __init__(self) -> None:
        self.cp_id = "BENCH-CP-001"
        self.clock = FakeClock()
        self.rig = FakeRig()
        self.csms: FakeCsms | None = FakeCsms()
        self.proxy = FakeProxy()
        self.agent = FakeAgent()
        self.csms_running = True
        self.hardware: Any = None  # a real rig when set: the panel keeps its hands off
        self.predict: Any = None  # the CSMS's predict_composite, when a test gives one
        self.parts: list[Any] = []  # the agent's hardware part statuses (PartStatus)
        self.trace = FrameRing()  # in memory only, as BenchSystem without its file
        self.events: list[str] = []
        self.connected: list[str] = []  # charge points connected to the CSMS

    def status(self) -> SystemStatus:
        return SystemStatus(
            t=round(self.clock.time(), 3),
            speed=self.clock.speed,
            cp_id=self.cp_id,
            simulated=self.hardware is None,
            rig=self.rig.snapshot() if self.hardware is None else None,
            connector_ids=self.connector_ids(),
            link_up=self.proxy.up,
            csms_up=self.csms_running,
            cp_connected=self.csms_running,
            agent_running=True,
            agent_pid=4242,
            parts=self.hardware_health(),
            connected=list(self.connected),
        )

    def hardware_health(self) -> list[Any]:
        """The agent's part statuses (PartStatus), as BenchSystem reads them."""
        return list(self.parts)

    def connector_ids(self) -> list[int]:
        return list(self.rig.connector_ids)

    def transactions(self) -> list[dict[str, Any]]:
        return self.csms.transactions(self.cp_id) if self.csms_running and self.csms else []

    def composite_schedule(self, connector: int, duration_s: int) -> dict[str, Any] | None:
        """Like BenchSystem's: the CSMS's prediction when it has a limit, else None."""
        if self.predict is None:
            return None
        schedule = self.predict(self.cp_id, connector, duration_s)
        return schedule if schedule.get("chargingSchedulePeriod") else None

    def frame(self, sender: str, mtype: int, uid: str, action: str | None, **payload: Any) -> None:
        self.trace.append(
            {
                "ts": time.time(),
                "sender": sender,
                "message_type": mtype,
                "unique_id": uid,
                "action": action,
                "payload": payload,
            }
        )

    async def stop_csms(self) -> None:
        self.events.append("stop_csms")
        self.csms_running = False

    async def start_csms(self) -> None:
        self.events.append("start_csms")
        self.csms_running = True

    def power_loss(self) -> None:
        self.events.append("power_loss")
        self.rig.powered = False

    def power_restore(self) -> None:
        self.events.append("power_restore")
        self.rig.powered = True

    def kill_agent(self) -> None:
        self.events.append("kill_agent")

    def start_agent(self) -> None:
        self.events.append("start_agent")


async def _quick(t: Any) -> None:
    t.step("quick case: nothing to do")


async def _slow(t: Any) -> None:
    t.step("slow case: waiting")
    await asyncio.sleep(30)


def fake_catalogue() -> dict[str, Scenario]:
    return {
        "quick-a": Scenario("quick-a", "Quick case A", _quick, profile="bench"),
        "quick-b": Scenario("quick-b", "Quick case B", _quick, profile="core"),
        "needs-pics": Scenario(
            "needs-pics", "Needs a PICS item", _quick, profile="core", requires=("NO_SUCH_ITEM",)
        ),
        "slow": Scenario("slow", "Slow case", _slow, profile="bench"),
        "csms-case": Scenario("csms-case", "A CSMS case", _quick, role="csms", profile="core"),
    }


async def fake_runner(cases, options, on_progress):  # type: ignore[no-untyped-def]
    """run_cases' contract without benches: every case gets a handle with steps; a set
    ``options.stop`` ends the running case with the runner's stopped message."""
    results = []
    for n, case in enumerate(cases, 1):
        if options.stop is not None and options.stop.is_set():
            break
        on_progress(n, len(cases), case, None)
        handle = SimpleNamespace(steps=[])
        handle.step = lambda text, h=handle: h.steps.append((0.0, text))
        began = time.monotonic()
        scenario = asyncio.ensure_future(case.fn(handle))
        stopping = asyncio.ensure_future(options.stop.wait())
        await asyncio.wait({scenario, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        verdict, details = "pass", {"transaction": 7, "energy_wh": 120, "meter_delta_wh": 120}
        if not scenario.done():
            scenario.cancel()
            verdict, details = "error", {"message": STOPPED_MESSAGE}
        result = CaseResult(
            case.id,
            verdict,
            round(time.monotonic() - began, 3),
            details=details,
            title=case.title,
            role=case.role,
            profile=case.profile,
            steps=[{"t": t, "text": text} for t, text in handle.steps],
        )
        results.append(result)
        on_progress(n, len(cases), case, result)
    return results


@pytest.fixture
def loop():
    """An event loop running in its own thread, as the bench's is beside the panel."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop

    async def drain() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(drain(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.fixture
def system() -> FakeSystem:
    return FakeSystem()


@pytest.fixture
def bench_api(system, loop, tmp_path):  # type: ignore[no-untyped-def]
    api = BenchApi(
        system,
        loop,
        tmp_path,
        runner=fake_runner,
        catalogue=fake_catalogue,
        sample_every_s=0.02,
    ).start()
    yield api
    api.close()


@pytest.fixture
def app(bench_api, tmp_path):  # type: ignore[no-untyped-def]
    for name, password in PASSWORDS.items():
        add_user(tmp_path, name, password, "operator" if name == "olga" else "viewer")
    app = create_app(bench_api, {"STATE_DIR": str(tmp_path), "TESTING": True, "WS_TICK_S": 0.05})
    return app


def token_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF meta tag in the page"
    return found.group(1)


def login(client, name: str) -> str:  # type: ignore[no-untyped-def]
    """Log ``name`` in; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": name,
            "password": PASSWORDS[name],
            "csrf_token": token_of(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return token_of(client.get("/").get_data(as_text=True))


@pytest.fixture
def operator(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.csrf = login(client, "olga")
    return client


@pytest.fixture
def viewer(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.csrf = login(client, "victor")
    return client


def wait_for(predicate, timeout: float = 5.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what}: not reached within {timeout} s")


@pytest.fixture
def state_dir(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path


@pytest.fixture
def helpers() -> SimpleNamespace:
    """Plain functions the tests share (conftest modules are not importable by name)."""
    return SimpleNamespace(
        wait_for=wait_for,
        login=login,
        token_of=token_of,
        passwords=PASSWORDS,
        fake_catalogue=fake_catalogue,
        fake_runner=fake_runner,
    )
