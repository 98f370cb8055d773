"""``bench csms``: operate a running bench's Central System through its HTTP API.

    bench csms Reset --cp BENCH-CP-001 type=Hard
    bench csms reserve_now --cp BENCH-CP-001 connectorId=1 idTag=0A00B1C2D3 expiresIn=600
    bench csms UpdateFirmware --cp BENCH-CP-001 firmware=fw-1.2.bin
    bench csms SetChargingProfile --cp BENCH-CP-001 connectorId=1 csChargingProfiles=@p.json
    bench csms transactions --open
    bench csms firmware-rollout

ACTION is an OCPP action (``ReserveNow``, or ``reserve_now``), a read: ``status``,
``charge-points``, ``transactions``, ``meter-values``, ``reservations``,
``firmware-rollout``, ``firmware``, ``diagnostics``, ``security`` (``--cp``),
``openapi``, ``actions``; or a registry command: ``add-cp ID [--profile N]
[--password-file F]`` (prints a generated password once), ``set-password ID``,
``set-profile ID --profile N``, ``remove-cp ID``, ``import-cps FILE.csv [--out
creds.csv]``, ``registry``, ``add-tag TAG [--status S] [--expiry T] [--parent P]``,
``remove-tag TAG``, ``tags``, ``add-firmware FILE``.
Fields are ``key=value`` (camelCase or snake_case); a value is taken by the field's
type in the OCPP schema (strings stay strings, ``key=A,B`` makes a list of strings,
objects and lists are JSON, ``key=@file.json`` reads a file). The API is found in
``--api``, ``$BENCH_CSMS_API``, ``STATE/csms/api.json`` (``--state-dir``), or
``http://127.0.0.1:9001``, in that order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.csms import registry_cli
from bench.csms.openapi import request_schema
from bench.csms.operations import OPERATIONS, UnknownOperation, operation

DEFAULT_API = "http://127.0.0.1:9001"
READS = {
    "status": "/api/status",
    "charge-points": "/api/charge-points",
    "transactions": "/api/transactions",
    "meter-values": "/api/meter-values",
    "reservations": "/api/reservations",
    "firmware-rollout": "/api/firmware-rollout",
    "firmware": "/api/firmware",
    "diagnostics": "/api/diagnostics",
    "openapi": "/api/openapi.json",
}


def add_subcommands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``csms`` to ``bench``'s subcommands; it sets ``func`` (returns an exit code)."""
    parser = subparsers.add_parser(
        "csms",
        help="operate the running bench's Central System (bench up) through its HTTP API",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", help="an OCPP action, or a read (see above); 'actions' lists")
    parser.add_argument(
        "rest", nargs=argparse.REMAINDER, metavar="key=value", help="request fields and options"
    )
    _options(parser)
    parser.set_defaults(func=run)
    return parser


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cp", help="the charge point id (operations; filters reads)")
    parser.add_argument("--api", help="the API's base URL")
    parser.add_argument("--token", help="bearer token (else $BENCH_CSMS_API_TOKEN or api.json)")
    parser.add_argument("--state-dir", help="the bench's state directory (default bench-state)")
    parser.add_argument("--json", dest="body", help="the whole request payload as a JSON object")
    parser.add_argument("--open", action="store_true", help="transactions: only running ones")
    parser.add_argument("--active", action="store_true", help="reservations: only active ones")
    parser.add_argument("--transaction-id", type=int, help="meter-values of one transaction")
    parser.add_argument("--timeout", type=float, help="HTTP timeout (s), default 120")
    registry_cli.add_options(parser)


def _merge(args: argparse.Namespace) -> argparse.Namespace:
    """Options may come before or after ACTION and among the key=value fields."""
    inner = argparse.ArgumentParser(prog=f"bench csms {args.action}")
    _options(inner)
    inner.add_argument("fields", nargs="*")
    rest = inner.parse_intermixed_args(args.rest)
    for name, value in vars(rest).items():
        if value not in (None, False) or not hasattr(args, name):
            setattr(args, name, value)
    args.state_dir = args.state_dir or "bench-state"
    args.timeout = args.timeout or 120.0
    return args


def run(args: argparse.Namespace) -> int:
    args = _merge(args)
    if args.action == "actions":
        for op in OPERATIONS.values():
            print(f"{op.action:24} {op.method:24} {op.summary}")
        return 0
    base, token = _locate(args)
    try:
        if args.action in registry_cli.COMMANDS:
            status, body = registry_cli.run(args, base, token, _http)
            if status < 400:
                registry_cli.show(args.action, body)
                return 0
        elif args.action == "security":
            if not args.cp:
                print("bench csms security: --cp CHARGE_POINT_ID is required", file=sys.stderr)
                return 2
            path = f"/api/charge-points/{quote(args.cp, safe='')}/security"
            status, body = _http("GET", base + path, token, None, None, args.timeout)
        elif args.action in READS:
            query = {"cp_id": args.cp, "transaction_id": args.transaction_id}
            if args.open:
                query["open"] = "true"
            if args.active:
                query["active"] = "true"
            status, body = _http("GET", base + READS[args.action], token, None, query, args.timeout)
        else:
            try:
                op = operation(args.action)
            except UnknownOperation as exc:
                print(f"bench csms: {exc}; or a read: {', '.join(READS)}", file=sys.stderr)
                return 2
            if not args.cp:
                print(f"bench csms {op.action}: --cp CHARGE_POINT_ID is required", file=sys.stderr)
                return 2
            payload = parse_fields(op.action, args.fields, args.body)
            path = f"/api/charge-points/{quote(args.cp, safe='')}/operations/{op.action}"
            status, body = _http("POST", base + path, token, payload, None, args.timeout)
    except urllib.error.URLError as exc:
        print(
            f"bench csms: cannot reach the Central System's API at {base}: {exc.reason} "
            "(is `bench up` running? --api / --state-dir)",
            file=sys.stderr,
        )
        return 1
    except (ValueError, OSError) as exc:
        print(f"bench csms: {exc}", file=sys.stderr)
        return 2
    if status >= 400:
        message = body.get("message") if isinstance(body, dict) else body
        print(f"bench csms: HTTP {status}: {message}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2))
    return 0


def parse_fields(action: str, fields: list[str], body: str | None = None) -> dict[str, Any]:
    """The request payload from ``key=value`` words, typed by the action's schema."""
    op = operation(action)
    payload: dict[str, Any] = {}
    if body:
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise ValueError("--json must be a JSON object")
        payload.update(loaded)
    properties = request_schema(op).get("properties", {})
    for word in fields:
        if "=" not in word:
            raise ValueError(f"{word!r} is not key=value")
        key, raw = word.split("=", 1)
        key = _camel(key)
        if key not in properties:
            raise ValueError(f"{op.action} has no field {key!r}; fields: {', '.join(properties)}")
        payload[key] = _typed(raw, properties[key], key)
    return payload


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _typed(raw: str, schema: dict[str, Any], key: str) -> Any:
    if raw.startswith("@"):
        return json.loads(Path(raw[1:]).read_text())
    kind = schema.get("type")
    try:
        if kind == "string":
            return raw
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if kind == "array" and schema.get("items", {}).get("type") == "string":
            if raw.startswith("["):
                return json.loads(raw)
            return [part for part in raw.split(",") if part]
        return json.loads(raw)
    except (ValueError, json.JSONDecodeError):
        raise ValueError(f"{key}={raw!r} is not a valid {kind}") from None


def _locate(args: argparse.Namespace) -> tuple[str, str | None]:
    token = args.token or os.environ.get("BENCH_CSMS_API_TOKEN")
    base = args.api or os.environ.get("BENCH_CSMS_API")
    info_file = Path(args.state_dir) / "csms" / "api.json"
    if info_file.exists():
        try:
            info = json.loads(info_file.read_text())
        except (OSError, json.JSONDecodeError):
            info = {}
        if base is None:
            base = info.get("url")
        if token is None and (base is None or base == info.get("url")):
            token = info.get("token")
    return (base or DEFAULT_API).rstrip("/"), token


def _http(
    method: str,
    url: str,
    token: str | None,
    payload: dict[str, Any] | None,
    query: dict[str, Any] | None,
    timeout: float,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    if query:
        clean = {k: v for k, v in query.items() if v is not None}
        if clean:
            url += "?" + urlencode(clean)
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw
        headers["Content-Type"] = "application/octet-stream"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the bench's own API
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        text = exc.read()
        try:
            return exc.code, json.loads(text)
        except json.JSONDecodeError:
            return exc.code, text.decode(errors="replace")
