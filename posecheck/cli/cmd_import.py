"""``posecheck import --csv FILE``: add the sessions of a CSV written by ``posecheck
export``; sessions already in the history are skipped.
"""

from __future__ import annotations

import argparse
import io

from posecheck.cli._store_args import add_db_argument, open_store
from posecheck.errors import StoreError
from posecheck.store_csv import import_csv

MAX_CSV_CHARS = 50_000_000  # ~15 000 sessions; bounds the memory (and /dev/zero)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` command."""
    parser = subparsers.add_parser(
        "import",
        help="import sessions from an exported CSV",
        description="Add the sessions of a CSV written by 'posecheck export'. Sessions "
        "already stored (same session uid, or same video, stretch and threshold) are skipped.",
    )
    parser.add_argument("--csv", required=True, metavar="FILE", help="CSV file to import")
    parser.add_argument("--person", metavar="NAME",
                        help="store every imported session for NAME (default: the CSV's person "
                        "column; $POSECHECK_PERSON is not used, so an export of several people "
                        "is never merged into one by accident)")  # fmt: skip
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import; prints how many sessions were added and skipped."""
    try:
        with open(args.csv, newline="", encoding="utf-8") as fh:
            text = fh.read(MAX_CSV_CHARS + 1)
        if len(text) > MAX_CSV_CHARS:
            raise StoreError(f"{args.csv} is larger than {MAX_CSV_CHARS} characters; that is "
                             "not a posecheck export.")
    except OSError as exc:
        raise StoreError(f"Cannot read {args.csv}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise StoreError(f"{args.csv} is not a UTF-8 text CSV.") from exc
    with open_store(args) as store:
        result = import_csv(store, io.StringIO(text, newline=""), person=args.person)
    print(f"Imported {result.added} session(s); skipped {result.skipped} already in history.")
    return 0
