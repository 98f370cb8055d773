"""What every serial RFID reader shares: a reading thread, and one card's present/removed.

Each model's driver (:mod:`.driver` RDM6300, :mod:`.pn532_driver` PN532) only says how
it reads its line and when it saw which card; the events and their callback live here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from charger.hw.interfaces import TagEvent


class SerialTagReader:
    """:class:`charger.hw.interfaces.RfidReader` around a model's ``_run`` loop."""

    MODEL = "reader"  # the model's name in logs and the thread's name

    def __init__(self, device: str) -> None:
        self.device = device
        self._log = logging.getLogger(type(self).__module__)  # the model's driver logs
        self._on_event: Callable[[TagEvent], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: str | None = None  # the card in the field, as last reported

    def start(self, on_event: Callable[[TagEvent], None]) -> None:
        """Start the reading thread; ``on_event`` is called from it."""
        if self._thread is not None:
            raise RuntimeError("reader already started")
        self._on_event = on_event
        self._thread = threading.Thread(
            target=self._run, name=f"{self.MODEL.lower()} {self.device}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _run(self) -> None:
        raise NotImplementedError

    def _card(self, uid: str | None) -> None:
        """The card now in the field (None: none): a change is removed, then present."""
        if uid == self._current:
            return
        if self._current is not None:
            self._emit(TagEvent("removed", self._current))
        self._current = uid
        if uid is not None:
            self._emit(TagEvent("present", uid))

    def _emit(self, event: TagEvent) -> None:
        self._log.info("%s: %s %s", self.MODEL, event.kind, event.uid)
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:  # a faulty consumer must not kill the reader
            self._log.exception("%s: on_event callback failed for %s", self.MODEL, event)
