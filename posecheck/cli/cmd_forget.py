"""``posecheck forget``: delete one session from the history.

Asks for confirmation on stdin unless ``--yes``; with no terminal or at end of input the
answer is no. Only prints; the deletion itself is :meth:`posecheck.store.Store.delete_session`.
"""

from __future__ import annotations

import argparse
import sys

from posecheck.cli._store_args import add_db_argument, open_store
from posecheck.safe_text import printable


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forget`` command."""
    parser = subparsers.add_parser(
        "forget",
        help="delete a session from the history",
        description="Delete one session (and its results and holds) from the history.",
    )
    parser.add_argument("--session", type=int, required=True, metavar="ID",
                        help="session id, as shown by 'posecheck history'")  # fmt: skip
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def _confirmed(question: str) -> bool:
    """Ask on stdin; no terminal or end of input counts as no."""
    if not sys.stdin.isatty():
        return False
    print(question, end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """Delete the session after confirmation; 1 when not confirmed."""
    with open_store(args) as store:
        session = store.get_session(args.session)
        what = printable(f"session {session.id} ({session.started_at}, {session.kind}, "
                         f"{session.input})")
        if not args.yes and not _confirmed(f"Delete {what}? [y/N] "):
            print(f"Not deleted: {what}. Pass --yes to delete without asking.", file=sys.stderr)
            return 1
        store.delete_session(session.id)
    print(f"Deleted {what}.")
    return 0
