"""The action catalog for commands that must not import the client (validate, plan).

``runner/actions/catalog.json`` is generated from the registry (``lightly-run
schema --catalog``) and a test keeps it in sync, so validating needs neither
requests nor the client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).resolve().parent.parent / "actions" / "catalog.json"


def load_catalog() -> dict[str, Any]:
    """The shipped catalog, or the live registry's if the file is missing."""
    try:
        data: dict[str, Any] = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        return data
    except FileNotFoundError:
        from runner.actions.registry import catalog

        return catalog()
