"""Fixtures for firmware management: a signing key, images, a pyftpdlib server, a fake charger."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from charger.agent.features.diagnostics import Diagnostics
from charger.agent.features.firmware import FirmwareManager
from charger.clock import Clock
from firmware_image import build_image, ensure_signing_key

FTP_USER = "charger"
FTP_PASSWORD = "ftp-pass-Xy9"
AUTHORIZATION_KEY = "AuthKey-0123456789abcdef"
PROVISIONING_PASSWORD = "provisioned-pw-4242"


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return ensure_signing_key(
        tmp_path_factory.mktemp("keys"), tmp_path_factory.mktemp("manufacturer")
    )


@pytest.fixture(scope="session")
def images(tmp_path_factory, keys):
    """v2.0.0 (good), v2.0.1 broken, v3.0.0 signed under another manufacturer CA."""
    out = tmp_path_factory.mktemp("images")
    foreign = ensure_signing_key(
        tmp_path_factory.mktemp("foreign-keys"), tmp_path_factory.mktemp("foreign-manufacturer")
    )
    return SimpleNamespace(
        good=build_image("2.0.0", out, keys),
        broken=build_image("2.0.1", out, keys, broken=True),
        foreign=build_image("3.0.0", out, foreign),
    )


@dataclass
class Ftp:
    root: Path
    port: int
    commands: list[str] = field(default_factory=list)
    user: str = FTP_USER
    password: str = FTP_PASSWORD

    def url(self, path: str, password: str = FTP_PASSWORD) -> str:
        return f"ftp://{FTP_USER}:{quote(password, safe='')}@127.0.0.1:{self.port}/{path}"

    def count(self, command: str) -> int:
        return sum(1 for c in self.commands if c == command)


def _serve(root: Path, perm: str) -> Iterator[Ftp]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "firmware").mkdir(exist_ok=True)
    (root / "diagnostics").mkdir(exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm=perm)
    info = Ftp(root, 0)

    class Handler(FTPHandler):
        def pre_process_command(self, line, cmd, arg):  # noqa: D401 - pyftpdlib hook
            info.commands.append(cmd)
            return super().pre_process_command(line, cmd, arg)

    Handler.authorizer = authorizer
    server = FTPServer(("127.0.0.1", 0), Handler, ioloop=IOLoop())
    info.port = server.address[1]
    serving = threading.Event()
    serving.set()

    def loop() -> None:
        try:
            while serving.is_set():
                server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        finally:
            server.close_all()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield info
    finally:
        serving.clear()
        thread.join(timeout=5)


@pytest.fixture
def ftp(tmp_path) -> Iterator[Ftp]:
    """Read everywhere, write allowed (uploads)."""
    yield from _serve(tmp_path / "ftp", "elradfmw")


@pytest.fixture
def ftp_readonly(tmp_path) -> Iterator[Ftp]:
    """A server that refuses every upload (STOR: 550)."""
    yield from _serve(tmp_path / "ftp-ro", "elr")


class FakeCharger:
    """The feature Context FirmwareManager and Diagnostics use, with the pump captured.

    ``firmware``/``diagnostics`` are the features built on it, one of each per charger
    (as the agent builds them once per boot).
    """

    def __init__(self, state_dir: Path, public_key: Path | None, speed: float = 50.0) -> None:
        self.settings = SimpleNamespace(
            charge_point_id="BENCH-CP-001",
            state_dir=str(state_dir),
            firmware_version="0.1.0",
            manufacturer_root=str(public_key) if public_key else None,
            initial_password=PROVISIONING_PASSWORD,
            vendor="OCPP Bench",
            model="BENCH-DC-2",
            serial_number="SIM-0001",
        )
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        self.clock = Clock.start(speed)
        self.sent: list[tuple[str, str]] = []
        self.sent_at: list[float] = []  # simulated time of each, for "not before" checks
        self.accepted = asyncio.Event()
        self.accepted.set()
        self.reboot = asyncio.Event()
        self.connectors = {1: SimpleNamespace(tx_active=False), 2: SimpleNamespace(tx_active=False)}
        self.local_tx: dict[int, int] = {}
        self.config = SimpleNamespace(
            values={
                "AuthorizationKey": AUTHORIZATION_KEY,
                "HeartbeatInterval": "60",
                "MeterValueSampleInterval": "10",
                "_RebootReason": "HardReset",
            }
        )

    def transaction_active(self) -> bool:
        return any(c.tx_active for c in self.connectors.values()) or bool(self.local_tx)

    @functools.cached_property
    def firmware(self) -> FirmwareManager:
        return FirmwareManager(self)  # type: ignore[arg-type]

    @functools.cached_property
    def diagnostics(self) -> Diagnostics:
        return Diagnostics(self)  # type: ignore[arg-type]

    async def request(self, payload: Any) -> dict:
        self.sent.append((type(payload).__name__, payload.status))
        self.sent_at.append(self.clock.time())
        return {}

    def statuses(self, kind: str = "FirmwareStatusNotification") -> list[str]:
        return [status for name, status in self.sent if name == kind]


@pytest.fixture
def charger_factory(tmp_path, keys) -> Callable[..., FakeCharger]:
    def make(state_dir: Path | None = None, **kwargs: Any) -> FakeCharger:
        kwargs.setdefault("public_key", keys.root_path)
        return FakeCharger(state_dir or tmp_path / "agent", **kwargs)

    return make
