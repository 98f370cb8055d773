"""ansible/: lint, syntax, and the provisioning roles applied twice to a throwaway root.

The roles run on this machine itself (connection local) with every path under a
temporary prefix and the switches that touch the running system off (apt, user
creation, systemctl/networkctl/udevadm, reboot). The bench's wheel is built from this
checkout and installed --no-deps; its dependencies come from the test's own
environment through PYTHONPATH, so nothing is downloaded.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.rigfile import RigFile
from charger.hw.header import boot_config
from web.users import UserStore, users_file

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
INVENTORY = ANSIBLE / "inventory" / "example"
VAULT_PASSWORD = INVENTORY / "example-vault-password.txt"
RIG = "rig-a"
CSMS_PASSWORD = "ci-csms-password-0451"
CSMS_URL = "wss://csms.example.net/ocpp"
CONFIG_TXT = "# Raspberry Pi OS\ndtparam=audio=on\n\n[cm4]\notg_mode=1\n\n[all]\n"
CMDLINE_TXT = "console=serial0,115200 console=tty1 root=PARTUUID=0c7-02 rootwait\n"


class _VaultedLoader(yaml.SafeLoader):
    """YAML as the inventory has it: encrypt_string values (``!vault``) stay ciphertext."""


_VaultedLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def host_vars(rig: str) -> dict[str, Any]:
    return yaml.load((INVENTORY / "host_vars" / f"{rig}.yml").read_text(), Loader=_VaultedLoader)


def tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.is_file(), f"{name} missing: pip install -e '.[dev]'"
    return str(path)


def environment(tmp: Path) -> dict[str, str]:
    paths = sysconfig.get_paths()
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # the deps of the wheel installed --no-deps: this environment's packages
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]])),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(VAULT_PASSWORD),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
    }


def run(argv: list[str], tmp: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=ANSIBLE,
        env=environment(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def recap(output: str, host: str = RIG) -> dict[str, int]:
    line = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", output, re.MULTILINE)
    assert line, f"no PLAY RECAP line for {host}:\n{output[-3000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def changed_tasks(output: str) -> list[str]:
    """The tasks that reported a change, with their result lines."""
    task, found = "", []
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.rstrip(" *")
        elif line.lstrip().startswith("changed:"):
            found.append(f"{task}: {line.strip()}")
    return found


def test_ansible_lint_passes_the_production_profile(tmp_path) -> None:
    result = run([tool("ansible-lint"), "--profile", "production", "--offline"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Profile 'production' was required, and it passed" in output


def test_every_playbook_passes_syntax_check(tmp_path) -> None:
    playbooks = sorted(p.name for p in ANSIBLE.glob("*.yml"))
    assert {"provision.yml", "fleet.yml"} <= set(playbooks)
    for playbook in playbooks:
        result = run(
            [tool("ansible-playbook"), "--syntax-check", "-i", str(INVENTORY), playbook], tmp_path
        )
        assert result.returncode == 0, f"{playbook}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory) -> dict[str, Any]:
    """rig-a provisioned twice into a temporary root: the root and both runs' output."""
    tmp = tmp_path_factory.mktemp("provision")
    root = tmp / "root"
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(CONFIG_TXT)
    (root / "boot" / "firmware" / "cmdline.txt").write_text(CMDLINE_TXT)
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    settings = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,
        "bench_root": str(root),
        "bench_user": user,
        "bench_group": group,
        "bench_system_owner": user,
        "bench_system_group": group,
        "bench_manage_packages": False,
        "bench_manage_user": False,
        "bench_manage_services": False,
        "bench_reboot": False,
        "bench_app_python": sys.executable,
        "bench_app_install_deps": False,
        "bench_app_wheel_args": ["--no-build-isolation"],
    }
    (tmp / "settings.json").write_text(json.dumps(settings))
    # the rig's charge point password at a CSMS, vaulted as the README says
    vaulted = run(
        [tool("ansible-vault"), "encrypt_string", "--name", "bench_csms_password", CSMS_PASSWORD],
        tmp,
    )
    assert vaulted.returncode == 0, vaulted.stderr
    (tmp / "secrets.yml").write_text(vaulted.stdout + f"bench_service_csms_url: {CSMS_URL}\n")
    runs = []
    for _ in range(2):
        result = run(playbook(tmp, "provision.yml"), tmp)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        runs.append(output)
    return {"root": root, "first": runs[0], "second": runs[1], "tmp": tmp}


