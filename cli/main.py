"""The `pulse` command (CONTRACT §5).

Each subcommand lives in its own module `cli/<name>.py` exposing `register(subparsers) -> None`, which adds
its parser and sets `func` (a function, or a coroutine function run with `asyncio.run`) taking the parsed
`argparse.Namespace` and returning an exit code (`None` means 0). To add a subcommand, append its module
to `COMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence
from typing import Any

COMMANDS: list[str] = [
    "cli.token",
    "cli.publish",
    "cli.dlq",
    "cli.snapshots",
    "cli.db",
    "cli.revoke",
    "cli.demo.command",
]

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description="Pulse command-line tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS:
        module = importlib.import_module(module_name)
        module.register(subparsers)
    return parser


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
        func: Any = getattr(args, "func", None)
        if func is None:
            parser.print_usage(sys.stderr)
            print("pulse: error: a COMMAND is required", file=sys.stderr)
            return EXIT_USAGE
        result = asyncio.run(func(args)) if inspect.iscoroutinefunction(func) else func(args)
    except SystemExit as exc:  # argparse: usage errors (2), --help (0); handlers may call parser.error
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130
    return int(result) if result is not None else 0


if __name__ == "__main__":
    sys.exit(main())
