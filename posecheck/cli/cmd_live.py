"""``posecheck live``: the guided stretch routine with live feedback (webcam or any source)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

from posecheck.cli._signals import StopSignals
from posecheck.cli._store_args import (
    add_db_argument,
    add_model_argument,
    add_person_argument,
    person_from,
)
from posecheck.errors import ConfigError, StoreError
from posecheck.landmarks import SIDES
from posecheck.safe_text import printable

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
                        "rate, as a camera would deliver it, from when the model is "
                        "ready) or a stream URL")
    p.add_argument("--loop", action="store_true",
                   help="replay a video file --source from the start when it ends")
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
    add_person_argument(p, "who is stretching: the session is stored for this person")
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


def _check_out_dir(out_dir: Path) -> None:
    """The session folder must be a folder we can write, before the camera opens."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder; give a folder for the "
                          "session.")
    created = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise ConfigError(f"Cannot write the session folder {out_dir}: "
                          f"{exc.strerror or exc}; choose another --out.") from None
    finally:  # the session creates it when it starts; a failed start leaves nothing
        for p in created:
            with contextlib.suppress(OSError):
                p.rmdir()


def _check_outputs(args: argparse.Namespace, out_dir: Path) -> None:
    from posecheck.guard import db_files, inputs, refuse_overwrite
    from posecheck.model import verify_model
    from posecheck.store import resolve_db_path

    source = Path(args.source) if Path(args.source).is_file() else None
    protected = (inputs([source], "the input video")
                 + inputs([verify_model(args.model).path], "the pose model")
                 + db_files(resolve_db_path(args.db)))
    refuse_overwrite([out_dir / "summary.json", out_dir / "landmarks.jsonl", args.record],
                     protected)


def run(args: argparse.Namespace) -> int:
    """Run the live session and save what it measured.

    SIGTERM and SIGHUP (a closed terminal, a logout) end it like Ctrl-C: the session is
    saved and stored, and the exit status is 128 + the signal number (130 for Ctrl-C).
    """
    _check_args(args)
    args.person = person_from(args)  # a bad name fails now, not after the session
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out if args.out is not None else Path("posecheck-out") / f"live-{stamp}"
    _check_outputs(args, out_dir)
    _check_out_dir(out_dir)
    with StopSignals() as signals:
        status = _run(args, out_dir)
    return signals.exit_status or status


def _run(args: argparse.Namespace, out_dir: Path) -> int:
    from posecheck.live_app import LiveApp

    app = LiveApp(
        stretches=_stretches(args), sides=[args.side] if args.side else list(SIDES),
        threshold=args.threshold, source=args.source, out_dir=out_dir,
        headless=args.headless, record=args.record, model=args.model,
        sound=not args.no_sound, neutral=not args.no_neutral, countdown_s=args.countdown,
        max_seconds=args.max_seconds, loop=args.loop,
    )
    summary = app.run()
    for line in app.report_lines(summary):
        _print(line)
    if not args.no_store:
        _store(summary, args.db, args.person, out_dir)
    return 0 if not app.failed else 1


def _print(line: str, file: Any = None) -> None:
    """Print; a terminal that went away (EIO) must not stop the saving."""
    with contextlib.suppress(OSError):
        print(printable(line), file=file or sys.stdout, flush=True)


def _store(summary: dict[str, Any], db: str | None, person: str | None,
           out_dir: Path) -> None:
    from posecheck.store import Store, resolve_db_path

    path = resolve_db_path(db)
    try:
        with Store.open(path) as store:
            session_id = store.add_session(summary, person=person)
    except StoreError as exc:
        raise StoreError(f"{exc} The session itself is saved in {out_dir}.") from None
    who = f" for {person}" if person else ""
    _print(f"saved to history as session {session_id}{who} ({path})", file=sys.stderr)
