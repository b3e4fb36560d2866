"""In-memory fakes at the engine's seams: actions that record their calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runner.actions.registry import Action


class FakeActions:
    """A registry of fake actions; ``calls`` logs (action, arguments) in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, int] = {}  # action -> failures left before it succeeds
        self.actions: dict[str, Action] = {}
        self.add("echo", lambda args: {"result": args.get("value"), "value": args.get("value")})
        self.add("create", lambda args: {"result": {"id": "abc"}, "dataset_id": "ds-1"})
        self.add("slow", lambda args: time.sleep(float(args.get("seconds", 5))) or {"result": None})
        self.add("interrupt", self._interrupt)

    def add(self, name: str, body: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        def call(client: Any, args: dict[str, Any]) -> dict[str, Any]:
            self.calls.append((name, args))
            if self.failures.get(name, 0) > 0:
                self.failures[name] -= 1
                raise RuntimeError(f"{name} failed (token {args.get('value')})")
            return body(args)

        self.actions[name] = Action(
            name=name,
            call=call,
            params_schema={"type": "object", "properties": {"value": {}, "seconds": {}}},
            outputs=("result", "value", "dataset_id"),
        )

    @staticmethod
    def _interrupt(args: dict[str, Any]) -> dict[str, Any]:
        raise KeyboardInterrupt

    def called(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


class RecordedBar:
    """A tqdm-like bar that only counts."""

    def __init__(self, total: int | None, desc: str, unit: str) -> None:
        self.seen: dict[str, Any] = {"total": total, "desc": desc, "unit": unit, "n": 0}

    def update(self, n: float = 1) -> None:
        self.seen["n"] += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.seen["postfix"] = s

    def close(self) -> None:
        self.seen["closed"] = True

    def __enter__(self) -> RecordedBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RecordingBars:
    """A ``progress`` factory that keeps every bar it made."""

    def __init__(self) -> None:
        self.made: list[RecordedBar] = []

    def __call__(self, *, total: int | None, desc: str, unit: str) -> RecordedBar:
        self.made.append(RecordedBar(total, desc, unit))
        return self.made[-1]

    @property
    def bars(self) -> list[dict[str, Any]]:
        return [bar.seen for bar in self.made]
