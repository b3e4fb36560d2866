"""Signed blob URLs: ``GET``/``HEAD``/``PUT /blobs/<key>?method=&expires=&sig=``.

No API token: the HMAC signature (``BlobStore.verify``) is the credential, and a
forged, tampered or expired URL answers 403 before anything is read or stored.
PUT streams the raw body (Content-Length or chunked, any Content-Type) into an
atomic write; GET returns exactly the stored bytes, never content-encoded.

Two small registries let other domains plug in without this module knowing them:

- ``register_root(prefix, resolver)``: keys under ``prefix`` live outside the blob
  folder (e.g. ``local/<datasetId>/<relpath>`` in a LOCAL datasource directory);
  the resolver returns ``(root, relative key)`` or raises ``ApiError``.
- ``on_put(pattern)``: a callback run after a PUT of a key matching ``pattern``
  (e.g. an uploaded embeddings CSV marks its embedding processed).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from flask import Blueprint, Response, request

from runner.local.app import get_blobs, get_config
from runner.local.blobs import BlobStore, hidden, safe_key, within
from runner.local.errors import ApiError
from runner.local.routes._input import no_content

bp = Blueprint("blobs", __name__)

Resolver = Callable[[str], tuple[Path, str]]
PutHook = Callable[["re.Match[str]"], None]

_ROOTS: list[tuple[str, Resolver]] = []
_PUT_HOOKS: list[tuple[re.Pattern[str], PutHook]] = []
CHUNK = 1 << 20


def register_root(prefix: str, resolver: Resolver) -> None:
    """Serve keys starting with ``prefix`` from the directory ``resolver`` names."""
    _ROOTS[:] = [(p, r) for p, r in _ROOTS if p != prefix]
    _ROOTS.append((prefix, resolver))


def on_put(pattern: str) -> Callable[[PutHook], PutHook]:
    """Decorator: run the function after a signed PUT of a key matching ``pattern``."""
    compiled = re.compile(pattern)

    def register(hook: PutHook) -> PutHook:
        _PUT_HOOKS[:] = [(p, h) for p, h in _PUT_HOOKS if p.pattern != pattern]
        _PUT_HOOKS.append((compiled, hook))
        return hook

    return register


def _locate(key: str) -> Path:
    """The file of a blob key: in the blob store, or in a datasource folder (a registered
    root), refusing anything that resolves (symlinks) outside that folder and, through
    a datasource, anything in the server's own data folder (tokens, other users' blobs)."""
    key = safe_key(key)
    for prefix, resolver in _ROOTS:
        if key.startswith(prefix):
            root, relative = resolver(key)
            target = _inside(Path(root), safe_key(relative))
            if hidden(os.path.relpath(target, os.path.realpath(root))):  # a symlink to one
                raise ApiError(403, "FORBIDDEN", "hidden files of a datasource are not served")
            if within(target, get_config().data_dir):
                raise ApiError(
                    403, "FORBIDDEN", "the local server does not serve its own data folder"
                )
            return target
    return _inside(get_blobs().root, key)


def _inside(root: Path, relative: str) -> Path:
    target = Path(os.path.realpath(root / relative))
    if not within(target, root):
        raise ApiError(403, "FORBIDDEN", "the blob path leaves its storage root")
    return target


def _verify(key: str, method: str) -> None:
    get_blobs().verify(key, method, request.args.get("expires"), request.args.get("sig"))
    if request.args.get("method", method) != method:
        raise ApiError(403, "FORBIDDEN", f"this URL is not signed for {request.method}")


@bp.route("/blobs/<path:key>", methods=["GET", "HEAD"])
def read_blob(key: str) -> Response:
    _verify(key, "GET")
    path = _locate(key)
    if not path.is_file():
        raise ApiError(404, "NOT_FOUND", f"blob {key} does not exist")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = {"Content-Length": str(path.stat().st_size), "Cache-Control": "no-store"}
    return Response(_file_chunks(path), mimetype=mimetype, headers=headers, direct_passthrough=True)


def _file_chunks(path: Path) -> Iterator[bytes]:
    """The file in chunks; opened only when iterated, closed even if abandoned."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@bp.put("/blobs/<path:key>")
def write_blob(key: str) -> Response:
    _verify(key, "PUT")
    stream = request.stream  # a declared Content-Length over the limit fails here: 413
    path = _locate(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    BlobStore(path.parent, "").write(path.name, _chunks(stream))
    for pattern, hook in _PUT_HOOKS:
        match = pattern.match(key)
        if match:
            hook(match)
    return no_content()


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk
