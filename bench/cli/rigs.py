"""``bench selftest`` and ``bench wiring``: the rig's parts checked, and drawn.

``selftest`` checks every part with the agent's own drivers (charger.hw.selftest)
against the rig file's real parts, or against freshly started twins when the rig is
simulated (what CI runs); then each vehicle-side board in a loop-back with its
connector's pilot (bench.ev.board.selftest: one board per connector when simulated).
``wiring`` validates the rig file against the Pi header (the EV boards' pins with the
charger's), prints the pin map and writes the SVG diagram (bench.wiring).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.cli.errors import EXIT_FAILED, UserError
from bench.ev.board.config import EvBoardConfig
from bench.ev.board.selftest import check_board
from bench.rigfile import RigFile
from charger.hw.config import HardwareConfig
from charger.hw.selftest import CheckResult, format_table, run_selftest

DEMO_CARD = "0A00B1C2D3"  # held to the simulated reader during its check


async def _simulated() -> list[CheckResult]:
    from bench.rig.sim import SimRig
    from charger.clock import Clock

    with tempfile.TemporaryDirectory(prefix="bench-selftest-") as root:
        rig = SimRig(Path(root), Clock.start())
        cfg = await rig.start()
        try:
            assert rig.rfid is not None
            rig.rfid.present(DEMO_CARD)
            results = await run_selftest(cfg, expect_card=DEMO_CARD)
            boards = tuple(rig.ev_board(c.id) for c in cfg.connectors)
            return results + await _boards(cfg, boards)
        finally:
            await rig.stop()


async def _boards(hardware: HardwareConfig, boards: tuple[EvBoardConfig, ...]) -> list[CheckResult]:
    by_id = {c.id: c for c in hardware.connectors}
    return [await asyncio.to_thread(check_board, b, by_id[b.connector]) for b in boards]


def selftest(
    hardware: HardwareConfig | None,
    card: str | None = None,
    boards: tuple[EvBoardConfig, ...] = (),
) -> list[CheckResult]:
    """Check every part of ``hardware`` (None: of a simulated rig started for it)."""
    if hardware is None:
        return asyncio.run(_simulated())

    async def real() -> list[CheckResult]:
        results = await run_selftest(hardware, expect_card=card)
        return results + await _boards(hardware, boards)

    return asyncio.run(real())


def cmd_selftest(args: argparse.Namespace) -> int:
    rig = RigFile.load(args.rig)
    card = args.card.strip().upper() if args.card else None
    results = selftest(rig.hardware, card, rig.ev)
    failed = [r for r in results if not r.ok]
    if args.json:
        document = {
            "rig": args.rig or "simulated",
            "ok": not failed,
            "parts": [asdict(r) for r in results],
        }
        print(json.dumps(document, indent=2))
    else:
        print(format_table(results))
        print()
        for r in failed:
            print(r.line())
        print(f"selftest: {len(results) - len(failed)} of {len(results)} parts ok", flush=True)
    return EXIT_FAILED if failed else 0


def cmd_wiring(args: argparse.Namespace) -> int:
    from bench.wiring import pin_map, write_svg

    rig = RigFile.load(args.rig)
    if rig.hardware is None:
        raise UserError(
            f"rig file {args.rig} describes a simulated rig: it has no wiring",
            'give a rig file with mode = "real" (see wiring/rig.example.toml)',
        )
    print(pin_map(rig.hardware, rig.ev))
    svg = Path(args.svg or Path(args.rig).with_suffix(".svg").name)
    write_svg(rig.hardware, svg, title=Path(args.rig).name, ev=rig.ev)
    print(f"diagram: {svg}")
    return 0


def add_subcommands(sub: argparse._SubParsersAction, parents: list) -> None:
    test = sub.add_parser(
        "selftest",
        parents=parents,
        help="check that every part of the rig answers (before anything runs)",
        description="Check each part of the rig with the agent's drivers: meters answer a "
        "Modbus read with plausible values, the power stage answers on CAN, the RFID port "
        "opens and its frames decode, each CP reads state A at +12 V with PWM off and "
        "follows a duty change, each PP reads no cable; then each vehicle-side board "
        "([[ev]]) in a loop-back with its connector's pilot (its B relay, the charger's 5 %% "
        "PWM read back, the diode relay, a PP resistor). Unplug the EVs and stop `bench up` "
        "first. Exit status 1 if a part fails. Without --rig: a simulated rig's twins.",
    )
    test.add_argument("--rig", help="rig file (default: a simulated rig)")
    test.add_argument("--json", action="store_true", help="print the results as JSON")
    test.add_argument(
        "--card",
        metavar="UID",
        help="a card held to the reader during the check: it must be read (an RDM6300 "
        "says nothing without one, so this is how its wiring is proven)",
    )
    test.set_defaults(func=cmd_selftest)
    wiring = sub.add_parser(
        "wiring",
        parents=parents,
        help="validate a rig file against the Pi header, print its pin map, draw it (SVG)",
        description="Check the rig file's pins against the Raspberry Pi 4/5 header (no pin "
        "used twice, PWM on PWM pins, bus pins reserved), print the pin map and write an "
        "SVG wiring diagram of the header, the HATs and the parts.",
    )
    wiring.add_argument("--rig", required=True, help='rig file (mode = "real")')
    wiring.add_argument("--svg", help="where to write the diagram (default: RIG-NAME.svg here)")
    wiring.set_defaults(func=cmd_wiring)
