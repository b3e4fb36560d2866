"""``serve``: the local Lightly server in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path

from runner.errors import EXIT_OK


def serve(args: argparse.Namespace) -> int:
    from runner.local.server import serve as serve_forever

    serve_forever(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data_dir),
        token=args.token,
        workers=args.workers,
    )
    return EXIT_OK
