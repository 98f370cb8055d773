"""The bench as a charge point, for the ``_CSMS`` cases: the device under test is a CSMS.

* ``charge_point`` - :class:`SimChargePoint`, an OCPP 1.6-J charge point on
  :class:`charger.protocol.link.Link`. It sends what a case tells it to (``request``) and
  answers every CALL from the Central System: with the answer a case scripted for that
  action, or else with a sane default (its own configuration keys, connectors and
  transactions).
* ``operators`` - :class:`Operator`, what a lab operator does at the Central System's
  console during a case ("make the CSMS send RemoteStartTransaction"), one method per
  operation of the CSMS's operation table. For our own CSMS (the local DUT) that is its
  Python API; for an external DUT it is an operator hook, and without one the case ends
  with verdict *error* saying which action was needed.
* ``rig`` / ``handle`` - :class:`CsmsBench`, what the runner starts per case, and
  :class:`CsmsHandle`, the handle a case drives: ``send``/``answer``/``expect_call``,
  the OCTT reusable states (``booted``, ``authorized``, ``charging``) and ``t.operator``.

Every frame the charge point's link sees goes into ``CsmsBench.trace`` as
``{ts, sender, message_type, unique_id, action, payload}``: ``sender`` is ``"dut"`` for
frames from the Central System, ``ts`` the simulated Unix time of the bench clock, and
payloads are as on the wire. Timestamps the charge point sends carry milliseconds.
"""

from bench.scenarios.csms_role.charge_point import NO_ANSWER, CpConfig, IdTags, SimChargePoint
from bench.scenarios.csms_role.handle import CsmsHandle, parse_ocpp_time
from bench.scenarios.csms_role.operators import (
    ExternalOperator,
    LocalOperator,
    Operator,
    OperatorActionUnavailable,
    OperatorHook,
    OperatorRequest,
    command_hook,
)
from bench.scenarios.csms_role.rig import CsmsBench

__all__ = [
    "NO_ANSWER",
    "CpConfig",
    "CsmsBench",
    "CsmsHandle",
    "ExternalOperator",
    "IdTags",
    "LocalOperator",
    "Operator",
    "OperatorActionUnavailable",
    "OperatorHook",
    "OperatorRequest",
    "SimChargePoint",
    "command_hook",
    "parse_ocpp_time",
]
