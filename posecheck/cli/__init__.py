"""Command-line entry point: ``posecheck COMMAND ...``.

This package is the only place that prints for the user or exits. Each command lives in a
module ``cmd_<name>.py`` of this package that defines ``register(subparsers)``; the module
must keep heavy imports (mediapipe, cv2, matplotlib) inside the function that runs the
command, so that ``posecheck --help`` stays fast.

Library errors (:class:`posecheck.errors.PosecheckError`) become one line
``Error: <message>`` on stderr and exit status 1; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from posecheck import __version__
from posecheck.errors import PosecheckError


def _command_modules() -> list[str]:
    import posecheck.cli as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("cmd_")]
    return sorted(names)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered command."""
    parser = argparse.ArgumentParser(
        prog="posecheck",
        description="Measure hip internal/external rotation and stretch hold time from a "
        "webcam or a video. Runs offline; no video leaves the machine.",
    )
    parser.add_argument("--version", action="version", version=f"posecheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _command_modules():
        module = importlib.import_module(f"posecheck.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status = args.func(args)
    except PosecheckError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `posecheck history | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
