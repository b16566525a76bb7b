"""``posecheck live``: the guided stretch routine with live feedback (webcam or any source)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from posecheck.cli._store_args import add_db_argument, add_model_argument
from posecheck.errors import ConfigError
from posecheck.landmarks import SIDES

HELP = "live feedback on hip rotation and hold time from a webcam (or a video played live)"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``live`` command."""
    p = sub.add_parser("live", help=HELP, description=(
        "Live feedback on hip rotation and hold time from a webcam, or from a video played "
        "as a camera would deliver it. Keys in the window: space pause, n next step, "
        "s switch side, f full screen, q quit. The session is saved on quit, on Ctrl-C and "
        "when the source ends. No video is recorded unless --record is given."))
    p.add_argument("--source", default="0",
                   help="camera index (default 0), a video file (played at its own frame "
                        "rate, as a camera would deliver it) or a stream URL")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--stretch", metavar="NAME",
                      help="one stretch (see 'posecheck stretches'); default: the routine")
    what.add_argument("--routine", action="store_true",
                      help="all three stretches, each on both sides (the default)")
    p.add_argument("--side", choices=SIDES, help="only this side (default: both)")
    p.add_argument("--threshold", type=float, metavar="DEG",
                   help="entry threshold of the stretch, degrees (overrides the catalogue)")
    p.add_argument("--hold", type=float, metavar="SECONDS",
                   help="hold target in seconds (default: the stretch's, usually 30)")
    p.add_argument("--headless", action="store_true",
                   help="no window: print hold events as they happen (servers, CI)")
    p.add_argument("--record", type=Path, metavar="FILE.mp4",
                   help="also write the annotated video (off by default)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="session folder (default: ./posecheck-out/live-<date-time>)")
    p.add_argument("--no-sound", action="store_true", help="no beeps")
    p.add_argument("--no-neutral", action="store_true",
                   help="skip the neutral reference (angles are then uncorrected)")
    p.add_argument("--countdown", type=float, default=3.0, metavar="SECONDS",
                   help="get-ready countdown before each stretch (default 3)")
    p.add_argument("--max-seconds", type=float, metavar="SECONDS",
                   help="stop after this many seconds of stream time")
    add_model_argument(p)
    add_db_argument(p)
    p.add_argument("--no-store", action="store_true", help="do not add the session to history")
    p.set_defaults(func=run)


def _stretches(args: argparse.Namespace) -> list[Any]:
    from posecheck.stretches import load_catalogue

    catalogue = load_catalogue()
    if args.stretch:
        if args.stretch not in catalogue:
            valid = ", ".join(sorted(catalogue))
            raise ConfigError(f"Unknown stretch {args.stretch!r}. Valid stretches: {valid}.")
        chosen = [catalogue[args.stretch]]
    else:
        chosen = [catalogue[i] for i in ("internal-rotation", "external-rotation", "deep-glute")]
    if args.hold is not None:
        if args.hold <= 0:
            raise ConfigError(f"--hold must be > 0 seconds, got {args.hold}")
        chosen = [dataclasses.replace(st, hold_target_s=args.hold) for st in chosen]
    return chosen


def _check_args(args: argparse.Namespace) -> None:
    if args.countdown < 0:
        raise ConfigError(f"--countdown must be >= 0 seconds, got {args.countdown}")
    if args.max_seconds is not None and args.max_seconds <= 0:
        raise ConfigError(f"--max-seconds must be > 0, got {args.max_seconds}")
    if args.record is not None and args.record.suffix.lower() != ".mp4":
        raise ConfigError(f"--record needs an .mp4 file name, got {args.record}")


def run(args: argparse.Namespace) -> int:
    """Run the live session and save what it measured."""
    from posecheck.live_app import LiveApp

    _check_args(args)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out if args.out is not None else Path("posecheck-out") / f"live-{stamp}"
    app = LiveApp(
        stretches=_stretches(args), sides=[args.side] if args.side else list(SIDES),
        threshold=args.threshold, source=args.source, out_dir=out_dir,
        headless=args.headless, record=args.record, model=args.model,
        sound=not args.no_sound, neutral=not args.no_neutral, countdown_s=args.countdown,
        max_seconds=args.max_seconds,
    )
    summary = app.run()
    for line in app.report_lines(summary):
        print(line)
    if not args.no_store:
        _store(summary, args.db)
    return 0 if not app.failed else 1


def _store(summary: dict[str, Any], db: str | None) -> None:
    from posecheck.store import Store, resolve_db_path

    path = resolve_db_path(db)
    with Store.open(path) as store:
        session_id = store.add_session(summary)
    print(f"saved to history as session {session_id} ({path})", file=sys.stderr)
