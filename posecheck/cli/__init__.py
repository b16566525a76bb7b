"""Command-line entry point: ``posecheck COMMAND ...``.

This package is the only place that prints for the user or exits. Each command lives in a
module ``cmd_<name>.py`` of this package that defines ``register(subparsers)``; the module
must keep heavy imports (mediapipe, cv2, matplotlib) inside the function that runs the
command, so that ``posecheck --help`` stays fast.

Library errors (:class:`posecheck.errors.PosecheckError`) become one line
``Error: <message>`` on stderr and their exit status (1; 2 for an output that would
overwrite an input or the history); an operating-system error nobody handled (disk full,
read-only file system) is one line too, never a traceback. Ctrl-C exits with 130.

:func:`entry` (the ``posecheck`` script and ``python -m posecheck``) first cuts the network
for the commands that load the pose model (:mod:`posecheck.offline`), then runs :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from posecheck import __version__
from posecheck.errors import PosecheckError
from posecheck.safe_text import printable


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
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        status = args.func(args)
    except PosecheckError as exc:
        print(f"Error: {printable(exc)}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:  # a message says what was kept (analyse, live)
        _say_error(f"Interrupted: {printable(exc)}" if str(exc) else "Interrupted.")
        return int(getattr(exc, "exit_status", 130))
    except BrokenPipeError:
        # the reader went away (e.g. `posecheck history | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _say_error(f"Error: {exc.strerror or exc}{printable(where)}.")
        return 1
    return int(status or 0)


def _say_error(text: str) -> None:
    """Print to stderr; a closed terminal (EIO) or pipe must not turn into a traceback."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr, flush=True)


def entry() -> int:
    """The console script: cut the network for model commands, then :func:`main`."""
    from posecheck.offline import offline_for

    warning = offline_for(sys.argv[1:])
    if warning:
        _say_error(warning)
    return main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(entry())
