"""Bad input through the real ``bench`` command: one line, what to do, an exit status of its own.

No traceback reaches the console unless ``-v`` is given; nothing is printed about a
CSMS that never started; Ctrl-C during ``bench run`` prints the partial result,
exits 130 and leaves no process behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_PORT_IN_USE,
    EXIT_RIG_INVALID,
    EXIT_RIG_MISSING,
    EXIT_RIG_SYNTAX,
    EXIT_SECRET,
    EXIT_STATE_NO_PERMISSION,
    EXIT_STATE_NOT_DIR,
    EXIT_STATE_READ_ONLY,
    EXIT_USAGE,
)
from tests.ports import listening

pytestmark = pytest.mark.e2e
BENCH = [sys.executable, "-m", "bench.cli"]
EXAMPLE = Path(__file__).parents[2] / "wiring" / "rig.example.toml"


def bench(*args: str, cwd: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    return subprocess.run(
        [*(prefix or []), *BENCH, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def one_line(proc: subprocess.CompletedProcess, status: int, *words: str) -> str:
    """The refusal: exit status, one line on stderr naming the problem, nothing else."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, output
    assert "Traceback" not in output, output
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, output
    assert proc.stdout == "", output  # nothing printed about a bench that never started
    line = lines[0]
    assert line.startswith("bench: ") and "; " in line, line  # what is wrong; what to do
    for word in words:
        assert word in line, line
    return line


@pytest.fixture
def rig(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str) -> Path:
        path = tmp_path / "rig.toml"
        path.write_text(text)
        return path

    return write


def test_a_rig_file_with_a_typo_key_names_the_key(tmp_path, rig):
    text = EXAMPLE.read_text().replace("baudrate = 9600", "baudrat = 9600", 1)
    line = one_line(bench("up", "--rig", str(rig(text)), cwd=tmp_path), EXIT_RIG_INVALID, "baudrat")
    assert "rig.example.toml" in line  # where to look for the right spelling
    top = bench("up", "--rig", str(rig('mdoe = "real"\n')), cwd=tmp_path)
    one_line(top, EXIT_RIG_INVALID, "mdoe")


def test_a_rig_file_that_is_not_toml(tmp_path, rig):
    one_line(
        bench("up", "--rig", str(rig('mode = "real\n')), cwd=tmp_path),
        EXIT_RIG_SYNTAX,
        "not valid TOML",
        "line 1",
    )


def test_a_missing_rig_file(tmp_path):
    one_line(
        bench("up", "--rig", "no-such-rig.toml", cwd=tmp_path),
        EXIT_RIG_MISSING,
        "no-such-rig.toml",
        "not found",
    )


def test_a_bad_mode(tmp_path, rig):
    one_line(
        bench("up", "--rig", str(rig('mode = "virtual"\n')), cwd=tmp_path),
        EXIT_RIG_INVALID,
        "'virtual'",
        "simulated",
    )


def test_verbose_brings_the_traceback_back(tmp_path, rig):
    proc = bench("-v", "up", "--rig", str(rig('mode = "virtual"\n')), cwd=tmp_path)
    assert proc.returncode == EXIT_RIG_INVALID
    assert "Traceback" in proc.stderr and proc.stderr.strip().endswith('mode = "real"')


def test_the_csms_port_in_use_is_said_before_any_csms_detail(tmp_path):
    with listening() as taken, listening() as panel:
        port = taken.getsockname()[1]
        free = panel.getsockname()[1]  # not the default 8080: other tests run bench up too
        panel.close()
        proc = bench(
            "up",
            "--port",
            str(port),
            "--panel-port",
            str(free),
            "--state-dir",
            "state",
            cwd=tmp_path,
        )
    one_line(proc, EXIT_PORT_IN_USE, str(port), "--port")


def test_the_panel_port_in_use_is_said_before_any_csms_detail(tmp_path):
    with listening() as taken, listening() as csms:
        port = taken.getsockname()[1]
        free = csms.getsockname()[1]
        csms.close()
        proc = bench(
            "up",
            "--port",
            str(free),
            "--panel-port",
            str(port),
            "--state-dir",
            "state",
            cwd=tmp_path,
        )
    one_line(proc, EXIT_PORT_IN_USE, str(port), "--panel-port")


def test_the_operator_panel_port_in_use_is_said_before_the_run_starts(tmp_path):
    with listening() as taken:
        port = taken.getsockname()[1]
        proc = bench(
            "run",
            "TC_001_CS",
            "--dut",
            "external",
            "--dut-cp-id",
            "ACME-1",
            "--interactive",
            "--port-base",
            str(port - 4),  # the panel's offset
            "--state-dir",
            "state",
            cwd=tmp_path,
        )
    one_line(proc, EXIT_PORT_IN_USE, str(port), "operator panel", "--port-base")


def test_a_state_directory_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("")
    for command in ("up", "run"):
        extra = ["local-rfid-session"] if command == "run" else []
        proc = bench(command, *extra, "--state-dir", "afile/state", cwd=tmp_path)
        one_line(proc, EXIT_STATE_NOT_DIR, "afile/state", "--state-dir")


def test_a_report_or_json_file_that_cannot_be_written_is_said_before_the_run(tmp_path):
    (tmp_path / "afile").write_text("")
    report = bench("run", "local-rfid-session", "--report", "afile/out", cwd=tmp_path)
    one_line(report, EXIT_STATE_NOT_DIR, "report directory afile/out", "--report")
    results = bench("run", "local-rfid-session", "--json", "no-such-dir/r.json", cwd=tmp_path)
    one_line(results, EXIT_STATE_NOT_DIR, "--json no-such-dir/r.json")


