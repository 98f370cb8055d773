"""The Central System's SQLite database, split by what it stores.

``Store`` is one object over one connection (the CSMS's handlers and operations use
it as before); each module holds the rows of one kind. The schema is versioned
(``schema.py``, ``PRAGMA user_version``).
"""

from __future__ import annotations

from bench.csms.store.base import Database
from bench.csms.store.charge_points import ChargePointRows
from bench.csms.store.charging_profiles import ChargingProfileRows
from bench.csms.store.configuration import ConfigurationRows
from bench.csms.store.id_tags import IdTagRows
from bench.csms.store.local_lists import LocalListRows
from bench.csms.store.operations_log import OperationLogRows
from bench.csms.store.reservations import ReservationRows
from bench.csms.store.security import SecurityRows
from bench.csms.store.statuses import StatusRows
from bench.csms.store.transactions import TransactionRows
from bench.csms.store.transfers import TransferRows


class Store(
    ChargePointRows,
    IdTagRows,
    TransactionRows,
    StatusRows,
    OperationLogRows,
    TransferRows,
    ReservationRows,
    LocalListRows,
    ChargingProfileRows,
    ConfigurationRows,
    SecurityRows,
):
    """Typed access to the CSMS tables; each write method commits."""


__all__ = ["Database", "Store"]
