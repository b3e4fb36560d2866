"""Calls clients make on their own: version checks (no token), quota, health."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

bp = Blueprint("versions", __name__)

#: what the official client compares itself with (CONTRACT §2.5)
LATEST_VERSION = "1.4.10"
MINIMUM_VERSION = "1.0.0"
#: maximum number of samples per dataset (``upload_dataset`` checks it)
QUOTA = 1_000_000


@bp.get("/v1/versions/pip/latest")
def pip_latest() -> Response:
    return jsonify(LATEST_VERSION)


@bp.get("/v1/versions/pip/minimum")
def pip_minimum() -> Response:
    return jsonify(MINIMUM_VERSION)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/v1/quota")
def quota() -> Response:
    return jsonify(str(QUOTA))
