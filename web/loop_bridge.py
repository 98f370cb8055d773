"""Panel threads (werkzeug, one per request) reaching an asyncio loop that runs elsewhere."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBridge:
    """Calls into ``loop`` from any thread and waits for the answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """``fn(*args)`` on the loop; its result or its exception, here."""
        if self.on_loop_thread():
            return fn(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout)

    def run(self, coro_fn: Callable[[], Awaitable[T]], timeout: float) -> T:
        """Await ``coro_fn()`` on the loop, up to ``timeout`` seconds (then it is cancelled)."""
        if self.on_loop_thread():
            raise RuntimeError("a blocking call made on the loop it would wait for")
        future = asyncio.run_coroutine_threadsafe(coro_fn(), self.loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the loop without waiting (from any thread)."""
        if self.on_loop_thread():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)
