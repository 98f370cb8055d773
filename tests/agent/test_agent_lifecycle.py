"""The agent never runs twice on one state, and never outlives the bench that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from charger.__main__ import EXIT_LOCKED, hold_state
from charger.agent.settings import AgentSettings

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    AgentSettings(
        charge_point_id="CP-LOCK",
        csms_url="ws://127.0.0.1:9/ocpp",
        state_dir=str(tmp_path / "agent"),
        hardware_file=str(tmp_path / "no-hardware.json"),
    ).dump(path)
    return path


def test_a_second_agent_on_the_same_state_refuses_to_start_in_one_line(tmp_path):
    settings = _settings(tmp_path)
    (tmp_path / "agent").mkdir()
    held = hold_state(tmp_path / "agent")  # this test process is the first agent
    assert held is not None
    try:
        second = subprocess.run(
            [sys.executable, "-m", "charger", str(settings)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == EXIT_LOCKED
        assert second.stderr.strip().splitlines() == [
            f"charger: {tmp_path / 'agent'} is in use by another agent (pid {os.getpid()})"
        ]
        assert not (tmp_path / "agent" / "agent.log").exists()  # it touched nothing
    finally:
        held.close()
    again = hold_state(tmp_path / "agent")  # released with its holder: a restart works
    assert again is not None
    again.close()


SUPERVISOR = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import bench.agent_process as ap
    from charger.clock import Clock

    # Stands in for the firmware: a process that would run forever on its own.
    ap.agent_command = lambda settings, module: (
        [sys.executable, "-c", "import time; time.sleep(120)"], {}
    )
    agent = ap.AgentProcess(Path(sys.argv[1]), Clock.start(), Path(sys.argv[2]))
    agent.start()
    print(agent.pid, flush=True)
    time.sleep(120)
    """
)


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A dead child of a dead parent is reaped by init; until then it is a zombie.
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_agent_dies_with_its_supervisor(tmp_path, how):
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(_settings(tmp_path)), str(tmp_path / "out")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    agent_pid = None
    try:
        agent_pid = int(supervisor.stdout.readline())
        os.kill(agent_pid, 0)  # running
        supervisor.send_signal(how)
        supervisor.wait(10)
        assert _gone(agent_pid, 5), "the agent outlived its supervisor"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        if agent_pid and not _gone(agent_pid, 0):
            os.kill(agent_pid, signal.SIGKILL)
