"""The dependency direction of STYLE §6, checked on what importing each layer really loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loaded_by(module: str) -> set[str]:
    """The runner modules a fresh interpreter has loaded after importing ``module``."""
    code = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('runner'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("runner.workflow.loader", ("runner.actions", "runner.client", "runner.engine")),
        ("runner.engine.executor", ("runner.client", "runner.local", "runner.cli")),
        ("runner.client", ("runner.workflow", "runner.engine", "runner.actions", "runner.local")),
        ("runner.local.app", ("runner.engine", "runner.actions", "runner.workflow", "runner.cli")),
        ("runner.local.worker.loop", ("runner.engine", "runner.actions", "runner.workflow")),
        (
            "runner.actions.native",
            ("runner.workflow", "runner.engine", "runner.local", "runner.cli."),
        ),
    ],
)
def test_a_layer_does_not_load_what_it_must_not_know(
    module: str, forbidden: tuple[str, ...]
) -> None:
    loaded = _loaded_by(module)
    assert not sorted(m for m in loaded if m.startswith(forbidden))
