"""Run the local Lightly server: in the foreground (``serve``) or in a thread.

``serve`` is ``lightly-run serve``; ``start_in_thread`` is what ``lightly-run
--local`` and the tests use (port 0 = a free loopback port). Both use werkzeug's
threaded server and, when ``workers > 0``, start the local compute workers of
``runner.local.worker.loop`` (if that module is installed). Every start first ends,
CRASHED, the runs a server process that is gone left in progress in ``data_dir``
(``orphans.end_orphaned_runs``).

The server's own user is ``local@lightly-run``. On first start without ``--token``
a token is generated, printed once, and stored in ``<data_dir>/token`` (mode
0600); later starts reuse it. ``--token T`` sets (or replaces) it.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from runner.local import orphans
from runner.local.app import ServerConfig, create_app
from runner.local.store import data_dir_store

LOCAL_USER = "local@lightly-run"
TOKEN_FILE = "token"


@dataclass
class RunningServer:
    """A server running in a background thread of this process."""

    url: str
    token: str
    data_dir: Path
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        """Stop the workers and the server; idempotent."""
        self._stop()


def add_user(data_dir: Path, email: str, token: str | None = None) -> str:
    """Create (or update the token of) a user of the server in ``data_dir``; its token."""
    store = data_dir_store(Path(data_dir))
    try:
        return store.ensure_user(email, token)[1]
    finally:
        store.close()


def _setup_token(data_dir: Path, token: str | None) -> tuple[str, bool]:
    """(the local user's token, whether it was generated just now)."""
    path = Path(data_dir) / TOKEN_FILE
    store = data_dir_store(Path(data_dir))
    try:
        existing = store.user_by_email(LOCAL_USER)
        if token is None and existing is not None:
            return str(existing["token"]), False
        token = store.ensure_user(LOCAL_USER, token)[1]
    finally:
        store.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return token, existing is None


class _QuietHandler(WSGIRequestHandler):
    """No access log: request URLs carry API tokens and URL signatures."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _build(
    data_dir: Path, host: str, port: int, local_roots: tuple[Path, ...] = ()
) -> tuple[Flask, BaseWSGIServer, str]:
    config = ServerConfig(data_dir=Path(data_dir), local_roots=local_roots)
    app = create_app(config)
    try:
        orphans.end_orphaned_runs(app.extensions["lightly_store"], Path(data_dir))
        server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    except BaseException:  # e.g. cannot listen (werkzeug exits): the store it opened is closed
        app.extensions["lightly_store"].close()
        raise
    url = f"http://{_public_host(host)}:{server.server_port}"
    config.public_url = url
    return app, server, url


def _start_workers(app: Flask, url: str, token: str, count: int) -> Callable[[], None]:
    """Start ``count`` local workers if the worker loop exists; returns their stop function."""
    if count <= 0:
        return lambda: None
    try:
        loop = importlib.import_module("runner.local.worker.loop")
    except ModuleNotFoundError as error:
        if error.name != "runner.local.worker.loop":
            raise
        return lambda: None
    start = getattr(loop, "start_workers", None)
    if start is None:
        return lambda: None
    stop: Callable[[], None] = start(app, url, token, count)
    return stop


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: Path,
    token: str | None,
    workers: int = 1,
    out: TextIO | None = None,
    local_roots: tuple[Path, ...] = (),
) -> None:
    """Run the server in the foreground until interrupted; LOCAL datasources only under
    ``local_roots`` (if given)."""
    out = out or sys.stdout
    token, generated = _setup_token(Path(data_dir), token)
    app, server, url = _build(Path(data_dir), host, port, local_roots)
    if generated:
        print(f"Local Lightly server on {url}; token: {token}", file=out)
        print(f"(stored in {Path(data_dir) / TOKEN_FILE}; it is not printed again)", file=out)
    else:
        print(
            f"Local Lightly server on {url}; token stored in {Path(data_dir) / TOKEN_FILE}",
            file=out,
        )
    print(f"Point clients at it: LIGHTLY_SERVER_LOCATION={url} LIGHTLY_TOKEN=<token>", file=out)
    out.flush()
    stop_workers = _start_workers(app, url, token, workers)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop_workers()
        server.server_close()
        app.extensions["lightly_store"].close()


def start_in_thread(
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    workers: int = 1,
) -> RunningServer:
    """Start the server in a daemon thread; ``stop()`` shuts it down."""
    token, _ = _setup_token(Path(data_dir), token)
    app, server, url = _build(Path(data_dir), host, port)
    thread = threading.Thread(target=server.serve_forever, name=f"lightly-local {url}", daemon=True)
    thread.start()
    stop_workers = _start_workers(app, url, token, workers)
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        stop_workers()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["lightly_store"].close()

    return RunningServer(url=url, token=token, data_dir=Path(data_dir), _stop=stop)
