"""Run the panel next to a live bench: ``start_panel(system, loop, state_dir)``; the
operator steps of an interactive ``bench run``: ``start_operator_panel(prompts, ...)``.

The Flask app runs in werkzeug's threaded server on a background thread; the bench
keeps its asyncio loop. ``bench up`` calls :func:`start_panel` after
``system.start()`` and the returned ``stop`` before ``system.stop()``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from web import create_app, create_operator_app
from web.bench_api import BenchApi
from web.users import UserStore, users_file

log = logging.getLogger("web.serve")


def start_panel(
    bench_system: Any,
    loop: asyncio.AbstractEventLoop,
    state_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    config: dict[str, Any] | None = None,
    default_speed: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve the panel for ``bench_system`` (running on ``loop``); returns (url, stop).

    ``port`` 0 picks a free port; with ``ssl_context`` it serves HTTPS and the session
    cookie gets the Secure flag. ``stop()`` may be called from any thread, the
    bench's loop included: it never waits on that loop. A run still going on is
    stopped and ``stop()`` waits (up to a minute) until its rigs and agents are down;
    runs have an event loop of their own (:mod:`web.run_executor`).
    """
    state_dir = Path(state_dir)
    speed = default_speed if default_speed is not None else bench_system.clock.speed
    api = BenchApi(bench_system, loop, state_dir, default_speed=speed).start()
    secure = {"SESSION_COOKIE_SECURE": True} if ssl_context is not None else {}
    app = create_app(api, {"STATE_DIR": str(state_dir), **secure, **(config or {})})
    try:
        return _serve(app, state_dir, host, port, ssl_context, before_stop=api.close)
    except BaseException:
        api.close()
        raise


def start_operator_panel(
    prompts: Any,
    state_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    config: dict[str, Any] | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve the operator steps of an interactive ``bench run`` (``prompts``, a
    :class:`bench.scenarios.operator_prompt.OperatorPrompts`); returns (url, stop).

    The users are the bench panel's (``STATE/web/users.json``). ``stop()`` closes the
    prompts first, which ends the pages' WebSockets. A port in use raises OSError."""
    state_dir = Path(state_dir)
    app = create_operator_app(prompts, {"STATE_DIR": str(state_dir), **(config or {})})
    return _serve(app, state_dir, host, port, None, before_stop=prompts.close)


def _serve(
    app: Any,
    state_dir: Path,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    before_stop: Callable[[], None],
) -> tuple[str, Callable[[], None]]:
    """``app`` on werkzeug's threaded server, on a thread of its own; (url, stop)."""
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench panel", daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if ssl_context is not None else "http"
    url = f"{scheme}://{shown}:{server.server_port}/"
    if not UserStore(users_file(state_dir)).names():
        log.warning(
            "the panel has no users yet: add one with `bench user add NAME --role operator`"
        )
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        before_stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return url, stop
