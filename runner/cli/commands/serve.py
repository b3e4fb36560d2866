"""``serve``: the local Lightly server in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path

from runner.errors import EXIT_OK, UsageError


def serve(args: argparse.Namespace) -> int:
    from runner.local.server import serve as serve_forever

    roots = tuple(Path(folder).resolve() for folder in (args.local_root or ["."]))
    missing = [str(root) for root in roots if not root.is_dir()]
    if missing:
        raise UsageError(f"--local-root: not a folder: {', '.join(missing)}")
    try:
        serve_forever(
            host=args.host,
            port=args.port,
            data_dir=Path(args.data_dir),
            token=args.token,
            workers=args.workers,
            local_roots=roots,
        )
    except SystemExit:  # werkzeug could not listen, and has said why
        raise UsageError(f"cannot listen on {args.host}:{args.port}") from None
    return EXIT_OK
