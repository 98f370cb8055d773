"""The panel's registry page: an operator registers, re-keys and removes charge points,
imports a CSV, keeps idTags and uploads firmware into the real Central System."""

import asyncio
import io

import pytest

from bench.csms.server import CentralSystem
from charger.clock import Clock


@pytest.fixture
def csms(system, loop, tmp_path):  # type: ignore[no-untyped-def]
    """A real Central System on the bench's loop (its store lives on that thread)."""

    async def start() -> CentralSystem:
        cs = CentralSystem(tmp_path / "csms", Clock.start())
        await cs.start()
        return cs

    cs = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    system.csms = cs
    yield Loopside(cs)
    asyncio.run_coroutine_threadsafe(cs.stop(), loop).result(10)


class Loopside:
    """Reads of the CSMS's store from the test's thread, run on the loop."""

    def __init__(self, cs: CentralSystem) -> None:
        self.cs = cs

    def security(self, cp_id):  # type: ignore[no-untyped-def]
        return self.cs.call_on_loop(self.cs.store.security, cp_id)

    def charge_point(self, cp_id):  # type: ignore[no-untyped-def]
        return self.cs.call_on_loop(self.cs.store.charge_point, cp_id)

    def id_tag(self, tag):  # type: ignore[no-untyped-def]
        return self.cs.call_on_loop(self.cs.store.id_tag, tag)

    def firmware_files(self):  # type: ignore[no-untyped-def]
        return self.cs.call_on_loop(self.cs.firmware_files)


def post(client, path, data=None, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": client.csrf, **(data or {})}, **kwargs)


def test_an_operator_drives_the_registry(operator, csms):
    page = operator.get("/registry")
    assert page.status_code == 200 and "Charge points" in page.get_data(as_text=True)

    answer = post(operator, "/registry/charge-points", {"id": "PANEL-CP-1", "profile": "1"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Generated passwords" in html
    assert csms.security("PANEL-CP-1")["profile"] == 1
    stored = csms.charge_point("PANEL-CP-1")["password_hash"]
    assert stored.startswith("hmac-sha256$")
    # The password is on that page only: the next one does not show it.
    shown = html.split("<code>", 1)[1].split("</code>", 1)[0]
    assert shown not in operator.get("/registry").get_data(as_text=True)
    assert shown not in stored

    answer = post(operator, "/registry/charge-points", {"id": "PANEL-CP-1"})
    assert answer.status_code == 409
    answer = post(
        operator, "/registry/charge-points/PANEL-CP-1/password", {"password": "chosen-by-olga-0001"}
    )
    assert answer.status_code == 200
    assert csms.charge_point("PANEL-CP-1")["password_hash"].startswith("scrypt$")

    csv = b"id,profile\nPANEL-CSV-1,2\nPANEL-CSV-2,3\n"
    answer = post(
        operator,
        "/registry/import",
        {"csv": (io.BytesIO(csv), "cps.csv")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200 and "PANEL-CSV-1" in answer.get_data(as_text=True)
    assert csms.security("PANEL-CSV-2")["profile"] == 3

    answer = post(operator, "/registry/charge-points/PANEL-CP-1/profile", {"profile": "3"})
    assert answer.status_code == 200 and csms.security("PANEL-CP-1")["profile"] == 3
    answer = post(operator, "/registry/charge-points/PANEL-CP-1/profile", {"profile": "7"})
    assert answer.status_code == 400
    answer = post(operator, "/registry/charge-points/PANEL-CP-1/remove")
    assert answer.status_code == 200 and csms.charge_point("PANEL-CP-1") is None

    answer = post(
        operator,
        "/registry/id-tags",
        {"idTag": "PANEL-TAG", "status": "Blocked", "parentIdTag": "PANEL-PARENT"},
    )
    assert answer.status_code == 200
    assert csms.id_tag("PANEL-TAG")["status"] == "Blocked"
    assert post(operator, "/registry/id-tags/PANEL-TAG/remove").status_code == 200
    assert csms.id_tag("PANEL-TAG") is None

    image = b"\x7fELF" + b"x" * (2 * 1024 * 1024)  # larger than the panel's usual limit
    answer = post(
        operator,
        "/registry/firmware",
        {"file": (io.BytesIO(image), "fw-3.0.bin")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert [(f["name"], f["size"]) for f in csms.firmware_files()] == [("fw-3.0.bin", len(image))]


def test_security_events_are_shown(operator, csms, loop):
    import asyncio as aio

    async def event() -> None:
        csms.cs.store.add_notification(
            "SOME-CP",
            "SecurityEventNotification",
            "TamperDetectionActivated",
            {"type": "TamperDetectionActivated", "timestamp": "2030-01-01T00:00:00Z"},
            "2030-01-01T00:00:01Z",
        )

    aio.run_coroutine_threadsafe(event(), loop).result(5)
    html = operator.get("/registry").get_data(as_text=True)
    assert "TamperDetectionActivated" in html and "SOME-CP" in html


def test_a_viewer_sees_the_registry_but_cannot_change_it(viewer, csms):
    assert viewer.get("/registry").status_code == 200
    answer = post(viewer, "/registry/charge-points", {"id": "VIEWER-CP"})
    assert answer.status_code == 403
    assert csms.charge_point("VIEWER-CP") is None


def test_the_registry_says_so_when_the_csms_was_stopped(operator, system, csms, loop):
    """Stopped from the Control page: the bench keeps the stopped Central System (closed
    database) until it starts a new one."""
    asyncio.run_coroutine_threadsafe(csms.cs.stop(), loop).result(10)
    system.csms_running = False
    page = operator.get("/registry")
    assert page.status_code == 200 and "not running" in page.get_data(as_text=True)
    answer = post(operator, "/registry/charge-points", {"id": "LATE-CP"})
    assert answer.status_code == 409 and "not running" in answer.get_data(as_text=True)
