"""``create_app(config)``: the local Lightly server as a Flask application.

Every module in ``runner.local.routes`` that defines a Blueprint named ``bp`` is
registered. Every request except the version checks and signed blob URLs must
carry a known token (query ``token`` or ``Authorization: Bearer``) or, on the
endpoints of ``PUBLIC_TOKEN_ENDPOINTS``, a ``publicToken`` issued for its path
(``BlobStore.public_token``); the user it belongs to is ``flask.g.user`` (a
``User``). Every error, ours or werkzeug's, answers in the platform's shape
``{"code": ..., "error": ...}``; a failure inside a request rolls its transaction
back, so nothing is half-written.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from runner.local import routes
from runner.local.blobs import BlobStore
from runner.local.errors import ApiError
from runner.local.store import Store, data_dir_store

log = logging.getLogger("runner.local")

#: Endpoints answered without a token (the official client calls these bare).
PUBLIC_PREFIXES = ("/v1/versions/", "/blobs/", "/healthz")
#: Endpoints a ``publicToken`` may call in place of a token: the targets of the links
#: that must not expire (an export's REDIRECTED_READ_URL, CONTRACT §8.6)
PUBLIC_TOKEN_ENDPOINTS = ("samples.sample_read_redirect",)
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class User:
    user_id: str
    email: str


@dataclass
class ServerConfig:
    """What a local server needs to start."""

    data_dir: Path
    #: secret for signing blob URLs; persisted in the store on first start
    signing_key: str = ""
    #: external base URL for links in responses, e.g. http://127.0.0.1:5123
    public_url: str = ""
    max_body_bytes: int = MAX_BODY_BYTES
    #: the folders LOCAL datasources may be in (none: any folder, for a server that
    #: only its own user reaches, as ``--local``'s)
    local_roots: tuple[Path, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def create_app(config: ServerConfig) -> Flask:
    """Build the Flask app over the store in ``config.data_dir``."""
    app = Flask("runner.local")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    store = data_dir_store(config.data_dir)
    if not config.signing_key:
        config.signing_key = store.get_meta("signing_key") or secrets.token_hex(32)
        store.set_meta("signing_key", config.signing_key)
    app.extensions["lightly_store"] = store
    app.extensions["lightly_config"] = config
    app.extensions["lightly_blobs"] = BlobStore(Path(config.data_dir) / "blobs", config.signing_key)

    for module_info in pkgutil.iter_modules(routes.__path__):
        module = importlib.import_module(f"{routes.__name__}.{module_info.name}")
        blueprint = getattr(module, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)

    app.before_request(_authenticate)
    app.teardown_request(lambda error: store.release())
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def get_store() -> Store:
    from flask import current_app

    store: Store = current_app.extensions["lightly_store"]
    return store


def get_blobs() -> BlobStore:
    """The blob folder (``<data_dir>/blobs``) and its URL signer."""
    from flask import current_app

    blobs: BlobStore = current_app.extensions["lightly_blobs"]
    return blobs


def get_config() -> ServerConfig:
    from flask import current_app

    config: ServerConfig = current_app.extensions["lightly_config"]
    return config


def current_user() -> User:
    user: User = g.user
    return user


def _authenticate() -> None:
    if request.path.startswith(PUBLIC_PREFIXES):
        return
    token = request.args.get("token")
    header = request.headers.get("Authorization", "")
    if not token and header.lower().startswith("bearer "):
        token = header[7:].strip()
    public_token = request.args.get("publicToken")
    if not token and public_token and request.endpoint in PUBLIC_TOKEN_ENDPOINTS:
        user_id = get_blobs().verify_public_token(request.path, public_token)
        row = get_store().user_by_id(user_id)
        if row is None:  # signed by this server for a user it no longer has
            raise ApiError(403, "FORBIDDEN", "unknown publicToken user")
        g.user = User(user_id=row["user_id"], email=row["email"])
        return
    if not token:
        raise ApiError(401, "UNAUTHORIZED", "no token: pass ?token=<your token>")
    row = get_store().user_by_token(token)
    if row is None:
        raise ApiError(403, "FORBIDDEN", "unknown token")
    g.user = User(user_id=row["user_id"], email=row["email"])


def _error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"code": code, "error": message})
    response.status_code = status
    return response


def _api_error(error: ApiError) -> Response:
    return _error_response(error.status, error.code, error.message)


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "BAD_REQUEST",
    413: "PAYLOAD_TOO_LARGE",
}


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "CREATION_FAILED")
    return _error_response(status, code, error.description or error.name)


def _unexpected_error(error: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.path)
    # ApiErrorCode has no generic server error; the official client never parses it anyway
    return _error_response(500, "BAD_REQUEST", f"internal error: {type(error).__name__}")
