"""Keeping names that come from the server inside the folder they are written to."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_join(output_dir: str | Path, name: str) -> Path:
    """``output_dir / name``, refusing any name that could land outside ``output_dir``.

    Raises:
        ValueError: For absolute names, ``..`` components, backslashes, drive letters,
            NUL bytes or empty names.
    """
    parts = PurePosixPath(name).parts
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or _DRIVE.match(name)
        or PurePosixPath(name).is_absolute()
        or any(part in ("..", ".") for part in name.split("/"))
        or not parts
    ):
        raise ValueError(
            f"refusing to write file {name!r} from the server: it is not a plain relative path"
        )
    base = Path(output_dir).resolve()
    target = (base / name).resolve()
    if base != target and base not in target.parents:
        raise ValueError(
            f"refusing to write file {name!r} from the server: it resolves outside {base}"
        )
    return target
