"""What a panel request can be refused with: a message and the HTTP status to answer."""

from __future__ import annotations


class BenchError(Exception):
    """A request the bench cannot carry out; ``status`` is the HTTP status to answer."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class RunBusy(BenchError):
    status = 409
