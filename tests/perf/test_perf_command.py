"""``bench perf`` runs and reports every figure it names (values are never asserted)."""

import json
import subprocess
import sys


def test_bench_perf_round_trip_reports_the_three_servers_and_their_ratios(tmp_path):
    out = tmp_path / "perf.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "perf",
            "--only",
            "roundtrip",
            "--rounds",
            "5",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text())["roundtrip"]
    assert set(figures["p50_ms"]) == {"websockets", "ocpp", "bench CSMS"}
    assert figures["ratio_to_floor"]["websockets"] == 1.0
    assert "ours / stock ocpp" in proc.stdout