def test_a_panel_user_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("")
    proc = subprocess.run(
        [*BENCH, "user", "add", "olga", "--state-dir", "afile/state", "--password-stdin"],
        input="a-long-password\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    one_line(proc, EXIT_STATE_NOT_DIR, "afile/state")


def _namespaces_work() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([unshare, "-r", "true"]).returncode == 0


needs_namespaces = pytest.mark.skipif(
    not _namespaces_work(),
    reason="the kernel refuses user namespaces (unshare -r), needed for a read-only mount",
)


@needs_namespaces
def test_a_state_directory_on_a_read_only_file_system(tmp_path):
    """A read-only tmpfs mounted in a private mount namespace of the bench alone."""
    mount = tmp_path / "ro"
    mount.mkdir()
    wrap = ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o ro tmpfs {mount} && exec "$@"', "-"]
    proc = bench("up", "--state-dir", str(mount / "state"), cwd=tmp_path, prefix=wrap)
    one_line(proc, EXIT_STATE_READ_ONLY, "read-only")


def test_an_unwritable_state_directory(tmp_path):
    """A directory owned by someone else; as root, seen from a user namespace where
    root's privileges do not reach another user's files."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not _namespaces_work():
            pytest.skip("root without user namespaces writes anywhere")
        os.chown(locked, 65534, 65534)
        prefix = ["unshare", "-r"]
    else:
        locked.chmod(0o555)
    try:
        proc = bench("up", "--state-dir", str(locked / "state"), cwd=tmp_path, prefix=prefix)
    finally:
        locked.chmod(0o755)
    one_line(proc, EXIT_STATE_NO_PERMISSION, "no permission")


def test_a_param_without_equals(tmp_path):
    proc = bench("run", "soak", "--param", "faults", cwd=tmp_path)
    one_line(proc, EXIT_USAGE, "faults", "KEY=VALUE")


def test_a_password_file_that_gives_no_password(tmp_path):
    up = ["up", "--csms", "wss://csms.example.net/ocpp", "--cp-id", "A"]
    proc = bench(*up, "--password-file", "missing.pw", cwd=tmp_path)
    one_line(proc, EXIT_SECRET, "--password-file missing.pw: no such file")
    (tmp_path / "empty.pw").write_text("\n")
    proc = bench("run", "TC_001_CS", "--dut-password-file", "empty.pw", cwd=tmp_path)
    one_line(proc, EXIT_SECRET, "--dut-password-file empty.pw: its first line is empty")


def test_an_unknown_pics(tmp_path):
    proc = bench("run", "local-rfid-session", "--pics", "seed-chargr", cwd=tmp_path)
    one_line(proc, EXIT_USAGE, "seed-chargr", "seed-charger")
    listing = bench("scenarios", "--pics", "seed-chargr", cwd=tmp_path)
    one_line(listing, EXIT_USAGE, "seed-chargr")


def test_version_and_help_for_every_option(tmp_path):
    version = bench("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("bench ")
    for command in ("up", "run", "scenarios", "user"):
        text = bench(command, "--help", cwd=tmp_path).stdout
        assert "python -m" not in text and ":func:" not in text and "``" not in text, text
        options = [line for line in text.splitlines() if line.strip().startswith("--")]
        for line in options:
            # argparse puts an option's help on its line or the next; none may be bare
            assert len(line.split()) > 1 or text.split(line, 1)[1].startswith("\n        "), line
    assert "--state-dir" in bench("up", "--help", cwd=tmp_path).stdout
    # every option and argument of every subcommand says what it is for
    from bench.cli.parser import build_parser

    bare = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif not action.help and action.dest != "help":
                bare.append(" ".join([*words, *(action.option_strings or [action.dest])]))

    walk(build_parser(), ["bench"])
    assert bare == []


def _processes_under(path: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline:
            found.append(int(proc.name))
    return found


def test_ctrl_c_during_a_run_prints_the_partial_result_exits_130_and_leaves_nothing(tmp_path):
    cases = tmp_path / "cases"  # every case's rig and agent live under here
    cases.mkdir()
    env = dict(os.environ, TMPDIR=str(cases))
    proc = subprocess.Popen(
        [
            *BENCH,
            "run",
            "remote-session",
            "both-connectors",
            "local-rfid-session",
            "--parallel",
            "1",
            "--speed",
            "1",
            "--json",
            "partial.json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # not a terminal: one plain line per event
            lines.append(line)
            if "both-connectors: started" in line:
                break
        deadline = time.monotonic() + 30
        while not _processes_under(cases):  # the running case's agent is up
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(lines) + rest
    assert proc.returncode == EXIT_INTERRUPTED, out + err
    assert "Traceback" not in out + err
    assert "#1/3 remote-session: PASS" in out  # the finished case keeps its verdict
    assert "both-connectors          error" in out
    assert "local-rfid-session       not run" in out
    assert "1 passed, 0 failed, 0 not applicable, 1 interrupted, 1 not run" in out
    assert err.strip().splitlines()[-1].startswith("bench: interrupted after 1 of 3 case(s)")
    assert (tmp_path / "partial.json").exists()
    assert _processes_under(cases) == []
    # the cases' temporary state is gone too (the agents' shared bytecode cache stays)
    left = [p for p in cases.iterdir() if not p.name.startswith("ocpp-bench-pycache-")]
    assert left == []
