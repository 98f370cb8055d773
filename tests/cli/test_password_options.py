"""Passwords without argv: ``--password-file``/``--dut-password-file``, ``$BENCH_CP_PASSWORD``/
``$BENCH_DUT_PASSWORD``, the legacy ``--password`` with its warning, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.cli.errors import EXIT_SECRET, EXIT_USAGE, UserError
from bench.cli.parser import build_parser
from bench.cli.password_options import CP_PASSWORD, DUT_PASSWORD, shown_command
from bench.cli.up import _remote

SECRET = "s3cret-pass-from-a-vault"
CSMS = ["up", "--csms", "wss://csms.example.net/ocpp", "--cp-id", "OUR-DC-7"]


@pytest.fixture(autouse=True)
def _no_ambient_passwords(monkeypatch):  # the developer's shell must not decide a test
    for option in (CP_PASSWORD, DUT_PASSWORD):
        monkeypatch.delenv(option.env, raising=False)


def secret_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "cp-password"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_bench_up_reads_the_first_line_of_the_password_file(tmp_path, capsys):
    path = secret_file(tmp_path, f"  {SECRET} \n# the second line is not read\n")
    remote = _remote(build_parser().parse_args([*CSMS, "--password-file", path]))
    assert remote is not None and remote.password == SECRET
    assert remote.security_profile() == 2
    assert capsys.readouterr().err == ""  # no warning for the quiet forms
    assert SECRET not in repr(remote)  # a log line of the settings would not show it


def test_a_password_file_others_can_read_is_used_with_a_one_line_warning(tmp_path, capsys):
    path = secret_file(tmp_path, SECRET + "\n")
    Path(path).chmod(0o644)
    remote = _remote(build_parser().parse_args([*CSMS, "--password-file", path]))
    assert remote is not None and remote.password == SECRET
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"bench: warning: --password-file {path} can be read by other users (mode 0644); "
        f"chmod 600 {path}"
    ]


def test_bench_up_takes_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_CP_PASSWORD", f"{SECRET}\n")
    remote = _remote(build_parser().parse_args(CSMS))
    assert remote is not None and remote.password == SECRET
    assert capsys.readouterr().err == ""


def test_bench_run_takes_the_dut_password_from_a_file_or_the_environment(tmp_path, monkeypatch):
    path = secret_file(tmp_path, SECRET)
    args = build_parser().parse_args(["run", "TC_001_CS", "--dut-password-file", path])
    assert DUT_PASSWORD.resolve(args) == SECRET
    monkeypatch.setenv("BENCH_DUT_PASSWORD", "from-the-environment")
    args = build_parser().parse_args(["run", "TC_001_CS"])
    assert DUT_PASSWORD.resolve(args) == "from-the-environment"
    args = build_parser().parse_args(["run", "TC_001_CS"])
    monkeypatch.delenv("BENCH_DUT_PASSWORD")
    assert DUT_PASSWORD.resolve(args) is None  # none given: --dut external makes one


def test_the_legacy_flag_still_works_and_warns_in_one_line(capsys):
    remote = _remote(build_parser().parse_args([*CSMS, "--password", SECRET]))
    assert remote is not None and remote.password == SECRET
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1, warning
    assert warning[0].startswith("bench: warning: --password ")
    assert "--password-file FILE" in warning[0] and "$BENCH_CP_PASSWORD" in warning[0]
    assert SECRET not in warning[0]


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--password", SECRET, "--password-file", "f"], False),
        (["--password-file", "f"], True),
        (["--password", SECRET], True),
    ],
)
def test_two_sources_are_refused(argv, env, monkeypatch):
    if env:
        monkeypatch.setenv("BENCH_CP_PASSWORD", SECRET)
    with pytest.raises(UserError) as refused:
        _remote(build_parser().parse_args([*CSMS, *argv]))
    assert refused.value.status == EXIT_USAGE
    assert "given 2 ways" in refused.value.line() and SECRET not in refused.value.line()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: str(tmp / "missing"), "no such file"),
        (lambda tmp: str(tmp), "cannot read it (Is a directory)"),
        (lambda tmp: secret_file(tmp, ""), "its first line is empty"),
        (lambda tmp: secret_file(tmp, "   \nsecond-line-is-not-read\n"), "its first line is empty"),
    ],
)
def test_a_file_that_gives_no_password_is_one_line_and_its_own_status(
    make, problem, tmp_path, capsys
):
    path = make(tmp_path)
    status = main(["run", "TC_001_CS", "--dut-password-file", path, "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == EXIT_SECRET == 67, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"bench: --dut-password-file {path}: {problem}; "), err


def test_a_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe\x00\x01\n")
    args = build_parser().parse_args([*CSMS, "--password-file", str(path)])
    with pytest.raises(UserError) as refused:
        _remote(args)
    assert refused.value.status == EXIT_SECRET and "not a UTF-8 text file" in refused.value.line()


def test_an_empty_variable_is_refused(monkeypatch):
    monkeypatch.setenv("BENCH_CP_PASSWORD", "  ")
    with pytest.raises(UserError) as refused:
        _remote(build_parser().parse_args(CSMS))
    assert refused.value.status == EXIT_SECRET
    assert refused.value.line().startswith("bench: $BENCH_CP_PASSWORD is set but empty; ")


def test_without_csms_a_password_file_is_a_mistake_but_the_variable_is_ambient(monkeypatch):
    with pytest.raises(UserError, match="--password-file goes with --csms"):
        _remote(build_parser().parse_args(["up", "--password-file", "f"]))
    monkeypatch.setenv("BENCH_CP_PASSWORD", SECRET)
    assert _remote(build_parser().parse_args(["up"])) is None


def test_a_recorded_command_line_never_holds_a_password():
    argv = ["run", "--dut", "wss://x/ocpp", "--dut-password", SECRET, "--dut-cp-id", "A"]
    assert shown_command(argv) == "bench run --dut wss://x/ocpp --dut-password *** --dut-cp-id A"
    assert shown_command(["up", f"--password={SECRET}", "--csms", "ws://u:pw@h/o"]) == (
        "bench up --password=*** --csms ws://u:***@h/o"
    )
    kept = ["run", "--dut-password-file", "/etc/ocpp-bench/dut-password", "TC_001_CS"]
    assert shown_command(kept) == "bench " + " ".join(kept)  # a path is no secret
