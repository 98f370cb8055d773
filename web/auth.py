"""Login, roles and CSRF.

* Every page, API call and the WebSocket need a logged-in user (``/login`` and the
  static files excepted): pages redirect to the login form, the API answers 401.
* Every state-changing request (POST, PUT, PATCH, DELETE, the login form included)
  carries the session's CSRF token, in the ``X-CSRF-Token`` header or a
  ``csrf_token`` form field: missing is 400, wrong is 403. WebSocket commands carry
  it as their ``csrf`` field (checked in ``web.live``), and the WebSocket handshake
  must come from the panel's own origin.
* Operators may change things; a viewer's state-changing request is 403.
* Sessions are also known server-side (:class:`LiveSessions`): logging out ends the
  session for every copy of its cookie, not only in the browser that logged out.
* Failed logins wait before their answer, longer with every failure from the same address
  or for the same user (:class:`bench.security.backoff.Backoff`); the right password is
  never refused, so nobody can lock a user out.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from bench.security.backoff import Backoff

bp = Blueprint("auth", __name__)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
PUBLIC_ENDPOINTS = ("auth.login", "static")


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(given: Any) -> int | None:
    """None if ``given`` is this session's token; else the HTTP status to refuse with."""
    expected = session.get("csrf")
    if not given or not isinstance(given, str):
        return 400
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return 403
    return None


def current_user() -> dict[str, Any] | None:
    return g.get("user")


def is_operator() -> bool:
    user = current_user()
    return bool(user and user["role"] == "operator")


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/ws")) or request.is_json


def _refuse(status: int, message: str):
    if wants_json():
        response = jsonify({"error": message})
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status


def operator_required(view):
    """The view changes the bench: viewers get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_operator():
            return _refuse(403, "operators only: a viewer may watch but not change the bench")
        return view(*args, **kwargs)

    return wrapped


def same_origin() -> bool:
    """The request's Origin (if any) is the panel itself or a configured trusted one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    trusted = set(current_app.config.get("TRUSTED_ORIGINS") or ())
    if origin in trusted:
        return True
    return urlsplit(origin).netloc == request.host


class LiveSessions:
    """The ids of the sessions that are logged in (in memory: a restart logs out)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def begin(self) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._ids.add(sid)
        return sid

    def alive(self, sid: Any) -> bool:
        with self._lock:
            return isinstance(sid, str) and sid in self._ids

    def end(self, sid: Any) -> None:
        with self._lock:
            self._ids.discard(sid)


def init_app(app: Flask) -> None:
    app.extensions["bench_sessions"] = LiveSessions()
    app.extensions.setdefault("bench_login_backoff", Backoff())
    app.config.setdefault("LOGIN_SLEEP", time.sleep)

    @app.before_request
    def gatekeeper():
        g.user = None
        name = session.get("user")
        if name and not app.extensions["bench_sessions"].alive(session.get("sid")):
            session.pop("user", None)  # logged out (maybe elsewhere): the cookie is void
            name = None
        if name:
            g.user = current_app.extensions["bench_users"].get(name)
            if g.user is None:  # removed or its role is gone
                session.pop("user", None)
        if request.endpoint in PUBLIC_ENDPOINTS:
            if request.method in UNSAFE:
                return _csrf_gate()
            return None
        if g.user is None:
            if wants_json() or request.method in UNSAFE:
                return _refuse(401, "log in first")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if request.path.startswith("/ws") and not same_origin():
            return _refuse(403, "the WebSocket must be opened from the panel's own pages")
        if request.method in UNSAFE:
            return _csrf_gate()
        return None

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "csrf_token": csrf_token,
            "user": current_user(),
            "is_operator": is_operator(),
            "home_url": url_for(current_app.config["HOME_ENDPOINT"]),
            "operator_panel": "operator_prompts" in current_app.extensions,
        }


def _csrf_gate():
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    status = check_csrf(given)
    if status == 400:
        return _refuse(400, "CSRF token missing: reload the page")
    if status == 403:
        return _refuse(403, "CSRF token wrong: reload the page")
    return None


#: What browsers drop from a URL before reading it (WHATWG URL: tab, LF, CR) and the
#: rest of the C0 controls and space: ``/\t/evil.example/`` becomes ``//evil.example/``.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this panel, else the home page (the rig's)."""
    if (
        target
        and not _CONTROL.search(target)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not urlsplit(target).netloc
        and not urlsplit(target).scheme
    ):
        return target
    return url_for(current_app.config["HOME_ENDPOINT"])


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        name = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = current_app.extensions["bench_users"].verify(name, password)
        if user is not None:
            target = _safe_next(request.form.get("next"))
            session.clear()
            session["user"] = user["name"]
            session["sid"] = current_app.extensions["bench_sessions"].begin()
            session["csrf"] = secrets.token_urlsafe(32)  # a fresh token for the new session
            activity = current_app.extensions.get("bench_api")  # the operator panel has none
            if activity is not None:
                activity.note(user["name"], "logged in")
            return redirect(target)
        delay = current_app.extensions["bench_login_backoff"].failed(
            ("src", request.remote_addr or "?"), ("user", name.lower())
        )
        if delay > 0:
            current_app.config["LOGIN_SLEEP"](delay)  # this request's thread only
        error = "wrong user name or password"
        status = 401
    no_users = not current_app.extensions["bench_users"].names()
    return (
        render_template(
            "login.html",
            error=error,
            next=request.values.get("next", ""),
            no_users=no_users,
        ),
        status,
    )


@bp.route("/logout", methods=["POST"])
def logout():
    current_app.extensions["bench_sessions"].end(session.get("sid"))
    session.clear()
    return redirect(url_for("auth.login"))
