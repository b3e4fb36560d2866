"""Run state on disk: ``<state-dir>/runs/<run-id>/state.json``, written atomically, under a lock."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from runner.errors import StateError


@dataclass
class StepRecord:
    status: str = "pending"  # pending | running | succeeded | failed | skipped | interrupted
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    digest: str = ""
    reused: bool = False
    #: the outputs held secrets and are stored masked: ``--resume`` runs the step again
    masked: bool = False
    #: what the client remembered after this step (``--resume`` restores it from here)
    client_state: dict[str, Any] = field(default_factory=dict)
    #: what earlier steps gave it is used up (a worker run that ended unsuccessfully, so
    #: the step failed or, with allow_failure, said so): ``--resume`` runs those steps again
    spent_inputs: bool = False

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass
class RunState:
    run_id: str
    workflow: str
    workflow_path: str
    source_digest: str
    started_at: float
    status: str = "running"  # running | succeeded | failed | interrupted
    finished_at: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepRecord] = field(default_factory=dict)
    client_state: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        steps = {k: StepRecord(**v) for k, v in data.pop("steps", {}).items()}
        return cls(**data, steps=steps)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class StateStore:
    """The runs of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir)
        self._lock: IO[str] | None = None

    def lock(self) -> None:
        """Refuse a second run of this state directory at the same time."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = (self.root / "lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateError(
                f"another lightly-run is using {self.root}; wait for it or pass another --state-dir"
            ) from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def path(self, run_id: str) -> Path:
        return self.root / "runs" / run_id / "state.json"

    def save(self, state: RunState) -> None:
        target = self.path(state.run_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name("state.json.tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2, default=str), encoding="utf-8")
        os.replace(tmp, target)

    def load(self, run_id: str) -> RunState:
        try:
            return RunState.from_json(json.loads(self.path(run_id).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise StateError(f"no run '{run_id}' in {self.root / 'runs'}") from None
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise StateError(
                f"the state of run '{run_id}' ({self.path(run_id)}) is unreadable "
                f"({type(error).__name__}: {error}); remove its folder to forget that run, "
                "or resume another with --resume RUN_ID"
            ) from None

    def runs(self) -> tuple[list[RunState], list[str]]:
        """The recorded runs, latest start first, and the ids of unreadable ones."""
        readable: list[RunState] = []
        unreadable: list[str] = []
        for path in sorted((self.root / "runs").glob("*/state.json")):
            try:
                readable.append(self.load(path.parent.name))
            except StateError:
                unreadable.append(path.parent.name)
        readable.sort(key=lambda run: run.started_at, reverse=True)
        return readable, unreadable

    def latest(self, workflow_path: str) -> RunState:
        """The most recent run of ``workflow_path``."""
        runs = sorted(
            (self.root / "runs").glob("*/state.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        wanted = os.path.abspath(workflow_path)
        unreadable = []
        for path in runs:
            try:
                state = self.load(path.parent.name)
            except StateError:
                # another workflow's broken record must not block this one's resume
                if _recorded_path(path) == wanted:
                    raise
                unreadable.append(path.parent.name)
                continue
            if os.path.abspath(state.workflow_path) == wanted:
                return state
        skipped = f" ({len(unreadable)} unreadable: {', '.join(unreadable)})" if unreadable else ""
        raise StateError(
            f"no earlier run of {workflow_path} in {self.root / 'runs'} to resume{skipped}"
        )


def _recorded_path(state_file: Path) -> str | None:
    """The absolute workflow path a state file names, if that much of it can be read."""
    try:
        recorded = json.loads(state_file.read_text(encoding="utf-8")).get("workflow_path")
    except (OSError, ValueError, AttributeError):
        return None
    return os.path.abspath(recorded) if isinstance(recorded, str) else None
