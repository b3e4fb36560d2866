"""Errors every layer of lightly-run may raise, and the exit codes they map to.

Tree::

    LightlyRunError            any error meant for the user (exit 1 unless stated)
    ├── UsageError             bad command line or inputs (exit 2)
    ├── WorkflowInvalid        a workflow file failed validation (exit 2); carries diagnostics
    ├── StepFailed             a step failed and was not allowed to continue (exit 1)
    └── StateError             run state cannot be read, written or locked (exit 2)

    Terminated (a KeyboardInterrupt)    SIGTERM, handled as Ctrl-C is (exit 143)
    OutputClosed (a KeyboardInterrupt)  a run's output's reader went away (exit 141;
                                        other commands end quietly with 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports it
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE: the reader of the output went away


class LightlyRunError(Exception):
    """Root of every error lightly-run reports to the user without a traceback."""

    exit_code = EXIT_STEP_FAILED


class UsageError(LightlyRunError):
    """The command line, an input value or an option is wrong."""

    exit_code = EXIT_INVALID


class WorkflowInvalid(LightlyRunError):
    """A workflow file has one or more problems; ``diagnostics`` lists all of them."""

    exit_code = EXIT_INVALID

    def __init__(self, diagnostics: Sequence[Any]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class StepFailed(LightlyRunError):
    """A step failed; the run stopped there."""

    exit_code = EXIT_STEP_FAILED

    def __init__(self, step_id: str, message: str) -> None:
        self.step_id = step_id
        super().__init__(f"step '{step_id}' failed: {message}")


class StateError(LightlyRunError):
    """Run state could not be read, written or locked.

    A usage error: no step ran; another ``--resume`` id or ``--state-dir`` fixes it.
    """

    exit_code = EXIT_INVALID


class OutputClosed(KeyboardInterrupt):
    """The reader of stdout or stderr went away (``lightly-run wf.yaml | head -1``, a
    log shipper that died): the run stops as on Ctrl-C, its state saved, rather than
    finish unseen or end with exit code 0 halfway."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, ``docker stop``): every layer treats it as Ctrl-C."""
