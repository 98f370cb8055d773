"""The connector state machine, fed by hand-made hardware samples."""

from dataclasses import replace

from charger.agent import commands as act
from charger.agent.connector import ConnectorLogic, Inputs
from charger.hw.interfaces import CpReading, EvStatus, HlcStage, PowerStatus

UNPLUGGED = CpReading("A", 12.0, 12.0)
PLUGGED = CpReading("B", 9.0, -12.0)
CHARGING_CP = CpReading("C", 6.0, -12.0)


def sample(now, cp=UNPLUGGED, stage=HlcStage.IDLE, closed=False, current=0.0, **kw):
    ev = EvStatus(
        stage=stage,
        target_voltage_v=400.0,
        target_current_a=kw.pop("target", 100.0),
        ev_error=kw.pop("ev_error", False),
    )
    power = PowerStatus(
        contactors_closed=closed,
        output_voltage_v=400.0 if closed else 0.0,
        output_current_a=current,
    )
    return Inputs(now=now, cp=cp, ev=ev, power=power, power_age_s=kw.pop("age", 0.1), **kw)


def statuses(actions):
    return [a.status for a in actions if isinstance(a, act.SendStatus)]


def of(actions, kind):
    return [a for a in actions if isinstance(a, kind)]


def test_plug_first_then_authorize_starts_a_transaction():
    c = ConnectorLogic(1)
    assert statuses(c.tick(sample(0))) == ["Available"]
    out = c.tick(sample(1, PLUGGED))
    assert statuses(out) == ["Preparing"]
    assert of(out, act.SetDuty)[0].duty == 0.05  # digital communication for DC
    c.authorize("TAG1", 2)
    out = c.tick(sample(2, PLUGGED))
    assert of(out, act.StartTransaction) == [act.StartTransaction(1, "TAG1")]
    assert c.tx_active and c.tx_tag == "TAG1"


def test_authorize_first_then_plug_within_connection_timeout():
    c = ConnectorLogic(1)
    c.tick(sample(0))
    c.authorize("TAG1", 0)
    assert statuses(c.tick(sample(1))) == ["Preparing"]
    out = c.tick(sample(5, PLUGGED))
    assert of(out, act.StartTransaction)


def test_connection_timeout_drops_the_authorization():
    c = ConnectorLogic(1)
    c.tick(sample(0))
    c.authorize("TAG1", 0)
    c.tick(sample(1))
    out = c.tick(sample(70), connection_timeout_s=60)
    assert statuses(out) == ["Available"]
    assert not of(c.tick(sample(71, PLUGGED)), act.StartTransaction)


def test_charging_follows_the_ev_and_limits_current():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    out = c.tick(sample(1, CHARGING_CP, HlcStage.CABLE_CHECK))
    assert of(out, act.SetContactors)[0].closed
    evse = of(out, act.SetEvse)[0].command
    assert evse.authorized and not evse.isolation_valid
    out = c.tick(sample(2, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, target=500.0))
    assert statuses(out) == ["Charging"]
    assert of(out, act.SetOutput)[0].current_a == 200.0  # the charger's max current


def test_remote_stop_brings_current_down_before_stop_transaction():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))  # commands the contactors closed
    c.tick(sample(1, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=100))
    assert c.request_stop("Remote", 2)
    out = c.tick(sample(2, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=100))
    assert not of(out, act.StopTransaction)
    assert of(out, act.SetEvse)[0].command.stop_requested
    assert of(out, act.SetOutput)[0].current_a == 0
    assert of(out, act.SetContactors)[0].closed  # never open under load
    out = c.tick(sample(2.5, PLUGGED, HlcStage.POWER_DELIVERY_STOP, closed=True, current=0.2))
    assert of(out, act.StopTransaction) == [act.StopTransaction(1, "Remote", None)]
    assert statuses(out) == ["Finishing"]
    assert statuses(c.tick(sample(3, UNPLUGGED))) == []  # one reading is not yet an unplug
    assert statuses(c.tick(sample(3.1, UNPLUGGED))) == ["Available"]


def test_unplug_during_transaction_stops_with_ev_disconnected():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    assert not of(c.tick(sample(1, UNPLUGGED)), act.StopTransaction)
    out = c.tick(sample(1.1, UNPLUGGED))
    assert of(out, act.StopTransaction)[0].reason == "EVDisconnected"
    assert not of(out, act.SetContactors)[0].closed


