"""An operator hook that does the physical steps on a ``bench up`` rig, through its panel.

``bench run --role cs --dut external --operator-hook HOOK`` runs ``HOOK ACTION JSON``
whenever a case needs hands on the charger (plug an EV, present a card, cut the
power ...; the actions are listed in ``bench/scenarios/external_cs.py``). When the
charger under test is our own, run by ``bench up --csms URL`` on its (simulated) rig,
this module is that hook: it logs in to the panel as an operator and presses the
same buttons a person would::

    BENCH_PANEL_PASSWORD=... bench run --role cs --dut external --dut-cp-id CP \\
        --operator-hook "python -m bench.rig.panel_hook --panel http://127.0.0.1:8080 --user olga"

``measure`` prints ``{"power_w": W, "energy_wh": Wh}`` for the connector; every other
action prints nothing. Exit status 1 with one line on stderr when the panel refuses.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

#: action -> (panel API path, body) given the action's parameters.
ROUTES = {
    "plug": lambda p: (f"/api/rig/{int(p['connector'])}/plug", None),
    "unplug": lambda p: (f"/api/rig/{int(p['connector'])}/unplug", None),
    "ev_stop": lambda p: (f"/api/rig/{int(p['connector'])}/ev-stop", None),
    "present_card": lambda p: (
        "/api/rig/tag",
        {"uid": p["id_tag"], "hold_s": p.get("hold_s", 0.8)},
    ),
    "power_off": lambda p: ("/api/faults/power-loss", None),
    "power_on": lambda p: ("/api/faults/power-restore", None),
    "network_off": lambda p: ("/api/faults/link-cut", None),
    "network_on": lambda p: ("/api/faults/link-restore", None),
    "meter_fault": lambda p: (
        "/api/faults/meter",
        {"connector": int(p["connector"]), "fault": p.get("fault") or ""},
    ),
}


class PanelError(RuntimeError):
    """The panel refused or could not be reached (one line for the operator)."""


class Panel:
    """A logged-in session on a bench panel (cookies and CSRF token, as a browser has)."""

    def __init__(self, base: str, timeout: float = 20.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf = ""

    def _open(self, path: str, data: bytes | None = None, headers: dict | None = None) -> Any:
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            return self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except (ValueError, AttributeError):
                message = exc.reason
            raise PanelError(f"{path}: HTTP {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            raise PanelError(f"cannot reach the panel at {self.base}: {exc.reason}") from None

    def _token(self, path: str, pattern: str) -> str:
        page = self._open(path).read().decode()
        found = re.search(pattern, page)
        if not found:
            raise PanelError(f"{path}: no CSRF token on the page")
        return found.group(1)

    def login(self, user: str, password: str) -> Panel:
        token = self._token("/login", r'name="csrf_token" value="([^"]+)"')
        form = urllib.parse.urlencode(
            {"username": user, "password": password, "csrf_token": token}
        ).encode()
        self._open("/login", form)
        try:
            self.csrf = self._token("/", r'name="csrf-token" content="([^"]+)"')
        except PanelError:
            raise PanelError(f"the panel did not log {user} in (wrong password?)") from None
        return self

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        headers = {"Content-Type": "application/json", "X-CSRF-Token": self.csrf}
        return json.loads(self._open(path, data, headers).read() or b"null")

    def get(self, path: str) -> Any:
        return json.loads(self._open(path, headers={"Accept": "application/json"}).read())


def perform(panel: Panel, action: str, params: dict[str, Any]) -> Any:
    """Do ``action`` on the rig; what to print (None: nothing)."""
    if action == "measure":
        connector = str(int(params["connector"]))
        entry = panel.get("/api/snapshot")["connectors"].get(connector)
        if entry is None:
            raise PanelError(f"the rig has no connector {connector}")
        return {"power_w": entry.get("power_w"), "energy_wh": entry.get("meter_wh")}
    route = ROUTES.get(action)
    if route is None:
        raise PanelError(f"the panel cannot do {action!r} on this rig")
    path, body = route(params)
    panel.post(path, body)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rig.panel_hook", description=__doc__)
    parser.add_argument("--panel", required=True, help="the panel's URL (bench up prints it)")
    parser.add_argument("--user", required=True, help="a panel user with the operator role")
    parser.add_argument(
        "--password-env",
        default="BENCH_PANEL_PASSWORD",
        help="environment variable holding its password (default BENCH_PANEL_PASSWORD)",
    )
    parser.add_argument("action")
    parser.add_argument("params", help="the action's parameters as JSON")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        print(f"set {args.password_env} to the panel password of {args.user}", file=sys.stderr)
        return 1
    try:
        params = json.loads(args.params)
        if not isinstance(params, dict):
            raise ValueError("not an object")
        result = perform(Panel(args.panel).login(args.user, password), args.action, params)
    except (ValueError, KeyError) as exc:
        print(f"bad parameters for {args.action}: {exc}", file=sys.stderr)
        return 1
    except PanelError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if result is not None:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
