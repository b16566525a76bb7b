"""``posecheck analyse INPUT...``: measure recorded videos or landmark files (docs/analyse.md).

Thin front end over :mod:`posecheck.batch`: parses options, prints one line per input
(stdout) and progress bars (stderr), records the summaries in the history store, and
exits 1 when any input failed (the others are still analysed and written).

Heavy imports (cv2, mediapipe, matplotlib) happen inside :func:`run`, never at import.
"""

from __future__ import annotations

import argparse
import sys
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


def register(subparsers: Any) -> None:
    """Add the ``analyse`` command."""
    p = subparsers.add_parser(
        "analyse", aliases=["analyze"],
        help="measure hip rotation and hold times in recorded videos or landmark files",
        description="Analyse videos (mp4, mov, avi, webm, mkv), folders of them, glob "
        "patterns, or landmark .jsonl files. For each input writes OUT/<name>/summary.json, "
        "frames.csv, landmarks.jsonl (videos), annotated.mp4 (videos) and angles.png. "
        "Angles in degrees, internal rotation positive.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, folder, glob or "
                   ".jsonl landmark file")
    p.add_argument("--stretch", metavar="NAME", help="stretch to measure (see `posecheck "
                   "stretches`); default: both rotation stretches")
    p.add_argument("--threshold", type=float, metavar="DEG", help="entry threshold of the "
                   "stretch in degrees (default: the stretch's own)")
    p.add_argument("--out", type=Path, default=Path("posecheck-out"), metavar="DIR",
                   help="output folder (default: ./posecheck-out)")
    p.add_argument("--no-video", action="store_true", help="do not write annotated.mp4")
    add_model_argument(p)
    p.add_argument("--mot", action="store_true", help="also write angles.mot (OpenSim)")
    p.add_argument("--no-neutral", action="store_true", help="do not subtract a neutral "
                   "reference taken before the first hold")
    p.add_argument("--raw", action="store_true", help="no smoothing of the angles")
    p.add_argument("--causal", action="store_true", help="smooth causally, as live does: "
                   "the numbers the live run showed (default: an offline zero-lag pass)")
    p.add_argument("--jobs", type=int, metavar="N", help="files analysed in parallel "
                   "(default: min(files, CPU cores))")
    add_db_argument(p)
    p.add_argument("--no-store", action="store_true", help="do not record in the history")
    p.add_argument("--force", action="store_true", help="record in the history even when "
                   "this input was recorded before (default: once per file content)")
    add_person_argument(p, "who is in the videos: their sessions are stored for this person")
    c = p.add_argument_group("cluster (pip install 'posecheck[cluster]'; docs/cluster.md)")
    c.add_argument("--cluster", metavar="ADDRESS", help="analyse on a Ray cluster: local (a "
                   "Ray runtime on this machine, all cores), auto (the cluster this machine "
                   "joined with `ray start`), ray://HOST:PORT (a remote one) or HOST:PORT; "
                   "inputs must be on storage every node sees")
    c.add_argument("--cluster-cpus-per-task", type=int, metavar="N", help="CPUs per pose "
                   "model actor; one actor per N CPUs of the cluster (default: 2)")
    c.add_argument("--collect", action="store_true", help="ship each input's outputs back "
                   "to this machine and write them under --out here (default: the workers "
                   "write under --out, which must then be on shared storage)")
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> Any:
    from posecheck.analyse_input import AnalyseOptions, stretches_for

    if args.threshold is not None and not 0 <= args.threshold <= 180:
        raise ConfigError(f"--threshold must be between 0 and 180 degrees, got "
                          f"{args.threshold:g}.")
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}.")
    opts = AnalyseOptions(stretch=args.stretch, threshold_deg=args.threshold, out_dir=args.out,
                          video=not args.no_video, model_path=args.model, mot=args.mot,
                          neutral=not args.no_neutral, smooth=not args.raw,
                          causal=args.causal,
                          progress=sys.stderr.isatty())
    stretches_for(opts)  # an unknown --stretch is one error before any work
    return opts


