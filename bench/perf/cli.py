"""``bench perf``: run the measurements and print each figure with its baseline and ratio."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

PARTS = ("roundtrip", "agent", "scale", "suite")


def add_perf(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    perf = sub.add_parser(
        "perf",
        parents=parents,
        help="measure the bench's and the agent's speed (ratios measured in one run)",
        description="Measure, in one run, each figure of docs/performance.md with its "
        "baseline. Takes minutes; never part of the tests.",
    )
    perf.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only these parts (repeatable; default: all but suite)",
    )
    perf.add_argument("--cps", type=int, default=500, help="charge points in the fleet test")
    perf.add_argument(
        "--steady",
        type=float,
        help="seconds the fleet runs after its ramp, RSS sampled all along (default 10)",
    )
    perf.add_argument("--rounds", type=int, default=200, help="round trips per batch")
    perf.add_argument("--json", type=Path, help="also write the figures to this file")
    perf.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.perf import agent, roundtrip, scale, suite

    parts = args.only or ["roundtrip", "agent", "scale"]
    figures: dict[str, Any] = {}
    if "roundtrip" in parts:
        figures["roundtrip"] = r = asyncio.run(roundtrip.measure(rounds=args.rounds))
        for name, ms in r["p50_ms"].items():
            print(
                f"round trip p50  {name:12} {ms:8.3f} ms  {r['ratio_to_floor'][name]:5.2f}x floor"
            )
        print(f"round trip      ours / stock ocpp        {r['ours_to_stock_ocpp']:5.2f}x")
    if "agent" in parts:
        figures["agent"] = a = asyncio.run(agent.measure())
        print(f"agent idle CPU                {a['agent_idle_cpu_percent']:6.2f} % of a core")
        print(f"bench idle CPU (twins, CSMS)  {a['bench_idle_cpu_percent']:6.2f} % of a core")
        print(f"agent start -> BootNotification {a['agent_start_to_boot_notification_s']:6.2f} s")
        print(f"TriggerMessage -> message p50   {a['trigger_to_message_p50_ms']:6.2f} ms")
    if "scale" in parts:
        figures["scale"] = s = asyncio.run(scale.measure(args.cps, steady_s=args.steady))
        print(
            f"fleet of {s['charge_points']}: {s['accepted_within_ramp']} in within the ramp; "
            f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms; "
            f"CSMS {s['csms_cpu_percent']:.0f} % CPU, {s['csms_rss_mb']:.0f} MB "
            f"(the fleet itself {s['fleet_cpu_percent']:.0f} % CPU); "
            f"{s['accepted_within_30s_of_restart']} Accepted within 30 s of a restart; "
            f"failed handshakes {s['failed_handshakes'] or 'none'}"
        )
        print(
            f"CSMS RSS {s['csms_rss_after_ramp_mb']:.0f} MB after the ramp -> "
            f"{s['csms_rss_mb']:.0f} MB after {s['steady_s']:.0f} s steady "
            f"({s['csms_rss_growth_mb_per_min']:+.1f} MB/min); over time (s, MB): "
            + " ".join(f"{t:.0f}:{mb:.0f}" for t, mb in s["csms_rss_mb_over_time"])
        )
    if "suite" in parts:
        figures["suite"] = c = suite.measure()
        print(
            f"suite {c['selection']}: {c['wall_s']:.1f} s wall, {c['cpu_s']:.1f} s CPU, "
            f"{c['verdicts']}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0
