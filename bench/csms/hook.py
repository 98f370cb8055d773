"""An operator hook that drives our Central System through its HTTP API.

``bench run --role csms --dut URL --operator-hook HOOK`` runs ``HOOK ACTION JSON`` for
every operator action a case needs (``bench.scenarios.csms_role.command_hook``).
With this module as the hook, the cases run against our CSMS seen from outside -
over its OCPP URL and its HTTP API, as from a second machine::

    bench run --role csms --dut wss://bench-host:9000/ocpp/ --dut-cp-id CP --dut-password PW \\
        --dut-ca ca.pem \\
        --operator-hook "python -m bench.csms.hook --api http://bench-host:9001 --token T"

It prints the charge point's response (as on the wire) for the case to check, or
``{"callError": CODE}``; it exits 1 with the API's message on any other error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
from typing import Any
from urllib.parse import quote

from bench.csms.cli import _http, _locate
from bench.csms.operations import UnknownOperation, _wire, operation

#: Operator parameter names that are not the wire field's snake_case.
RENAMES = {
    "get_configuration": {"keys": "key"},
    "reset": {"kind": "type"},
    "change_availability": {"kind": "type"},
    "set_charging_profile": {"charging_profile": "cs_charging_profiles"},
}


def payload_for(action: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(OCPP action, wire payload) for an operator action and its JSON parameters."""
    params = {k: v for k, v in params.items() if k != "cp_id" and v is not None}
    if action == "call":
        return params["action"], params.get("payload") or {}
    op = operation(action)
    renames = RENAMES.get(op.method, {})
    return op.action, _wire(**{renames.get(k, k): v for k, v in params.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.csms.hook", description=__doc__)
    parser.add_argument("--api", help="the CSMS API's base URL")
    parser.add_argument("--token", help="bearer token")
    parser.add_argument("--state-dir", default=os.environ.get("BENCH_STATE_DIR", "bench-state"))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("action")
    parser.add_argument("params", help="the operator action's parameters as JSON")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    base, token = _locate(args)
    try:
        action, payload = payload_for(args.action, params)
    except UnknownOperation as exc:
        print(f"operator action {args.action} is not supported: {exc}", file=sys.stderr)
        return 1
    cp_id = params.get("cp_id")
    if not cp_id:
        print("the parameters name no cp_id", file=sys.stderr)
        return 1
    url = f"{base}/api/charge-points/{quote(cp_id, safe='')}/operations/{action}"
    try:
        status, body = _http("POST", url, token, payload, None, args.timeout)
    except urllib.error.URLError as exc:
        print(f"cannot reach the CSMS API at {base}: {exc.reason}", file=sys.stderr)
        return 1
    if status == 502 and isinstance(body, dict) and body.get("code"):
        print(json.dumps({"callError": body["code"]}))
        return 0
    if status != 200:
        message = body.get("message") if isinstance(body, dict) else body
        print(f"HTTP {status}: {message}", file=sys.stderr)
        return 1
    print(json.dumps(body["response"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
