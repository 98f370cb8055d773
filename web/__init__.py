"""The bench's web panel: lab staff watch the rig and run scenarios from a browser.

``create_app(bench_api, config)`` builds the Flask application around one
:class:`web.bench_api.BenchApi`; ``web.serve.start_panel`` runs it next to a live
bench. ``create_operator_app(prompts, config)`` is the panel of an interactive
``bench run`` against an external charger: its operator steps, same users and login
(``web.serve.start_operator_panel``). Nothing is global: the API object and the user
store hang off the app.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from bench.security.private import kept_secret

__all__ = ["create_app", "create_operator_app"]

DEFAULTS: dict[str, Any] = {
    "STATE_DIR": None,  # the bench's state directory; the panel keeps STATE/web/
    "USERS_FILE": None,  # default STATE/web/users.json
    "SECRET_KEY": None,  # default: generated once into STATE/web/secret.key
    "SESSION_COOKIE_NAME": "bench_panel",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WS_TICK_S": 0.25,  # how often a WebSocket looks for news
    "TRUSTED_ORIGINS": (),  # extra Origins allowed to open the WebSocket (a proxy's)
    "TRACE_PAGE_LIMIT": 2000,  # frames the trace page loads at first
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "HOME_ENDPOINT": "views.rig",  # where a login leads; the operator panel's is its steps
}


def _secret_key(state_dir: Path) -> str:
    return kept_secret(
        state_dir / "web" / "secret.key", lambda: secrets.token_hex(32) + "\n"
    ).strip()


def _base_app(config: dict[str, Any] | None) -> Flask:
    """What every panel has: settings, users, login and CSRF, the security headers."""
    from web import auth
    from web.users import UserStore, users_file

    app = Flask(__name__)
    settings = {**DEFAULTS, **(config or {})}
    state_dir = settings["STATE_DIR"]
    if state_dir is None and not (settings["USERS_FILE"] and settings["SECRET_KEY"]):
        raise ValueError("create_app needs STATE_DIR (or USERS_FILE and SECRET_KEY)")
    if settings["USERS_FILE"] is None:
        settings["USERS_FILE"] = str(users_file(state_dir))
    if settings["SECRET_KEY"] is None:
        settings["SECRET_KEY"] = _secret_key(Path(state_dir))
    app.config.update(settings)
    app.extensions["bench_users"] = UserStore(settings["USERS_FILE"])
    app.json.sort_keys = False

    auth.init_app(app)
    app.register_blueprint(auth.bp)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        return response

    return app


def create_app(bench_api: Any, config: dict[str, Any] | None = None) -> Flask:
    """The panel for ``bench_api`` (a :class:`web.bench_api.BenchApi`).

    ``config`` overrides :data:`DEFAULTS`; ``STATE_DIR`` (or both ``USERS_FILE`` and
    ``SECRET_KEY``) is required.
    """
    from web import api, live, registry, views

    app = _base_app(config)
    app.extensions["bench_api"] = bench_api
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(registry.bp)
    return app


def create_operator_app(prompts: Any, config: dict[str, Any] | None = None) -> Flask:
    """The panel of an interactive run (``bench run --dut external --interactive``): the
    operator steps of ``prompts`` (a :class:`bench.scenarios.operator_prompt.OperatorPrompts`),
    for the same users as the bench's panel. ``config`` as for :func:`create_app`.
    """
    from web import operator

    # a cookie of its own: cookies ignore ports, and a browser may have the bench's
    # panel open on the same host (each app knows only its own sessions)
    own = {"HOME_ENDPOINT": "operator.steps_page", "SESSION_COOKIE_NAME": "bench_operator"}
    app = _base_app({**own, **(config or {})})
    app.extensions["operator_prompts"] = prompts
    app.register_blueprint(operator.bp)
    return app
