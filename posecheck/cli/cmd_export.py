"""``posecheck export --csv FILE``: write the whole history as CSV (one row per session,
stretch and side; holds as JSON). ``posecheck import`` reads it back exactly.
"""

from __future__ import annotations

import argparse
import sys

from posecheck.cli._store_args import add_db_argument, add_person_argument, open_store, person_from
from posecheck.errors import PosecheckError, StoreError
from posecheck.guard import db_files, refuse_overwrite
from posecheck.store import resolve_db_path
from posecheck.store_csv import export_csv


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="export the history as CSV",
        description="Write every stored session as CSV (one row per session, stretch and "
        "side; angles in degrees, IR positive; times in seconds). Use '-' for stdout.",
    )
    parser.add_argument("--csv", required=True, metavar="FILE", help="output CSV file or '-'")
    add_person_argument(parser, "export only this person's sessions; without it, everyone's")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; prints how many sessions were written (the file is replaced atomically)."""
    from posecheck.outputs import AtomicFile

    refuse_overwrite([args.csv], db_files(resolve_db_path(args.db)))
    person = person_from(args)
    with open_store(args, readonly=True) as store:
        if person is not None:
            person = store.require_person(person)
        if args.csv == "-":
            export_csv(store, sys.stdout, person=person)
            return 0
        try:
            with AtomicFile(args.csv, "w", newline="") as fh:
                count = export_csv(store, fh, person=person)
        except OSError as exc:
            raise StoreError(f"Cannot write {args.csv}: {exc.strerror}.") from exc
        except PosecheckError as exc:
            raise StoreError(str(exc)) from None
    print(f"Exported {count} session(s) to {args.csv}.")
    return 0
