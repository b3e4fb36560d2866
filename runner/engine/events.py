"""What a run reports while it goes: the observer protocol and the console observer."""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TextIO

from tqdm import tqdm

from runner.engine.secrets import Masker

#: the mark of a step's status in the run's lines and tables (anything else: ✗)
STATUS_MARKS = {"succeeded": "✓", "skipped": "–", "reused": "↺", "pending": "·"}


class RunObserver(Protocol):
    def step_started(self, step_id: str, title: str, uses: str) -> None: ...
    def step_finished(
        self, step_id: str, status: str, duration: float, error: str | None
    ) -> None: ...
    def message(self, text: str) -> None: ...


class ConsoleObserver:
    """A line per step start and finish, with durations; every line masked."""

    def __init__(self, masker: Masker, stream: TextIO | None = None) -> None:
        self.masker = masker
        self.stream = stream or sys.stderr

    def _print(self, text: str) -> None:
        # through tqdm: a progress bar on the terminal is cleared and redrawn below the line
        tqdm.write(self.masker.mask(text), file=self.stream)
        self.stream.flush()

    def step_started(self, step_id: str, title: str, uses: str) -> None:
        self._print(started_line(step_id, title, uses))

    def step_finished(self, step_id: str, status: str, duration: float, error: str | None) -> None:
        self._print(finished_line(step_id, status, duration, error))

    def message(self, text: str) -> None:
        self._print(text)


class GitHubActionsObserver(ConsoleObserver):
    """The console lines, each step's lines folded in GitHub Actions' log (``::group::``),
    and a failed step also an error annotation at its line of the workflow file."""

    def __init__(
        self,
        masker: Masker,
        step_lines: Mapping[str, tuple[str, int]],
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(masker, stream)
        self.step_lines = step_lines  # step id → (file, line) for annotations
        self._open_group = False

    def _print(self, text: str) -> None:
        # a line of text from elsewhere (a server's message, a tag name) must not act as
        # a workflow command: a zero-width space before '::' keeps the runner from it
        super()._print(_UNTRUSTED_COMMAND.sub(r"\1" + "\u200b::", text))

    def _command(self, command: str) -> None:
        """One of lightly-run's own workflow commands: printed as it is (masked)."""
        super()._print(command)

    def step_started(self, step_id: str, title: str, uses: str) -> None:
        self._command(f"::group::{_command_data(started_line(step_id, title, uses))}")
        self._open_group = True

    def step_finished(self, step_id: str, status: str, duration: float, error: str | None) -> None:
        if self._open_group:  # a reused step never started one
            self._command("::endgroup::")
            self._open_group = False
        super().step_finished(step_id, status, duration, error)
        if status == "failed":
            # masked before escaping: a secret must not survive as its escaped form
            message = self.masker.mask(error or "failed")
            file, line = self.step_lines.get(step_id, (None, None))
            self._command(github_error(message, file, line, title=f"step {step_id} failed"))


#: '::' at the start of a line (after blanks), where the Actions runner reads a command
_UNTRUSTED_COMMAND = re.compile(r"^(\s*)::", re.MULTILINE)


def github_error(
    message: str,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    *,
    title: str | None = None,
) -> str:
    """A GitHub Actions error annotation (``::error file=…,line=…::message``), escaped;
    ``file`` relative to the repository, which GitHub needs to attach it to the line."""
    if file is not None:
        file = _repository_path(file)
    properties = [
        f"{name}={_command_property(str(value))}"
        for name, value in (("file", file), ("line", line), ("col", col), ("title", title))
        if value is not None
    ]
    return f"::error {','.join(properties)}::{_command_data(message)}"


def _repository_path(file: str) -> str:
    """``file`` relative to ``GITHUB_WORKSPACE`` (the checkout; else the current folder)
    when it is inside it."""
    root = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    try:
        relative = os.path.relpath(os.path.abspath(file), root)
    except ValueError:  # another drive (Windows)
        return file
    return file if relative.startswith("..") else Path(relative).as_posix()


def _command_data(text: str) -> str:
    """``text`` as the data of a workflow command: one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown_summary(state: Any, masker: Masker) -> str:
    """The run as a Markdown table, for GitHub Actions' job summary."""
    rows = [
        f"### lightly-run: {state.workflow} — {state.status}",
        "",
        f"Run `{state.run_id}`",
        "",
        "| step | status | time | error |",
        "|---|---|---|---|",
    ]
    for step_id, record in state.steps.items():
        status = "reused" if record.reused else record.status
        error = (record.error or "").replace("|", "\\|").replace("\n", " ")
        if status == "pending":  # the run stopped before it
            rows.append(f"| `{step_id}` | {STATUS_MARKS[status]} not run | – | |")
            continue
        rows.append(
            f"| `{step_id}` | {STATUS_MARKS.get(status, '✗')} {status} | "
            f"{record.duration or 0.0:.1f} s | {error} |"
        )
    return str(masker.mask("\n".join(rows) + "\n"))


class IndentedObserver:
    """Another observer's lines, indented: the steps of a workflow called by a step."""

    def __init__(self, outer: RunObserver) -> None:
        self.outer = outer

    def step_started(self, step_id: str, title: str, uses: str) -> None:
        self.outer.message(f"  {started_line(step_id, title, uses)}")

    def step_finished(self, step_id: str, status: str, duration: float, error: str | None) -> None:
        self.outer.message(f"  {finished_line(step_id, status, duration, error)}")

    def message(self, text: str) -> None:
        self.outer.message(f"  {text}")


def started_line(step_id: str, title: str, uses: str) -> str:
    label = f"{step_id}: {title}" if title != step_id else step_id
    return f"▶ {label} ({uses})"


def finished_line(step_id: str, status: str, duration: float, error: str | None) -> str:
    mark = STATUS_MARKS.get(status, "✗")
    detail = f": {error}" if error else ""
    return f"{mark} {step_id} {status} in {duration:.1f}s{detail}"


class _ObserverHandler(logging.Handler):
    def __init__(self, observer: RunObserver) -> None:
        super().__init__(logging.WARNING)
        self.observer = observer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.observer.message(f"  {record.getMessage()}")
        except Exception:
            self.handleError(record)


@contextmanager
def notices_as_lines(observer: RunObserver, logger_name: str) -> Iterator[None]:
    """While inside, warnings are the run's lines, masked and indented under the step:
    ``logger_name``'s WARNING records (client retries, unreadable images) and Python
    warnings (images that failed to upload), each shown, not just the first."""
    logger = logging.getLogger(logger_name)
    handler, propagate = _ObserverHandler(observer), logger.propagate

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        observer.message(f"  warning: {message}")

    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = show
            yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class SilentObserver:
    def step_started(self, step_id: str, title: str, uses: str) -> None:
        pass

    def step_finished(self, step_id: str, status: str, duration: float, error: str | None) -> None:
        pass

    def message(self, text: str) -> None:
        pass


def summary(state: Any, masker: Masker) -> dict[str, Any]:
    """A machine-readable, masked summary of a run."""
    masked: dict[str, Any] = masker.mask(
        {
            "run_id": state.run_id,
            "workflow": state.workflow,
            "status": state.status,
            "steps": [
                {
                    "id": step_id,
                    "status": record.status,
                    "reused": record.reused,
                    "duration": record.duration,
                    "attempts": record.attempts,
                    "error": record.error,
                    "outputs": {k: v for k, v in record.outputs.items() if k != "result"},
                }
                for step_id, record in state.steps.items()
            ],
        }
    )
    return masked