def _cluster_options(args: argparse.Namespace) -> Any:
    """The :class:`posecheck.cluster_connect.ClusterOptions` of ``--cluster`` (None without it)."""
    if args.cluster is None:
        for flag, value in (("--collect", args.collect),
                            ("--cluster-cpus-per-task", args.cluster_cpus_per_task)):
            if value not in (None, False):
                raise ConfigError(f"{flag} needs --cluster.")
        return None
    if args.jobs is not None:
        raise ConfigError("--jobs is for runs on this machine; with --cluster there is one "
                          "pose model per --cluster-cpus-per-task CPUs of the cluster.")
    from posecheck.cluster_connect import DEFAULT_CPUS_PER_TASK, ClusterOptions, import_ray

    cpus = args.cluster_cpus_per_task
    copts = ClusterOptions(args.cluster, collect=args.collect,
                           cpus_per_task=DEFAULT_CPUS_PER_TASK if cpus is None else cpus)
    import_ray()  # without the extra: one line saying how to install it, before any work
    return copts


def _check_model(args: argparse.Namespace, inputs: list[Path]) -> Path | None:
    """Fail once, before any work, when videos need a model that is unusable; its path."""
    from posecheck.analyse_input import LANDMARK_SUFFIXES
    from posecheck.model import verify_model

    if any(p.suffix.lower() not in LANDMARK_SUFFIXES for p in inputs):
        return verify_model(args.model).path
    return None


def _check_outputs(args: argparse.Namespace, inputs: list[Path], model: Path | None) -> None:
    """Refuse result folders that hold an input, the model or the history (exit 2)."""
    from posecheck.batch import INCOMPLETE, output_dirs
    from posecheck.guard import db_files, refuse_overwrite
    from posecheck.guard import inputs as protect
    from posecheck.store import resolve_db_path

    protected = (protect(inputs, "an input") + protect([model], "the pose model")
                 + db_files(resolve_db_path(args.db)))
    dirs = output_dirs(inputs, args.out)
    parts = [d.with_name(d.name + INCOMPLETE) for d in dirs]  # replaced when interrupted
    refuse_overwrite([], protected, folders=dirs + parts)


def _store_result(store: Any, result: Any, force: bool, person: str | None) -> str:
    if store is None or result.summary is None:
        return ""
    session_id, added = store.add_or_find(result.summary, force=force, person=person)
    if not added:
        owner = store.get_session(session_id).person
        return (f" [already in history as session {session_id} of {owner}; --force records "
                "it again]")
    return ""


def run(args: argparse.Namespace) -> int:
    """Analyse every input; exit status 1 if any failed."""
    from posecheck.batch import analyse_many, expand_inputs
    from posecheck.result_line import result_line
    from posecheck.safe_text import printable

    opts = _options(args)
    person = person_from(args)  # a bad name fails before any work
    cluster = _cluster_options(args)
    inputs = expand_inputs(args.inputs)
    if not inputs:
        raise ConfigError("No videos or .jsonl files found in " + ", ".join(args.inputs) + ".")
    _check_outputs(args, inputs, _check_model(args, inputs))
    store = _open_store(args)
    not_stored: list[Any] = []
    try:
        def report(result: Any) -> None:
            try:
                note = _store_result(store, result, args.force, person)
            except StoreError as exc:  # the outputs are written; the batch goes on
                note = f" [not stored: {exc}]"
                not_stored.append(result)
            print(printable(result_line(result) + note), flush=True)  # names escaped

        with StopSignals():  # SIGTERM/SIGHUP end it like Ctrl-C: no result folder is mixed
            if cluster is None:
                results = analyse_many(inputs, opts, jobs=args.jobs, on_result=report)
            else:
                from posecheck.cluster import analyse_on_cluster

                results = analyse_on_cluster(inputs, opts, cluster, on_result=report)
    finally:
        if store is not None:
            store.close()
    failed = [r for r in results if not r.ok or r in not_stored]
    if len(results) > 1:
        print(f"{len(results) - len(failed)} of {len(results)} inputs analysed"
              + (f"; {len(failed)} failed." if failed else "."), file=sys.stderr)
    return 1 if failed else 0


def _open_store(args: argparse.Namespace) -> Any:
    if args.no_store:
        return None
    from posecheck.store import Store, resolve_db_path

    return Store.open(resolve_db_path(args.db))
