"""Cursor-paginated listing of a LOCAL datasource directory (CONTRACT §2.7, §7.2).

The first request carries ``from``/``to`` (Unix seconds, inclusive, on the file's
mtime) and optionally ``relevantFilenamesFileName``; later requests carry only the
opaque ``cursor`` (base64 of the original query plus an offset). Names are
relative posix paths in sorted order, so pages are stable while the folder is.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.local.blobs import hidden, within
from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import query_bool, query_int, query_str
from runner.local.routes._sample_fields import check_file_name

PAGE_SIZE = 1000
_MAX_COUNT = 2**63 - 1
IMAGE_EXTENSIONS = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".png",
        ".bmp",
        ".gif",
        ".tif",
        ".tiff",
        ".webp",
        ".mp4",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
    ]
)


@dataclass(frozen=True)
class Page:
    names: list[str]
    has_more: bool
    cursor: str
    redirected: bool


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode()


def _decode(cursor: str) -> dict[str, Any]:
    """The state ``_encode`` made; 400 for anything else (the client may send any string)."""
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError, binascii.Error):  # also UnicodeDecodeError
        state = None
    if not isinstance(state, dict) or not _valid_state(state):
        raise bad_request(f"invalid cursor {cursor!r}: use the cursor of the previous page")
    return state


def _valid_state(state: dict[str, Any]) -> bool:
    def count(value: Any) -> bool:
        return type(value) is int and 0 <= value <= _MAX_COUNT

    relevant = state.get("relevant")
    return (
        set(state) <= {"from", "to", "relevant", "offset"}
        and count(state.get("offset"))
        and all(state.get(key) is None or count(state[key]) for key in ("from", "to"))
        # isprintable: no control characters and no lone surrogates either
        and (relevant is None or (isinstance(relevant, str) and relevant.isprintable()))
    )


def _query_state() -> dict[str, Any]:
    """The listing parameters: from the cursor if there is one, else from the query."""
    cursor = query_str("cursor")
    if cursor is not None:
        return _decode(cursor)
    if query_str("relevantFilenamesRunId") or query_str("relevantFilenamesArtifactId"):
        raise bad_request(
            "relevant filenames from a run artifact are not supported by the local server; "
            "use relevantFilenamesFileName",
            "NOT_IMPLEMENTED",
        )
    return {
        "from": query_int("from", 0, minimum=0),
        "to": query_int("to", int(time.time()), minimum=0),
        "relevant": query_str("relevantFilenamesFileName"),
        "offset": 0,
    }


def list_page(root: Path, *, kind: str, prefix: str = "") -> Page:
    """One page of ``root``'s files: ``samples`` = media files outside ``.lightly``,
    ``files`` = every file under ``prefix``."""
    state = _query_state()
    redirected = bool(query_bool("useRedirectedReadUrl", False))
    names = _matching(root, kind=kind, prefix=prefix, state=state)
    offset = max(0, int(state["offset"]))
    end = offset + PAGE_SIZE
    has_more = end < len(names)
    next_state = {**state, "offset": min(end, len(names))}
    return Page(names[offset:end], has_more, _encode(next_state), redirected)


def _matching(root: Path, *, kind: str, prefix: str, state: dict[str, Any]) -> list[str]:
    low, high = int(state.get("from") or 0), int(state.get("to") or 0)
    relevant = _relevant(root, state.get("relevant"))
    result = []
    for name, mtime in _walk(root, prefix):
        if hidden(name) or (
            kind == "samples"
            and (name.startswith(".lightly/") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS)
        ):
            continue
        if low <= mtime <= high and (relevant is None or name in relevant):
            result.append(name)
    return sorted(result)


def _walk(root: Path, prefix: str) -> list[tuple[str, int]]:
    start = root / prefix if prefix else root
    found = []
    for directory, _dirs, files in os.walk(start):
        for file_name in files:
            path = Path(directory) / file_name
            try:
                mtime = int(path.stat().st_mtime)
            except OSError:
                continue
            found.append((path.relative_to(root).as_posix(), mtime))
    return found


def _relevant(root: Path, file_name: str | None) -> set[str] | None:
    if not file_name:
        return None
    try:
        if hidden(check_file_name(file_name, "relevantFilenamesFileName")):
            raise OSError(file_name)
        path = os.path.realpath(root / file_name)
        # a regular file in the datasource: not a symlink out of it (its lines would
        # be an oracle of what the file holds), not a FIFO that holds the request
        if not within(path, os.path.realpath(root)) or not os.path.isfile(path):
            raise OSError(path)
        text = Path(path).read_text()
    except (OSError, UnicodeError, ApiError):
        raise bad_request(
            f"relevant filenames file {file_name!r} cannot be read from the datasource",
            "DATASET_DATASOURCE_RELEVANT_FILENAMES_INVALID",
        ) from None
    return {line.strip() for line in text.splitlines() if line.strip()}
