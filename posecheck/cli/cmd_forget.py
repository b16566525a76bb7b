"""``posecheck forget``: delete one session, or every session of one person, from the history.

Asks for confirmation on stdin unless ``--yes``; with no terminal or at end of input the
answer is no. Only prints; the deletions are :meth:`posecheck.store.Store.delete_session`
and :meth:`~posecheck.store.Store.delete_person`. ``$POSECHECK_PERSON`` is deliberately not
read here: deleting a whole person needs the name typed on the command line.
"""

from __future__ import annotations

import argparse
import sys

from posecheck.cli._store_args import add_db_argument, open_store
from posecheck.errors import ConfigError, StoreError
from posecheck.safe_text import printable
from posecheck.store import Store
from posecheck.store_records import clean_person


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forget`` command."""
    parser = subparsers.add_parser(
        "forget",
        help="delete a session, or all sessions of a person, from the history",
        description="Delete one session (and its results and holds) from the history, or "
        "with --person alone every session of that person.",
    )
    parser.add_argument("--session", type=int, metavar="ID",
                        help="session id, as shown by 'posecheck history'")  # fmt: skip
    parser.add_argument("--person", metavar="NAME",
                        help="alone: delete every session of NAME; with --session: only if "
                        "that session is NAME's")  # fmt: skip
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
    """Delete the session (or the person's sessions) after confirmation; 1 when not confirmed."""
    if args.session is None and args.person is None:
        raise ConfigError("Say what to forget: --session ID or --person NAME.")
    with open_store(args) as store:
        if args.session is None:
            return _forget_person(store, args.person, args.yes)
        session = store.get_session(args.session)
        if args.person is not None and store.find_person(args.person) != session.person:
            raise StoreError(f"Session {session.id} is not {clean_person(args.person)!r}'s "
                             f"(it is {session.person!r}'s); nothing was deleted.")  # fmt: skip
        what = printable(f"session {session.id} of {session.person} ({session.started_at}, "
                         f"{session.kind}, {session.input})")  # fmt: skip
        if not args.yes and not _confirmed(f"Delete {what}? [y/N] "):
            print(f"Not deleted: {what}. Pass --yes to delete without asking.", file=sys.stderr)
            return 1
        store.delete_session(session.id)
    print(f"Deleted {what}.")
    return 0


def _forget_person(store: Store, name: str, yes: bool) -> int:
    person = store.require_person(name)
    count = next(p.sessions for p in store.people() if p.name == person)
    what = f"all {count} session(s) of {person}"
    if not yes and not _confirmed(f"Delete {what}? This cannot be undone. [y/N] "):
        print(f"Not deleted: {what}. Pass --yes to delete without asking.", file=sys.stderr)
        return 1
    deleted = store.delete_person(person)
    print(f"Deleted {deleted} session(s) of {person}.")
    return 0