def test_one_stray_pilot_reading_does_not_end_the_session():
    """A single conversion without the plug (noise on the CP line) is read again; only a
    second one in a row is an unplug."""
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    for t in (1.0, 1.2, 1.4):
        assert not of(c.tick(sample(t, UNPLUGGED)), act.StopTransaction)
        assert c.plugged and c.tx_active
        c.tick(sample(t + 0.1, PLUGGED))
    assert c.tx_active and c.unplugged_readings == 0


def test_dead_meter_faults_the_connector_and_stops_charging():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    out = c.tick(
        sample(1, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=150, meter_ok=False)
    )
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "PowerMeterFailure")
    assert of(out, act.SetOutput)[0].current_a == 0  # the module goes off first
    assert of(out, act.SetContactors)[0].closed  # never break 150 A DC
    out = c.tick(
        sample(1.2, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=0.3, meter_ok=False)
    )
    assert not of(out, act.SetContactors)[0].closed  # current down: open
    assert of(out, act.StopTransaction)[0].reason == "Other"
    out = c.tick(sample(2, PLUGGED))
    assert statuses(out) == ["Finishing"]  # recovered, EV still plugged


def test_contactor_feedback_mismatch_is_a_power_switch_failure():
    c = ConnectorLogic(1)
    c.tick(sample(0))
    out = c.tick(sample(1, closed=True))  # welded: feedback closed, command open
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "PowerSwitchFailure")


def test_silent_power_stage_faults():
    c = ConnectorLogic(1)
    out = c.tick(sample(0, age=5.0))
    assert of(out, act.SendStatus)[0].error_code == "InternalError"
    assert of(out, act.SetDuty)[0].duty == 0.0  # state F


def test_status_is_only_sent_on_change():
    c = ConnectorLogic(1)
    assert statuses(c.tick(sample(0)))
    assert not statuses(c.tick(sample(1)))


def test_a_fault_does_not_look_like_an_unplug():
    """In state F the CP reads -12 V whatever the EV does; the plug is still there."""
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    out = c.tick(sample(1, PLUGGED, meter_ok=False))
    assert of(out, act.SetDuty)[0].duty == 0.0
    c.tick(sample(2, CpReading("F", -12.0, -12.0), meter_ok=False))
    assert statuses(c.tick(sample(3, PLUGGED))) == ["Preparing"]
    assert c.plugged


def test_ground_fault_opens_the_contactors_at_once():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    out = c.tick(
        sample(1, CpReading("E", 0.0, 0.0), HlcStage.CURRENT_DEMAND, closed=True, current=150)
    )
    assert of(out, act.SendStatus)[0].error_code == "GroundFailure"
    assert not of(out, act.SetContactors)[0].closed


def test_a_stuck_fault_opens_the_contactors_after_a_grace_time():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    kw = dict(closed=True, current=150, meter_ok=False)
    assert of(c.tick(sample(1, CHARGING_CP, HlcStage.CURRENT_DEMAND, **kw)), act.SetContactors)[
        0
    ].closed
    out = c.tick(sample(1.6, CHARGING_CP, HlcStage.CURRENT_DEMAND, **kw))
    assert not of(out, act.SetContactors)[0].closed


def test_ccs1_latch_press_stops_the_transaction():
    from charger.hw.interfaces import PpReading

    c = ConnectorLogic(2)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    c.tick(sample(1, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=100))
    c.tick(
        sample(
            1.1,
            CHARGING_CP,
            HlcStage.CURRENT_DEMAND,
            closed=True,
            current=100,
            pp=PpReading(2.7, True, latch_pressed=True),
        )
    )
    assert c.stopping == "Local"


def test_emergency_stop_faults_opens_at_once_and_stops_with_its_reason():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    estop = Inputs(
        now=1,
        cp=CHARGING_CP,
        ev=EvStatus(stage=HlcStage.CURRENT_DEMAND),
        power=PowerStatus(emergency_stop=True),
        power_age_s=0.1,
    )
    out = c.tick(estop)
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "OtherError")
    assert not of(out, act.SetContactors)[0].closed
    assert of(out, act.StopTransaction)[0].reason == "EmergencyStop"


