"""``bench csms`` registry commands: charge points, passwords, idTags, firmware.

    bench csms add-cp CP-0001 [--profile 2] [--password-file F]   a generated password: printed once
    bench csms set-password CP-0001 [--password-file F]        a new one (generated: printed once)
    bench csms set-profile CP-0001 --profile 3               the profile it must connect with
    bench csms remove-cp CP-0001
    bench csms import-cps chargers.csv [--out creds.csv]      header id[,profile][,password]
    bench csms registry                                      charge points and profiles
    bench csms add-tag TAG [--status Accepted] [--expiry 2030-01-01T00:00:00Z] [--parent P]
    bench csms remove-tag TAG
    bench csms tags
    bench csms add-firmware fw-2.0.bin [--name NAME]         into the FTP store

They call the running CSMS's HTTP API like every ``bench csms`` command. A chosen
password comes from ``--password-file F`` or ``$BENCH_CSMS_CP_PASSWORD`` (``--password P``
still works, with a warning: other users see it in ``ps``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.cli.password_options import CHOSEN_PASSWORD
from bench.security.private import write_private

COMMANDS = (
    "add-cp",
    "set-password",
    "set-profile",
    "remove-cp",
    "import-cps",
    "registry",
    "add-tag",
    "remove-tag",
    "tags",
    "add-firmware",
)
ONE_ARGUMENT = {
    "add-cp": "ID",
    "set-password": "ID",
    "set-profile": "ID",
    "remove-cp": "ID",
    "import-cps": "FILE.csv",
    "add-tag": "TAG",
    "remove-tag": "TAG",
    "add-firmware": "FILE",
}


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", type=int, choices=(1, 2, 3), help="security profile")
    CHOSEN_PASSWORD.add_arguments(parser, "add-cp, set-password")
    parser.add_argument("--out", help="import-cps: write the generated passwords here (0600)")
    parser.add_argument("--status", help="add-tag: Accepted (default), Blocked, Expired, Invalid")
    parser.add_argument("--expiry", help="add-tag: expiry date-time")
    parser.add_argument("--parent", help="add-tag: parent idTag")
    parser.add_argument("--name", help="add-firmware: the name in the store")


def run(args: argparse.Namespace, base: str, token: str | None, http: Any) -> tuple[int, Any]:
    """(HTTP status, body) of the command; ValueError for a bad command line."""
    words = list(args.fields)
    wanted = ONE_ARGUMENT.get(args.action)
    if wanted is not None and len(words) != 1:
        raise ValueError(f"bench csms {args.action} takes one {wanted}")
    arg = words[0] if words else ""

    def call(method: str, path: str, payload: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return http(
            method,
            base + path,
            token,
            payload,
            kwargs.get("query"),
            args.timeout,
            **{k: v for k, v in kwargs.items() if k != "query"},
        )

    cp = f"/api/charge-points/{quote(arg, safe='')}"
    if args.action == "add-cp":
        body = {"id": arg, "profile": args.profile, "password": CHOSEN_PASSWORD.resolve(args)}
        return call("POST", "/api/charge-points", {k: v for k, v in body.items() if v})
    if args.action == "set-password":
        password = CHOSEN_PASSWORD.resolve(args)
        return call("POST", f"{cp}/password", {"password": password} if password else {})
    if args.action == "set-profile":
        if args.profile is None:
            raise ValueError("bench csms set-profile ID --profile N")
        return call("POST", f"{cp}/profile", {"profile": args.profile})
    if args.action == "remove-cp":
        return call("DELETE", cp)
    if args.action == "registry":
        return call("GET", "/api/registry")
    if args.action == "import-cps":
        text = Path(arg).read_text(encoding="utf-8-sig")
        status, body = call(
            "POST", "/api/charge-points/import", {"csv": text, "profile": args.profile}
        )
        if status < 400 and args.out:
            write_private(Path(args.out), body.pop("credentials_csv"))
            body["credentials"] = args.out
        return status, body
    if args.action == "add-tag":
        body = {
            "idTag": arg,
            "status": args.status,
            "expiryDate": args.expiry,
            "parentIdTag": args.parent,
        }
        return call("POST", "/api/id-tags", {k: v for k, v in body.items() if v})
    if args.action == "remove-tag":
        return call("DELETE", f"/api/id-tags/{quote(arg, safe='')}")
    if args.action == "tags":
        return call("GET", "/api/id-tags")
    if args.action == "add-firmware":
        data = Path(arg).read_bytes()
        name = args.name or Path(arg).name
        return call("POST", "/api/firmware", query={"name": name}, raw=data)
    raise ValueError(f"unknown registry command {args.action}")


def show(action: str, body: Any) -> None:
    """The answer, with a generated password on its own line (shown once)."""
    if action in ("add-cp", "set-password") and isinstance(body, dict):
        if body.get("password"):
            print(f"{body['id']}: password {body['password']}")
            print("(shown once: the CSMS keeps only its hash)", file=sys.stderr)
        else:
            print(f"{body['id']}: done")
        return
    if action == "import-cps" and isinstance(body, dict) and "credentials_csv" in body:
        sys.stdout.write(body["credentials_csv"])
        print(f"{body['added']} charge points registered", file=sys.stderr)
        return
    print(json.dumps(body, indent=2))
