"""`reviewbot serve` and `reviewbot worker`: a clear line when the server extra is missing."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

NEEDED = ("starlette", "uvicorn", "dramatiq", "redis", "prometheus_client")


def main(command: str, argv: Sequence[str]) -> int:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"reviewbot: error: `reviewbot {command}` needs the server extra "
            f"({', '.join(missing)} missing): pip install 'reviewbot[server]'",
            file=sys.stderr,
        )
        return 2
    if command == "serve":
        from reviewbot.server.app import main as serve

        return serve(argv)
    from reviewbot.server.jobs import main as work

    return work(argv)
