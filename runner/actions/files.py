"""Files that steps write (``write_file``, an operation's ``output:``): whole or not at all."""

from __future__ import annotations

import uuid
from pathlib import Path

from runner.errors import LightlyRunError


class OutputNotWritable(LightlyRunError):
    """A step's file cannot be written where the workflow says."""


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed into place, so a
    reader never sees half a file; the temporary file is removed if anything fails."""
    if path.is_dir():
        raise OutputNotWritable(f"{path} is a folder: name a file to write into it")
    path.parent.mkdir(parents=True, exist_ok=True)
    # unique, so two steps writing one file at once (for_each) do not share it
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
