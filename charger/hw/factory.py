"""Build the agent's hardware from a :class:`HardwareConfig`.

The same drivers are built for the rig and for simulation; only the config differs
(a pty instead of /dev/ttyS0, a Modbus TCP port instead of RS-485, ``remote`` instead
of ``socketcan``, ``backend="sim"`` with a wire file instead of the Pi's GPIO).

Nothing here fails for a missing part: every part opens lazily, reports to the
:class:`HealthBoard` (``Hardware.extras["health"]``) and is retried, so a rig with a
missing device still boots, says which part is missing and how to fix it, faults the
connectors that part serves, and picks the part up when it comes back. Meters on one
bus share one :class:`ModbusLine` (one client, one lock).
"""

from __future__ import annotations

from charger.hw.can.driver import CanPowerStage
from charger.hw.config import HardwareConfig, RfidConfig
from charger.hw.health import HealthBoard
from charger.hw.interfaces import ConnectorHardware, Hardware, RfidReader
from charger.hw.meter.driver import ModbusMeter
from charger.hw.meter.line import ModbusLine
from charger.hw.pilot.driver import LazyPilot
from charger.hw.rfid.driver import Rdm6300Reader


def open_rfid(cfg: RfidConfig, health: HealthBoard) -> RfidReader:
    """The reader of ``cfg.model``; it opens its port on ``start`` and reopens it."""
    if cfg.model == "pn532":
        from charger.hw.rfid.pn532_driver import Pn532Reader

        return Pn532Reader(cfg.device, cfg.baudrate or 115200, health=health)
    return Rdm6300Reader(cfg.device, cfg.baudrate or 9600, cfg.removal_silence_s, health=health)


def open_hardware(cfg: HardwareConfig, health: HealthBoard | None = None) -> Hardware:
    """Drivers for every part in ``cfg``; close them with :func:`close_hardware`."""
    health = health or HealthBoard()
    lines: dict[str, ModbusLine] = {}
    connectors: dict[int, ConnectorHardware] = {}
    for c in cfg.connectors:
        line = lines.setdefault(c.meter.line(), ModbusLine(c.meter))
        pilot = LazyPilot(c.pilot, c.standard, c.id, health)
        pilot.open()  # report a missing pin factory now, not at the first tick
        connectors[c.id] = ConnectorHardware(
            connector_id=c.id,
            standard=c.standard,
            meter=ModbusMeter(c.meter, line=line, health=health, connector=c.id),
            pilot=pilot,
        )
    power = CanPowerStage(cfg.can, connectors=[c.id for c in cfg.connectors], health=health)
    rfid = open_rfid(cfg.rfid, health)
    return Hardware(
        connectors=connectors,
        power=power,
        rfid=rfid,
        extras={"config": cfg, "health": health, "lines": lines},
    )


async def close_hardware(hw: Hardware) -> None:
    """Close every part, best effort, in reverse order of dependence."""
    hw.rfid.close()
    await hw.power.close()
    for c in hw.connectors.values():
        await c.meter.close()
        c.pilot.close()
