"""Local worker runs whose server process is gone: each server start ends them CRASHED.

The local workers are threads of the server process. A process killed hard (SIGKILL,
the OOM killer, a power cut), or one whose shutdown stopped waiting for a run (a worker
gets 30 s), leaves its runs where no one will ever move them: the scheduled run LOCKED,
the run in, say, CHECKING_CORRUPTNESS, and a client waiting for it waits forever.

Which process performs a run: the workers of one process are an ``Instance``, a random
id whose lock file ``<data_dir>/workers/<id>.lock`` the process holds (``flock``,
exclusive) while it lives, and a local worker records that id with its claim
(``runs.claim_next_run``, in the claim's transaction). The kernel drops a process's
locks when it ends, however it ends, so "nobody holds the lock of the claim's
instance" means exactly "the process that took this run is gone". Not "every run in
progress": several live servers may share a data dir (``lightly-run serve`` and a
``--local`` run, or two state dirs with one ``--data-dir``; nothing prevents it), and
one's start must not end the other's runs. Not a PID: PIDs are reused, and two
containers sharing the folder see different ones.

``end_orphaned_runs`` ends such a run as a failing run ends: the run CRASHED with
``STOPPED_MESSAGE``, its scheduled run DONE. A claim whose process died before it
created the run gets one, CRASHED, so a waiting client sees the end too. Runs of
external Lightly Workers (the worker endpoints) record no claim: they are not this
server's to end.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
from pathlib import Path

from runner.local import runs
from runner.local.store import Store

log = logging.getLogger("runner.local")

LOCK_FOLDER = "workers"
STOPPED_MESSAGE = "The local server stopped during this run (its process ended); schedule it again."
_INSTANCE_ID = re.compile(r"^[0-9a-f]{16}$")


class Instance:
    """The local workers of this process: an id, and the lock that says the process lives."""

    def __init__(self, data_dir: Path) -> None:
        folder = Path(data_dir) / LOCK_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        self.id = secrets.token_hex(8)
        self.path = folder / f"{self.id}.lock"
        # locked under another name, then renamed: a start sweeping the folder must
        # never find this lock file unlocked (it would remove it)
        pending = folder / f"{self.id}.pending"
        self._fd: int | None = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self._fd, f"{os.getpid()}\n".encode())  # for a reader; the lock decides
        os.replace(pending, self.path)

    def release(self) -> None:
        """Drop the lock (the process's end does it too); idempotent."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: no one takes it for dead
        os.close(self._fd)
        self._fd = None


def _gone(data_dir: Path, instance_id: str) -> bool:
    """Whether no live process holds ``instance_id``'s lock; a dead one's file is removed."""
    if not _INSTANCE_ID.fullmatch(instance_id):
        return True  # not an id an Instance makes: no process holds it
    path = Path(data_dir) / LOCK_FOLDER / f"{instance_id}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)  # enough for flock; the file may be another user's
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        path.unlink(missing_ok=True)  # no Instance makes its id again
        return True
    finally:
        os.close(fd)


def end_orphaned_runs(store: Store, data_dir: Path) -> list[str]:
    """End every run claimed by a process that is gone; the ids of the runs ended CRASHED."""
    gone: dict[str, bool] = {}
    ended = []
    for claim in store.list_docs(runs.CLAIM_KIND):
        instance = str(claim.get("instance", ""))
        if instance not in gone:
            gone[instance] = _gone(data_dir, instance)
        if gone[instance] and (run_id := end_claimed_run(store, claim["id"])) is not None:
            ended.append(run_id)
    folder = Path(data_dir) / LOCK_FOLDER
    if folder.is_dir():  # the lock files of processes that ended idle
        for path in folder.glob("*.lock"):
            _gone(data_dir, path.stem)
    if ended:
        log.warning("runs left in progress by a stopped local server, now CRASHED: %s", ended)
    return ended


def end_runs_of(store: Store, instance: Instance) -> list[str]:
    """End the runs ``instance``'s workers still hold (they gave up on them); the run ids."""
    claims = [c for c in store.list_docs(runs.CLAIM_KIND) if c.get("instance") == instance.id]
    return [run_id for c in claims if (run_id := end_claimed_run(store, c["id"])) is not None]


def end_claimed_run(store: Store, scheduled_id: str) -> str | None:
    """Crash the run of a LOCKED scheduled run and drop the claim; the run's id, or None
    when the scheduled run had already ended (the claim was left over)."""
    with store.transaction():
        scheduled = store.get_doc("scheduled_run", scheduled_id)
        run_id = None
        if scheduled is not None and scheduled["state"] == "LOCKED":
            run = runs.run_of_scheduled(store, scheduled_id) or runs.start_run(store, scheduled)
            if runs.set_run_state(store, run["id"], "CRASHED", STOPPED_MESSAGE) is not None:
                run_id = run["id"]
            else:  # the run ended, its scheduled run did not: finish that too
                runs.set_scheduled_state(store, scheduled_id, expect="LOCKED", state="DONE")
        store.delete_doc(runs.CLAIM_KIND, scheduled_id)
    return run_id