def playbook(tmp: Path, name: str, *extra: str) -> list[str]:
    """ansible-playbook NAME on rig-a, this machine, with the fixture's settings."""
    settings = ["-e", f"@{tmp / 'settings.json'}", "-e", f"@{tmp / 'secrets.yml'}"]
    return [tool("ansible-playbook"), "-i", str(INVENTORY), "--limit", RIG, *settings, *extra, name]


def test_a_second_provisioning_changes_nothing(provisioned) -> None:
    first, second = recap(provisioned["first"]), recap(provisioned["second"])
    assert first["changed"] > 0 and first["failed"] == 0
    changed = changed_tasks(provisioned["second"])
    assert second["changed"] == 0, "changed on the second run:\n" + "\n".join(changed)
    assert second["failed"] == 0 and second["unreachable"] == 0


def test_the_reboot_handler_runs_only_when_the_boot_files_changed(provisioned) -> None:
    handler = "RUNNING HANDLER [bench_boot : Reboot the rig]"
    assert handler in provisioned["first"]
    assert handler not in provisioned["second"]


def test_boot_configuration_turns_on_spi_uart_and_the_can_hat(provisioned) -> None:
    host = host_vars(RIG)
    boot = provisioned["root"] / "boot" / "firmware"
    config = (boot / "config.txt").read_text()
    assert config.startswith(CONFIG_TXT)  # the rest of the file is kept
    block = config[len(CONFIG_TXT) :].splitlines()
    osc, irq = host["bench_boot_can_oscillator"], host["bench_boot_can_interrupt"]
    assert block[1:5] == [
        "[all]",
        "dtparam=spi=on",
        f"dtoverlay=mcp2515-can0,oscillator={osc},interrupt={irq}",
        "enable_uart=1",
    ]
    assert block[5:-1] == host["bench_boot_extra_lines"]
    assert block[0].startswith("# BEGIN ocpp-bench") and block[-1].startswith("# END ocpp-bench")
    assert config.count("dtparam=spi=on") == 1
    cmdline = (boot / "cmdline.txt").read_text()
    assert "console=serial0" not in cmdline
    assert cmdline == "console=tty1 root=PARTUUID=0c7-02 rootwait\n"


def test_can_bitrate_and_device_names(provisioned) -> None:
    host = host_vars(RIG)
    network = provisioned["root"] / "etc" / "systemd" / "network"
    bitrate = f"BitRate={host['bench_can_bitrate']}"
    assert bitrate in (network / "80-ocpp-bench-can0.network").read_text().splitlines()
    assert "TransmitQueueLength=" in (network / "80-ocpp-bench-can0.link").read_text()
    rules = (provisioned["root"] / "etc" / "udev" / "rules.d" / "70-ocpp-bench.rules").read_text()
    adapter = host["bench_udev_links"][0]
    assert rules.splitlines()[1:] == [
        "# /dev/bench-rs485",
        f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{adapter["vendor"]}", '
        f'ATTRS{{idProduct}}=="{adapter["product"]}", ATTRS{{serial}}=="{adapter["serial"]}", '
        'SYMLINK+="bench-rs485", GROUP="dialout", MODE="0660"',
    ]


def test_rig_file_is_the_host_vars_and_loads_in_the_bench(provisioned) -> None:
    host = host_vars(RIG)
    path = provisioned["root"] / "etc" / "ocpp-bench" / "rig.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    assert data["mode"] == "real"
    assert data["hardware"]["connectors"] == host["rig_connectors"]
    assert data["hardware"]["rfid"] == host["rig_rfid"]
    assert data["hardware"]["can"] == {
        "interface": "socketcan",
        "channel": "can0",
        "bitrate": host["bench_can_bitrate"],
        "oscillator_hz": host["bench_boot_can_oscillator"],
        "interrupt_pin": host["bench_boot_can_interrupt"],
    }
    rig = RigFile.load(path)
    assert rig.hardware is not None
    assert [c.meter.device for c in rig.hardware.connectors] == ["/dev/bench-rs485"] * 2