def test_a_reserved_connector_waits_for_its_tag_and_the_start_redeems_it():
    c = ConnectorLogic(1)
    c.tick(sample(0))
    c.reservation = {"reservation_id": 9, "id_tag": "MINE", "parent": "GROUP"}
    assert statuses(c.tick(sample(1))) == ["Reserved"]
    assert not c.accepts("OTHER", None)
    assert c.accepts("FRIEND", "GROUP")  # same parentIdTag
    c.authorize("MINE", 2)
    out = c.tick(sample(3, PLUGGED))
    assert of(out, act.StartTransaction) == [act.StartTransaction(1, "MINE", 9)]
    assert c.reservation is None


def _charging(c):
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK))
    c.tick(sample(1, CHARGING_CP, HlcStage.CURRENT_DEMAND, closed=True, current=100))


def test_cp_shorted_to_pe_is_a_fault_not_an_unplug():
    c = ConnectorLogic(1)
    _charging(c)
    short = CpReading("E", 0.0, 0.0)
    c.tick(sample(1.1, short, HlcStage.CURRENT_DEMAND, closed=True, current=100))
    assert c.plugged and c.fault == "GroundFailure" and c.stopping == "Other"


def test_a_pp_out_of_range_faults_once_it_lasts():
    from charger.hw.interfaces import PpReading

    c = ConnectorLogic(1)
    _charging(c)
    bad = PpReading(0.6, False)  # 47 Ohm: below every window
    kw = dict(closed=True, current=100, pp=bad)
    c.tick(sample(1.1, CHARGING_CP, HlcStage.CURRENT_DEMAND, **kw))
    assert c.fault is None  # CP and PP are read apart: one odd sample is not a fault
    out = c.tick(sample(1.5, CHARGING_CP, HlcStage.CURRENT_DEMAND, **kw))
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "OtherError")
    assert c.stopping == "Other"


def test_an_open_pp_is_no_cable_not_a_fault():
    from charger.hw.interfaces import PpReading

    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED, pp=PpReading(4.45, False)))
    c.tick(sample(1, PLUGGED, pp=PpReading(4.45, False)))
    assert c.fault is None


def test_an_ev_session_given_up_mid_transaction_is_a_communication_fault():
    c = ConnectorLogic(1)
    _charging(c)
    out = c.tick(sample(1.1, CHARGING_CP, HlcStage.ERROR, closed=True, current=100, ev_error=True))
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "EVCommunicationError")
    assert c.stopping == "Other"


def test_an_ev_error_after_the_charger_stops_is_no_fault():
    c = ConnectorLogic(1)
    _charging(c)
    c.request_stop("Remote", 1.05)
    c.tick(sample(1.1, CHARGING_CP, HlcStage.ERROR, closed=True, current=100, ev_error=True))
    assert c.fault is None and c.stopping == "Remote"


def test_an_isolation_fault_in_cable_check_is_a_ground_failure_that_opens_at_once():
    c = ConnectorLogic(1)
    c.tick(sample(0, PLUGGED))
    c.authorize("T", 0)
    c.tick(sample(0.1, PLUGGED))
    c.tick(sample(0.5, CHARGING_CP, HlcStage.CABLE_CHECK, closed=True, current=1))
    i = sample(1, CHARGING_CP, HlcStage.CABLE_CHECK, closed=True, current=1)
    out = c.tick(replace(i, power=replace(i.power, isolation_fault=True)))
    status = of(out, act.SendStatus)[0]
    assert (status.status, status.error_code) == ("Faulted", "GroundFailure")
    assert not of(out, act.SetContactors)[0].closed
    assert not of(out, act.SetEvse)[0].command.isolation_valid


def test_feedback_from_before_a_power_cut_gets_the_settle_time_at_power_up():
    c = ConnectorLogic(1)
    out = c.tick(sample(100.0, closed=True))  # the first frame still says closed
    assert not [s for s in of(out, act.SendStatus) if s.status == "Faulted"]
    out = c.tick(sample(100.3, closed=False))  # it opened, as commanded
    assert not [s for s in of(out, act.SendStatus) if s.status == "Faulted"]
    c.tick(sample(100.4, closed=True))
    out = c.tick(sample(101.5, closed=True))  # closed against the command: welded
    assert c.fault == "PowerSwitchFailure"
