"""The firmware is a package of its own: it imports nothing from the bench."""

import ast
import subprocess
import sys
from pathlib import Path

import charger

FIRMWARE = Path(charger.__file__).parent
FOREIGN = ("bench", "web", "firmware_image", "tests")


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
    return found


def test_no_firmware_module_names_the_bench():
    offenders = {
        f"{path.relative_to(FIRMWARE.parent)}: {name}"
        for path in FIRMWARE.rglob("*.py")
        for name in _imported(path)
        if name.split(".")[0] in FOREIGN
    }
    assert not offenders, sorted(offenders)


def test_running_the_firmware_loads_no_bench_module():
    probe = (
        "import sys, charger.__main__, charger.hw.factory, charger.agent.features.firmware;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FOREIGN!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", probe], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
