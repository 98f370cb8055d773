"""A part of the connector that cannot be opened faults it with the part's error code."""

from charger.agent import commands as act
from charger.agent.connector import ConnectorLogic, Inputs
from charger.hw.interfaces import EvStatus, PowerStatus


def sample(now, fault=None, meter_ok=True):
    return Inputs(
        now=now,
        cp=None,
        ev=EvStatus(),
        power=PowerStatus(),
        power_age_s=0.1,
        meter_ok=meter_ok,
        hardware_fault=fault,
    )


def status_of(actions):
    return [(a.status, a.error_code, a.info) for a in actions if isinstance(a, act.SendStatus)]


def test_a_pilot_that_cannot_open_faults_the_connector_until_it_is_back():
    c = ConnectorLogic(1)
    assert status_of(c.tick(sample(0))) == [("Available", "NoError", None)]
    info = "pilot 1: no GPIO pin factory: no /dev/gpiochip0: not a Raspberry Pi"
    out = c.tick(sample(1, ("InternalError", info)))
    assert status_of(out) == [("Faulted", "InternalError", info[:50])]
    assert [a.duty for a in out if isinstance(a, act.SetDuty)] == [0.0]  # state F: unavailable
    assert status_of(c.tick(sample(2))) == [("Available", "NoError", None)]


def test_the_logic_own_findings_come_first():
    c = ConnectorLogic(1)
    c.tick(sample(0))
    out = c.tick(sample(1, ("InternalError", "pilot 1: gone"), meter_ok=False))
    assert status_of(out) == [("Faulted", "PowerMeterFailure", "energy meter not answering")]
