"""The panel's pages; each is a template plus a small script that talks to the API."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, send_file
from flask.typing import ResponseReturnValue

bp = Blueprint("views", __name__)


def _api() -> ResponseReturnValue:
    return current_app.extensions["bench_api"]


@bp.get("/")
def rig() -> ResponseReturnValue:
    return render_template("rig.html", page="rig")


@bp.get("/scenarios")
def scenarios() -> ResponseReturnValue:
    return render_template("scenarios.html", page="scenarios", filters=_api().filters())


@bp.get("/runs/<run_id>")
def run(run_id: str) -> ResponseReturnValue:
    record = _api().run(run_id)
    if record is None:
        abort(404)
    return render_template("run.html", page="scenarios", run=record)


@bp.get("/runs/<run_id>/report/")
@bp.get("/runs/<run_id>/report/<path:name>")
def report(run_id: str, name: str = "index.html") -> ResponseReturnValue:
    path = _api().report_file(run_id, name)
    if path is None:
        abort(404)
    response = send_file(path, max_age=0)
    if name.endswith(".html"):  # self-contained: inline styles and SVG, its case pages framed
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "frame-src 'self'; frame-ancestors 'self'"
        )
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/runs/<run_id>/timeline/<case_id>.svg")
def timeline(run_id: str, case_id: str) -> ResponseReturnValue:
    """A finished case's sequence chart (the report's drawing), as an image."""
    svg = _api().timeline(run_id, case_id)
    if svg is None:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/control")
def control() -> ResponseReturnValue:
    return render_template(
        "control.html", page="control", operations=_api().operations(), faults=True
    )


@bp.get("/trace")
def trace() -> ResponseReturnValue:
    return render_template("trace.html", page="trace")
