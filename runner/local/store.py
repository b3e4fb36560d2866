"""SQLite state of the local server: datasets, samples, and documents of every other kind.

One database file in WAL mode. Datasets and samples have tables of their own
(samples are ordered by ``idx``, the position that tag bitmasks refer to). Every
other entity (tags, embeddings, datasources, worker configs, scheduled runs, runs,
artifacts, predictions, shares, jobs, …) is a JSON *document* in ``documents``,
keyed by ``kind`` and ``id`` and optionally scoped to a dataset. Writes happen in
``Store.transaction()``: all or nothing, so a failed request leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runner.errors import UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datasets_owner_name ON datasets(owner, name);
CREATE TABLE IF NOT EXISTS samples (
    dataset_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (dataset_id, idx),
    UNIQUE (dataset_id, file_name)
);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    dataset_id TEXT,
    owner TEXT,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS documents_kind_dataset ON documents(kind, dataset_id, created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class UnreadableDatabase(UsageError):
    """The data directory's database is damaged or is not one of ours."""


def new_id() -> str:
    """A 24-char lowercase hex id, like the platform's ObjectIds (time-prefixed)."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """The database of one local server data directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # connections no thread holds: a server thread lives for one keep-alive
        # connection, so a connection per thread would be opened (and leaked) per client
        self._idle: list[sqlite3.Connection] = []
        self._opened: list[sqlite3.Connection] = []  # all of them, for close()
        self._idle_lock = threading.Lock()
        try:
            # executescript commits on its own, so it cannot run inside transaction()
            self._connection().executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            self.close()
            raise UnreadableDatabase(
                f"the local server's database {self.path} cannot be read ({error}): it is "
                f"damaged or not a lightly-run database. Nothing was changed; move it and "
                f"{self.path.parent / 'blobs'} away to start with an empty server"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._idle_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                # used by one thread at a time, but not always the same one
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute("PRAGMA foreign_keys=ON")
                except sqlite3.DatabaseError:
                    conn.close()
                    raise
                with self._idle_lock:
                    self._opened.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); rolled back if the block raises.

        Nested use joins the outer transaction.
        """
        conn = self._connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @property
    def db(self) -> sqlite3.Connection:
        """The calling thread's connection, for reads."""
        return self._connection()

    def release(self) -> None:
        """Hand the calling thread's connection back for other threads (end of a request)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        if conn.in_transaction:  # pragma: no cover - transaction() always ends its own
            conn.execute("ROLLBACK")
        with self._idle_lock:
            self._idle.append(conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection, also those of threads that never released theirs.

        For shutdown: a thread still using the store afterwards gets an error.
        """
        self._local.conn = None
        with self._idle_lock:
            opened, self._opened, self._idle = self._opened, [], []
        for conn in opened:
            conn.close()

    # -- users ------------------------------------------------------------------

    def ensure_user(self, email: str, token: str | None = None) -> tuple[str, str]:
        """Return (user_id, token) of ``email``, creating the user (and a token) if new."""
        with self.transaction() as db:
            row = db.execute("SELECT user_id, token FROM users WHERE email=?", (email,)).fetchone()
            if row is not None:
                if token and token != row["token"]:
                    db.execute("UPDATE users SET token=? WHERE user_id=?", (token, row["user_id"]))
                    return row["user_id"], token
                return row["user_id"], row["token"]
            user_id = new_id()
            token = token or secrets.token_hex(24)
            db.execute("INSERT INTO users VALUES (?, ?, ?)", (user_id, email, token))
            return user_id, token

    def user_by_token(self, token: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM users WHERE token=?", (token,))

    def user_by_id(self, user_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM users WHERE user_id=?", (user_id,))

    def user_by_email(self, email: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM users WHERE email=?", (email,))

    def _one(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(sql, parameters).fetchone()
        return row

    # -- documents --------------------------------------------------------------

    def put_doc(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        doc_id: str | None = None,
        dataset_id: str | None = None,
        owner: str | None = None,
        created_at: int | None = None,
    ) -> str:
        """Insert or replace a document; returns its id (``data['id']`` is set to it)."""
        doc_id = doc_id or data.get("id") or new_id()
        data["id"] = doc_id
        with self.transaction() as db:
            db.execute(
                "INSERT INTO documents(kind, id, dataset_id, owner, created_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET data=excluded.data",
                (kind, doc_id, dataset_id, owner, created_at or now_ms(), json.dumps(data)),
            )
        return doc_id

    def get_doc(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT data FROM documents WHERE kind=? AND id=?", (kind, doc_id)
        ).fetchone()
        return None if row is None else json.loads(row["data"])

    def doc_row(self, kind: str, doc_id: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM documents WHERE kind=? AND id=?", (kind, doc_id))

    def list_docs(
        self,
        kind: str,
        *,
        dataset_id: str | None = None,
        owner: str | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Documents of ``kind`` (optionally of one dataset / owner), by creation time."""
        sql = "SELECT data FROM documents WHERE kind=?"
        args: list[Any] = [kind]
        if dataset_id is not None:
            sql += " AND dataset_id=?"
            args.append(dataset_id)
        if owner is not None:
            sql += " AND owner=?"
            args.append(owner)
        order = "created_at DESC, rowid DESC" if newest_first else "created_at, rowid"
        sql += f" ORDER BY {order}"
        return [json.loads(r["data"]) for r in self.db.execute(sql, args)]

    def delete_doc(self, kind: str, doc_id: str) -> bool:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM documents WHERE kind=? AND id=?", (kind, doc_id))
            return cur.rowcount > 0

    def update_doc_if(
        self, kind: str, doc_id: str, *, where: dict[str, Any], changes: dict[str, Any]
    ) -> bool:
        """Atomically apply ``changes`` iff every ``where`` field has its value (a claim)."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT data FROM documents WHERE kind=? AND id=?", (kind, doc_id)
            ).fetchone()
            if row is None:
                return False
            data = json.loads(row["data"])
            if any(data.get(k) != v for k, v in where.items()):
                return False
            data.update(changes)
            db.execute(
                "UPDATE documents SET data=? WHERE kind=? AND id=?",
                (json.dumps(data), kind, doc_id),
            )
            return True

    # -- meta ---------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )


def data_dir_store(data_dir: Path) -> Store:
    """The Store of a data directory (``<data_dir>/lightly.sqlite3``)."""
    os.makedirs(data_dir, exist_ok=True)
    path = Path(data_dir) / "lightly.sqlite3"
    # it holds every user's token and the URL-signing key: the owner's alone (SQLite
    # gives its -wal and -shm files the database's permissions)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    return Store(path)
