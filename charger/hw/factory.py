"""Build the agent's hardware from a :class:`HardwareConfig`.

The same drivers are built for the rig and for simulation; only the config differs
(a pty instead of /dev/ttyS0, a Modbus TCP port instead of RS-485, ``remote`` instead
of ``socketcan``, ``backend="sim"`` with a wire file instead of the Pi's GPIO).
Nothing here touches the network: the meter connects on its first read and the power
stage on ``await hardware.power.start()``; the RFID reader opens its port on ``start``.
"""

from __future__ import annotations

from charger.hw.can.driver import CanPowerStage
from charger.hw.config import HardwareConfig
from charger.hw.interfaces import ConnectorHardware, Hardware
from charger.hw.meter.driver import ModbusMeter
from charger.hw.pilot.driver import open_pilot
from charger.hw.rfid.driver import Rdm6300Reader


def open_hardware(cfg: HardwareConfig) -> Hardware:
    """Real drivers for every part in ``cfg``; close pilots/meters/power/rfid when done."""
    connectors: dict[int, ConnectorHardware] = {}
    try:
        for c in cfg.connectors:
            connectors[c.id] = ConnectorHardware(
                connector_id=c.id,
                standard=c.standard,
                meter=ModbusMeter(c.meter),
                pilot=open_pilot(c.pilot, c.standard),
            )
    except Exception:
        for done in connectors.values():
            done.pilot.close()
        raise
    power = CanPowerStage(cfg.can, connectors=[c.id for c in cfg.connectors])
    rfid = Rdm6300Reader(cfg.rfid.device, cfg.rfid.baudrate, cfg.rfid.removal_silence_s)
    return Hardware(connectors=connectors, power=power, rfid=rfid, extras={"config": cfg})


async def close_hardware(hw: Hardware) -> None:
    """Close every part, best effort, in reverse order of dependence."""
    hw.rfid.close()
    await hw.power.close()
    for c in hw.connectors.values():
        await c.meter.close()
        c.pilot.close()
