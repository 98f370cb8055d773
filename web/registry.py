"""The panel's registry page: charge points, passwords, CSV import, idTags, firmware.

Plain server-rendered forms (each carries the CSRF token; operators only). Every change
goes through the Central System's own registry methods (:mod:`bench.csms.chargepoints`),
the same ones the HTTP API and ``bench csms`` use: a chosen password is hashed here in
the request's thread, the store writes run on the bench's loop. A generated password is
shown once in the answer page and kept nowhere but as a hash.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from bench.csms.server import CentralSystem
from web.auth import operator_required

bp = Blueprint("registry", __name__)
MAX_UPLOAD = 64 * 1024 * 1024
EVENTS_SHOWN = 50


@bp.record_once
def _upload_limit(state: Any) -> None:
    """Firmware images may exceed the panel's request limit: raise it for that form
    only, before the login/CSRF gate reads the body."""

    def firmware_limit() -> None:
        if request.endpoint == "registry.add_firmware":
            request.max_content_length = MAX_UPLOAD + 64 * 1024

    state.app.before_request_funcs.setdefault(None, []).insert(0, firmware_limit)


def _csms() -> CentralSystem | None:
    """The bench's own Central System while it runs; None when it was stopped from the
    Control page (the bench keeps the stopped one until it starts a new one) or when the
    bench has none of its own."""
    system = current_app.extensions["bench_api"].system
    csms = system.csms
    return csms if isinstance(csms, CentralSystem) and system.csms_running else None


def _page(status: int = 200, **shown: Any) -> ResponseReturnValue:
    csms = _csms()
    data: dict[str, Any] = {"running": csms is not None}
    if csms is not None:
        connected = set(csms.call_on_loop(csms.connected_ids))
        data["charge_points"] = [
            {**r, "connected": r["id"] in connected} for r in csms.call_on_loop(csms.registry)
        ]
        data["id_tags"] = csms.call_on_loop(csms.store.id_tags)
        data["firmware"] = csms.call_on_loop(csms.firmware_files)
        events = csms.call_on_loop(csms.store.notifications, None, "SecurityEventNotification")
        data["security_events"] = events[-EVENTS_SHOWN:][::-1]
    return render_template("registry.html", page="registry", **data, **shown), status


def _change(action: Any, done: str) -> ResponseReturnValue:
    """Run ``action(csms)``; the page with its message (or the error, 400/404/409)."""
    from bench.csms.chargepoints import RegistryError

    csms = _csms()
    if csms is None:
        return _page(409, error="the Central System is not running")
    try:
        shown = action(csms) or {}
    except RegistryError as exc:
        return _page(exc.status, error=str(exc))
    except ValueError as exc:
        return _page(400, error=str(exc))
    return _page(message=done, **shown)


@bp.get("/registry")
def registry() -> ResponseReturnValue:
    return _page()


@bp.post("/registry/charge-points")
@operator_required
def add_charge_point() -> ResponseReturnValue:
    from bench.csms.chargepoints import hash_records

    form = request.form
    cp_id = form.get("id", "").strip()

    def add(csms: Any) -> dict[str, Any]:
        row = {"id": cp_id, "profile": form.get("profile"), "password": form.get("password")}
        (record,) = hash_records([row], csms.main_profile)
        csms.call_on_loop(csms.store_records, [record])
        return {"generated": {record.cp_id: record.generated} if record.generated else None}

    return _change(add, f"{cp_id} registered")


@bp.post("/registry/charge-points/<cp_id>/password")
@operator_required
def set_password(cp_id: str) -> ResponseReturnValue:
    from bench.csms.chargepoints import RegistryError, hash_records

    def rekey(csms: Any) -> dict[str, Any]:
        current = csms.call_on_loop(csms.store.security, cp_id)
        if current is None:
            raise RegistryError(f"no charge point {cp_id!r} is registered")
        row = {"id": cp_id, "profile": current["profile"], "password": request.form.get("password")}
        (record,) = hash_records([row])
        if record.profile == 3:
            raise RegistryError(f"{cp_id} uses certificates (profile 3): no password")
        csms.call_on_loop(csms.store_records, [record], replace=True)
        return {"generated": {cp_id: record.generated} if record.generated else None}

    return _change(rekey, f"{cp_id} has a new password")


@bp.post("/registry/charge-points/<cp_id>/profile")
@operator_required
def set_profile(cp_id: str):  # type: ignore[no-untyped-def]
    profile = request.form.get("profile")
    return _change(
        lambda c: c.call_on_loop(c.set_security_profile, cp_id, profile),
        f"{cp_id} now connects with security profile {profile}",
    )


@bp.post("/registry/charge-points/<cp_id>/remove")
@operator_required
def remove_charge_point(cp_id: str) -> ResponseReturnValue:
    return _change(lambda c: c.call_on_loop(c.remove_charge_point, cp_id), f"{cp_id} removed")


@bp.post("/registry/import")
@operator_required
def import_csv() -> ResponseReturnValue:
    from bench.csms.chargepoints import hash_records, parse_csv

    upload = request.files.get("csv")
    text = upload.read().decode("utf-8-sig", "replace") if upload else request.form.get("text", "")

    def load(csms: Any) -> dict[str, Any]:
        records = hash_records(parse_csv(text), csms.main_profile)
        csms.call_on_loop(csms.store_records, records)
        return {"generated": {r.cp_id: r.generated for r in records if r.generated}}

    return _change(load, "charge points imported")


@bp.post("/registry/id-tags")
@operator_required
def add_id_tag() -> ResponseReturnValue:
    form = request.form
    tag = form.get("idTag", "").strip()

    def add(csms: Any) -> None:
        if not 1 <= len(tag) <= 20:
            raise ValueError("idTag: 1-20 characters")
        csms.call_on_loop(
            csms.add_id_tag,
            tag,
            form.get("status") or "Accepted",
            form.get("expiryDate") or None,
            form.get("parentIdTag") or None,
        )

    return _change(add, f"idTag {tag} saved")


@bp.post("/registry/id-tags/<id_tag>/remove")
@operator_required
def remove_id_tag(id_tag: str) -> ResponseReturnValue:
    return _change(lambda c: c.call_on_loop(c.remove_id_tag, id_tag), f"idTag {id_tag} removed")


@bp.post("/registry/firmware")
@operator_required
def add_firmware() -> ResponseReturnValue:
    upload = request.files.get("file")

    def add(csms: Any) -> None:
        if upload is None or not upload.filename:
            raise ValueError("choose a firmware file")
        data = upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise ValueError("firmware larger than 64 MiB")
        name = request.form.get("name") or upload.filename
        csms.call_on_loop(csms.add_firmware, name, data)

    return _change(add, "firmware stored")