def test_every_example_rig_has_a_rig_file_the_bench_accepts(tmp_path) -> None:
    """Rendered by the role's template from each rig's host_vars, then checked against the
    Pi header by the bench (no pin twice, PWM pins, the buses' pins reserved)."""
    template = ANSIBLE / "roles" / "bench_config" / "templates" / "rig.toml.j2"
    result = run(
        [
            tool("ansible"),
            "rigs",
            "-i",
            str(INVENTORY),
            "--playbook-dir",
            str(ANSIBLE),
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-m",
            "ansible.builtin.template",
            "-a",
            f"src={template} dest={tmp_path}/{{{{ inventory_hostname }}}}.toml mode=0644",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rigs = yaml.safe_load((INVENTORY / "hosts.yml").read_text())["rigs"]["hosts"]
    assert sorted(p.stem for p in tmp_path.glob("*.toml")) == sorted(rigs) == ["rig-a", "rig-b"]
    for name in rigs:
        host = host_vars(name)
        rig = RigFile.load(tmp_path / f"{name}.toml")
        assert rig.mode == "real" and rig.hardware is not None
        assert rig.hardware.can.oscillator_hz == host["bench_boot_can_oscillator"]
        assert [c.id for c in rig.hardware.connectors] == [c["id"] for c in host["rig_connectors"]]
        # config.txt gets what `bench wiring` says this rig file needs (bench_boot's block)
        written = {
            "dtparam=spi=on",
            f"dtoverlay=mcp2515-can0,oscillator={host['bench_boot_can_oscillator']},"
            f"interrupt={host['bench_boot_can_interrupt']}",
            "enable_uart=1",
            *host["bench_boot_extra_lines"],
        }
        needed = {line.split("#")[0].strip() for line in boot_config(rig.hardware)}
        assert needed <= written, f"{name}: config.txt lacks {sorted(needed - written)}"


def test_panel_users_get_their_vault_passwords(provisioned) -> None:
    store = UserStore(users_file(provisioned["root"] / "var" / "lib" / "ocpp-bench"))
    # the example vault's throwaway passwords (README, "A fleet of rigs")
    assert store.verify("operator", "example-operator-pw") == {
        "name": "operator",
        "role": "operator",
    }
    assert store.verify("wall", "example-viewer-pw") == {"name": "wall", "role": "viewer"}
    assert store.verify("wall", "example-operator-pw") is None
    assert "example-operator-pw" not in provisioned["first"]  # no_log


def test_the_csms_password_is_a_private_file_never_on_a_command_line(provisioned) -> None:
    config = provisioned["root"] / "etc" / "ocpp-bench"
    secret = config / "csms-password"
    assert secret.read_text() == CSMS_PASSWORD + "\n"
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.stat().st_uid == os.getuid()
    assert CSMS_PASSWORD not in provisioned["first"] + provisioned["second"]  # no_log
    unit = (provisioned["root"] / "etc" / "systemd" / "system" / "ocpp-bench.service").read_text()
    assert f"--csms {CSMS_URL} --cp-id {RIG} \\\n    --password-file {secret} \\\n" in unit
    assert CSMS_PASSWORD not in unit
    # what the unit runs reads it: bench up's own parser and password resolution
    from bench.cli.parser import build_parser
    from bench.cli.up import _remote

    command = unit.split("ExecStart=", 1)[1].split("\nRestart", 1)[0].replace("\\\n", " ")
    remote = _remote(build_parser().parse_args(command.split()[1:]))
    assert remote is not None and remote.password == CSMS_PASSWORD and remote.cp_id == RIG


def test_the_bench_runs_from_its_venv(provisioned) -> None:
    venv = provisioned["root"] / "opt" / "ocpp-bench" / "venv"
    env = environment(provisioned["tmp"])
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import bench; print(bench.__file__)"],
        cwd=provisioned["tmp"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(venv))  # the wheel, not this checkout
    usage = subprocess.run(
        [str(venv / "bin" / "bench"), "--help"],
        cwd=provisioned["tmp"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode == 0 and "report-fleet" in usage.stdout, usage.stderr


def test_the_unit_passes_systemd_analyze_verify(provisioned) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here: only this sub-check is skipped")
    unit = provisioned["root"] / "etc" / "systemd" / "system" / "ocpp-bench.service"
    text = unit.read_text()
    venv = provisioned["root"] / "opt" / "ocpp-bench" / "venv"
    assert f"ExecStart={venv}/bin/bench up --rig " in text
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    complaints = [line for line in result.stderr.splitlines() if unit.name in line]
    assert result.returncode == 0 and not complaints, result.stderr


def fleet_run(provisioned: dict[str, Any], reports: Path, *extra: str) -> tuple[str, Path]:
    """fleet.yml on the provisioned rig-a: its output and this run's report folder."""
    result = run(
        playbook(provisioned["tmp"], "fleet.yml", "-e", f"fleet_reports={reports}", *extra),
        provisioned["tmp"],
        timeout=600,
    )
    output = result.stdout + result.stderr
    stamps = sorted(p.name for p in (reports / RIG).iterdir())
    assert len(stamps) == 1, output[-4000:]
    return output, reports / RIG / stamps[0]


def test_fleet_names_the_parts_a_rig_lacks_and_fails(provisioned, tmp_path) -> None:
    """rig-a's rig file names real devices this machine lacks: bench selftest fails."""
    output, folder = fleet_run(provisioned, tmp_path)

    assert recap(output)["failed"] == 1  # the last task: a rig failed
    status = json.loads((folder / "status.json").read_text())
    assert status["selftest_rc"] == 1 and status["run_rc"] is None  # no suite on a broken rig
    parts = json.loads((folder / "selftest.json").read_text())["parts"]
    assert "meter 1" in [p["part"] for p in parts if not p["ok"]]
    summary = tmp_path / f"fleet-{folder.name}"
    fleet = json.loads((summary / "fleet.json").read_text())
    assert fleet["result"] == "Fail"
    assert "meter 1: " in fleet["rigs"][0]["problem"]
    junit = ET.parse(summary / "junit.xml").getroot()
    failed = {t.get("name") for t in junit.iter("testcase") if t.find("failure") is not None}
    assert any(name.startswith("selftest meter 1 (") for name in failed), failed


def test_fleet_runs_the_suite_and_merges_its_report(provisioned, tmp_path) -> None:
    """A simulated rig file: the self-test passes on the twins, the suite runs and comes back."""
    rig_file = tmp_path / "simulated.toml"
    rig_file.write_text('mode = "simulated"\n')
    reports = tmp_path / "reports"

    output, folder = fleet_run(
        provisioned, reports, "-e", f"bench_rig_file={rig_file}", "-e", "fleet_profile=trigger"
    )

    status = json.loads((folder / "status.json").read_text())
    assert status["selftest_rc"] == 0, output[-4000:]
    assert status["run_rc"] in (0, 1, 3), output[-4000:]
    assert {"results.json", "junit.xml", "index.html", "selftest.json"} <= {
        p.name for p in folder.iterdir()
    }
    ran = json.loads((folder / "results.json").read_text())["cases"]
    assert ran and {c["profile"] for c in ran} == {"trigger"}
    fleet = json.loads((reports / f"fleet-{folder.name}" / "fleet.json").read_text())
    assert [(r["rig"], r["selftest"], sum(r["counts"].values())) for r in fleet["rigs"]] == [
        (RIG, "pass", len(ran))
    ]
    # the playbook's own verdict follows the fleet's
    assert (recap(output)["failed"] == 0) == (fleet["result"] == "Pass"), output[-3000:]
