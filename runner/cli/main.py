"""``lightly-run``: the command line. ``main(argv) -> exit code``; never a traceback.

Exit codes: 0 success, 1 a step failed, 2 invalid workflow or usage, 130
interrupted, 143 terminated (SIGTERM), 141 a run whose output's reader went away
(SIGPIPE), 3 an unexpected error (its traceback goes to a log file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from runner import __version__
from runner.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OUTPUT_CLOSED,
    EXIT_TERMINATED,
    LightlyRunError,
    OutputClosed,
    Terminated,
    WorkflowInvalid,
)

Command = Callable[[argparse.Namespace], int]
EXIT_UNEXPECTED = 3


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "%(prog)s [-h] WORKFLOW [-i NAME=VALUE] [--inputs-file FILE] [--server URL | --local]\n"
        "       [--data-dir DIR] [--resume [RUN_ID]] [--state-dir DIR] [--output {text,json}]\n"
        "       [--no-progress]"
    )
    # optional for argparse only: `--resume wf.yaml` would otherwise take the file as
    # the run id and then miss the workflow (_workflow_after_resume sorts it out)
    parser.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="workflow file")
    parser.add_argument(
        "-i", "--input", action="append", metavar="NAME=VALUE", help="set an input (repeatable)"
    )
    parser.add_argument("--inputs-file", metavar="FILE", help="YAML/JSON file of input values")
    backend = parser.add_mutually_exclusive_group()
    backend.add_argument(
        "--server", metavar="URL", help="Lightly API URL (default: $LIGHTLY_SERVER_LOCATION)"
    )
    backend.add_argument(
        "--local", action="store_true", help="run against the embedded local server"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="data of the --local server (default: STATE_DIR/local)"
    )
    parser.add_argument(
        "--resume", nargs="?", const="latest", metavar="RUN_ID", help="continue a failed run"
    )
    parser.add_argument(
        "--state-dir", default=".lightly-run", metavar="DIR", help="where runs are recorded"
    )
    parser.add_argument(
        "--output", choices=["text", "json"], default="text", help="summary format on stdout"
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (terminal) or progress lines (CI)",
    )


def _parser() -> argparse.ArgumentParser:
    from runner.cli.commands import check, run, serve

    parser = argparse.ArgumentParser(
        prog="lightly-run",
        description="GitOps for the Lightly data-curation platform: run YAML workflows. "
        "`lightly-run WORKFLOW` is short for `lightly-run run WORKFLOW`.",
    )
    parser.add_argument("--version", action="version", version=f"lightly-run {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table: list[tuple[str, str, Command, Callable[[argparse.ArgumentParser], object]]] = [
        ("run", "run a workflow", run.run, _run_arguments),
        (
            "validate",
            "check workflow files without the network",
            check.validate,
            lambda p: p.add_argument(
                "files", nargs="+", metavar="PATH", help="workflow files, or folders of them"
            ),
        ),
        (
            "plan",
            "show the calls a workflow would make",
            run.plan,
            lambda p: (
                p.add_argument("workflow"),
                p.add_argument("-i", "--input", action="append", metavar="NAME=VALUE"),
                p.add_argument("--inputs-file", metavar="FILE"),
            ),
        ),
        (
            "actions",
            "list actions, or describe one",
            check.actions,
            lambda p: p.add_argument("name", nargs="?"),
        ),
        (
            "schema",
            "print the JSON Schema of workflow files",
            check.schema,
            lambda p: p.add_argument(
                "--catalog", action="store_true", help="print the action catalog instead"
            ),
        ),
        ("runs", "list the recorded runs, latest first", run.runs, _runs_arguments),
        ("serve", "run the local Lightly server in the foreground", serve.serve, _serve_arguments),
    ]
    for name, help_text, command, add_arguments in table:
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(command_parser)
        command_parser.set_defaults(handler=command, parser=command_parser)
    return parser


def _workflow_after_resume(args: argparse.Namespace) -> None:
    """``lightly-run --resume wf.yaml``: the file is the workflow, its latest run resumed.

    ``lightly-run --resume RUN_ID`` alone stays so: the run's record names its file.
    """
    if args.command != "run" or args.workflow is not None:
        return
    if args.resume in (None, "latest"):
        args.parser.error("the following arguments are required: WORKFLOW")
    if Path(args.resume).is_file() or args.resume.endswith((".yaml", ".yml")):
        args.workflow, args.resume = args.resume, "latest"


def _int_between(low: int, high: int | None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound for None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {bounds}")
        return value

    return parse


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="only this file's runs")
    parser.add_argument(
        "--state-dir", default=".lightly-run", metavar="DIR", help="where runs are recorded"
    )
    parser.add_argument("--output", choices=["text", "json"], default="text")


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=_int_between(0, 65535),
        default=5000,
        help="port to listen on (default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--data-dir",
        default=".lightly-run/local",
        metavar="DIR",
        help="where datasets, images and the token are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--token", help="the token clients must send (default: generated on first start)"
    )
    parser.add_argument(
        "--workers", type=_int_between(0, None), default=1, help="local compute workers (0: none)"
    )
    parser.add_argument(
        "--local-root",
        action="append",
        metavar="DIR",
        help="a folder LOCAL datasources may be in (repeatable; default: the current folder). "
        "The server reads and serves such a folder to any user with a token",
    )


COMMANDS = ("run", "validate", "plan", "actions", "schema", "runs", "serve")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, map every outcome to an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        argv.insert(0, "run")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_INVALID
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_INVALID
    try:
        _workflow_after_resume(args)
    except SystemExit:  # argparse has printed the usage and the error
        return EXIT_INVALID
    # a run must not go on unseen, or end 0, once its output's reader is gone; the other
    # commands stop quietly (`lightly-run actions | head`), `serve` logs on as before
    guard = _guarded_output() if args.command == "run" else contextlib.nullcontext()
    try:
        with _sigterm_as_interrupt(), guard:
            return _handle(args)
    except OutputClosed:  # from a handler of _handle, printing what went wrong
        return EXIT_OUTPUT_CLOSED


class _PipeGuard:
    """A text stream whose reader may go away. Once a write or flush finds the pipe
    closed, the next write or flush of the thread that runs the command raises
    ``OutputClosed`` (the run stops there, as on Ctrl-C); every other write is dropped.
    Another thread (a step's, the local worker's) never gets it: it would end that
    thread, not the run."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False
        self._raised = False
        self._runner = threading.get_ident()  # the thread of the command

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._close()
        self._stop_the_run()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._close()
        self._stop_the_run()

    def _close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError, ValueError):  # a stream without a descriptor
            # the interpreter's final flush of what is buffered must not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def _stop_the_run(self) -> None:
        if self._closed and not self._raised and threading.get_ident() == self._runner:
            self._raised = True
            raise OutputClosed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _guarded_output() -> Iterator[None]:
    """While inside, a closed stdout or stderr raises ``OutputClosed`` (see there)."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _PipeGuard(stdout), _PipeGuard(stderr)
    try:
        yield
        sys.stdout.flush()  # what is buffered (a JSON summary): a closed pipe says so here
    finally:
        for guard in (sys.stdout, sys.stderr):
            with contextlib.suppress(OutputClosed, OSError, ValueError):
                guard.flush()  # a closed pipe is pointed at devnull: no failing final flush
        sys.stdout, sys.stderr = stdout, stderr


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread, so a cancelled CI
    job saves the run's state as Ctrl-C does; a second SIGTERM kills at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _handle(args: argparse.Namespace) -> int:
    from runner.engine.secrets import Masker

    masker = Masker.from_environment()
    try:
        return int(args.handler(args))
    except WorkflowInvalid as error:
        problems = [masker.mask(str(diagnostic)) for diagnostic in error.diagnostics]
        for problem in problems:
            print(problem, file=sys.stderr)
        _json_failure(args, problems, error.exit_code)
        return error.exit_code
    except LightlyRunError as error:
        print(masker.mask(f"error: {error}"), file=sys.stderr)
        _json_failure(args, [masker.mask(str(error))], error.exit_code)
        return error.exit_code
    except OutputClosed:  # only a run's output is guarded (main)
        return EXIT_OUTPUT_CLOSED
    except BrokenPipeError:
        # the reader went away (`lightly-run actions | head`): stop quietly, as cat does;
        # pointing stdout at devnull keeps the interpreter's final flush from failing again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        cause = "terminated (SIGTERM)" if terminated else "interrupted"
        print(f"{cause}; the run's state is saved (resume with --resume)", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except OSError as error:
        if error.filename is None:
            return _unexpected(error, masker)
        # a folder or file the command was pointed at cannot be used: the user can fix that
        names = " -> ".join(str(n) for n in (error.filename, error.filename2) if n is not None)
        reason = error.strerror or str(error)
        if isinstance(error, (FileExistsError, NotADirectoryError)):
            reason = "a file is in the way where a folder is needed"
        message = masker.mask(f"{names}: {reason}")
        print(f"error: {message}", file=sys.stderr)
        _json_failure(args, [message], EXIT_INVALID)
        return EXIT_INVALID
    except Exception as error:
        _json_failure(args, [masker.mask(f"{type(error).__name__}: {error}")], EXIT_UNEXPECTED)
        return _unexpected(error, masker)


def _json_failure(args: argparse.Namespace, errors: list[str], exit_code: int) -> None:
    """With ``run --output json``, a run that could not start (or a crash) is JSON on
    stdout too, so that what reads it does not fail on an empty output (a run that ran
    prints its summary itself)."""
    if args.command == "run" and getattr(args, "output", "text") == "json":
        failure = {
            "run_id": None,
            "workflow": None,  # its name, as a run's summary has it: not read yet
            "workflow_path": args.workflow,
            "status": "invalid" if exit_code == EXIT_INVALID else "error",
            "errors": errors,
        }
        print(json.dumps(failure, indent=2))


def _unexpected(error: Exception, masker: object) -> int:
    from runner.engine.secrets import Masker

    assert isinstance(masker, Masker)
    log_dir = Path(tempfile.gettempdir()) / "lightly-run"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log.write_text(masker.mask("".join(traceback.format_exception(error))), encoding="utf-8")
    print(masker.mask(f"error: {type(error).__name__}: {error}"), file=sys.stderr)
    print(f"this is a bug in lightly-run; details in {log}", file=sys.stderr)
    return EXIT_UNEXPECTED
