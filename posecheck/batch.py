"""Several inputs: expanding folders and globs, one output folder each, parallel files (the
one-line result per input is :mod:`posecheck.result_line`). The engine of ``posecheck
analyse`` around :func:`posecheck.analyse_input.analyse_file`.

API::

    expand_inputs(specs) -> list[Path]            # files, folders, globs -> input files
    output_dirs(inputs, out_root) -> list[Path]   # one folder per input, same stems suffixed
    analyse_into(path, out_dir, options, estimator=None) -> InputResult  # one output folder
    analyse_many(paths, options, jobs=None, on_result=None) -> list[InputResult]

Parallel files run in worker processes (one file each at a time, each with its own pose
model loaded once and reused for its next files). Must not print or exit: the CLI does.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import multiprocessing.util
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from posecheck.analyse_input import (
    LANDMARK_SUFFIXES,
    VIDEO_SUFFIXES,
    AnalyseOptions,
    InputResult,
    analyse_file,
    new_estimator,
)


# ------------------------------------------------------------------------- inputs
def _is_input(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES | LANDMARK_SUFFIXES


def expand_inputs(specs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The input files named by ``specs``, in order, each once.

    A folder gives its videos and ``.jsonl`` files (not recursive, sorted by name), and so
    does a glob pattern; anything else is kept as given, so a missing file becomes a
    failed input with a clear message instead of stopping the batch.
    """
    out: list[Path] = []
    for spec in specs:
        text = os.fspath(spec)
        path = Path(text).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and _is_input(p)))
        elif not path.exists() and glob.has_magic(text):
            out.extend(sorted(Path(p) for p in glob.glob(os.path.expanduser(text))
                              if Path(p).is_file() and _is_input(Path(p))))
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = Path(os.path.realpath(p))  # never raises, also for a symlink loop
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def output_dirs(inputs: Sequence[Path], out_root: Path) -> list[Path]:
    """One output folder per input: ``out_root/<stem>``; a repeated stem gets ``-2``, ``-3``…"""
    used: set[str] = set()
    dirs = []
    for p in inputs:
        name = p.stem or "input"
        k = 2
        while name.lower() in used:
            name = f"{p.stem}-{k}"
            k += 1
        used.add(name.lower())
        dirs.append(out_root / name)
    return dirs


# ------------------------------------------------------------------------- output folders
INCOMPLETE = ".incomplete"  # suffix of the folder an interrupted run leaves its part in


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM/SIGHUP) during an input; the message says where its result and
    its part are; ``exit_status`` is 128 + the signal."""

    exit_status = 130


def analyse_into(path: Path, out_dir: Path, options: AnalyseOptions,
                 estimator: Any = None) -> InputResult:
    """Analyse ``path`` into its output folder ``out_dir``: the one place where a batch
    creates and fills an input's folder (every input of :func:`analyse_many` goes through
    here, in this process or in a worker).

    The folder is built aside (a hidden sibling) and swapped in whole when the input is
    done, so ``out_dir`` always holds one complete result: the new one, or the previous
    one. An input that fails before any result leaves the previous result as it was. An
    interruption (Ctrl-C) leaves the previous result too, and moves what was done to
    ``<out_dir>.incomplete``; it raises :class:`Interrupted` saying so. A failed input's
    part (the landmarks found before the model failed) goes there too.
    """
    if path.is_symlink() and not path.exists():
        why = "a symlink loop" if _is_loop(path) else "a broken symlink"
        return InputResult(path, out_dir, error=f"{path}: {why}")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".building",
                                      dir=out_dir.parent))
    except OSError as exc:
        return InputResult(path, out_dir, error=f"Cannot create the result folder {out_dir}: "
                           f"{exc.strerror or exc}")
    try:
        return _finish(analyse_file(path, build, options, estimator), build, out_dir)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as one (the CLI)
        stop = Interrupted(_keep_part(build, out_dir))
        stop.exit_status = int(getattr(exc, "exit_status", 130))
        raise stop from None
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def _finish(result: InputResult, build: Path, out_dir: Path) -> InputResult:
    """Swap a result in, or keep a failed input's part aside."""
    if result.summary is None:  # failed: the previous result stays, a part is kept aside
        note = _keep_part(build, out_dir)
        result = _moved(result, build, out_dir, files=False)
        if "what was done" in note:
            result = replace(result, error=f"{result.error}; {note.split('; ', 1)[1]}"
                             .rstrip("."))
        return result
    try:
        _swap_in(build, out_dir)
    except OSError as exc:
        shutil.rmtree(build, ignore_errors=True)
        return replace(result, summary=None, files=(), error=(
            f"Cannot replace the result folder {out_dir}: {exc.strerror or exc}"))
    return _moved(result, build, out_dir)


def _is_loop(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _swap_in(build: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by the complete ``build`` folder (two renames on one disk)."""
    os.chmod(build, 0o755)  # mkdtemp makes it private; a result folder is not
    old = None
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir() or out_dir.is_symlink():
            raise NotADirectoryError(errno.ENOTDIR, "it is not a folder", str(out_dir))
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old",
                                    dir=out_dir.parent))
        os.rename(out_dir, old / out_dir.name)
    os.rename(build, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    stale = out_dir.with_name(out_dir.name + INCOMPLETE)
    if stale.is_dir():  # superseded by this complete result
        shutil.rmtree(stale, ignore_errors=True)


def _keep_part(build: Path, out_dir: Path) -> str:
    """Move an interrupted input's files to ``<out_dir>.incomplete``; what to tell."""
    if not build.exists():  # interrupted after the swap: the new result is complete
        return f"the new result in {out_dir} is complete."
    kept = f"the previous result in {out_dir} is untouched" if out_dir.is_dir() \
        else f"no result in {out_dir}"
    part = out_dir.with_name(out_dir.name + INCOMPLETE)
    try:
        if not any(build.iterdir()):
            shutil.rmtree(build, ignore_errors=True)
            return f"{kept}."
        if part.exists():
            shutil.rmtree(part)
        os.chmod(build, 0o755)
        os.rename(build, part)
    except OSError:
        shutil.rmtree(build, ignore_errors=True)
        return f"{kept}."
    return f"{kept}; what was done is in {part}."


def _moved(result: InputResult, build: Path, out_dir: Path, *, files: bool = True
           ) -> InputResult:
    """``result`` with paths (and messages) naming ``out_dir`` instead of ``build``."""
    def fix(text: str | None) -> str | None:
        return None if text is None else text.replace(str(build), str(out_dir))

    moved = tuple(out_dir / f.relative_to(build) for f in result.files
                  if files and f.is_relative_to(build))
    return replace(result, out_dir=out_dir, error=fix(result.error), note=fix(result.note),
                   files=moved)


# ------------------------------------------------------------------------- batches
class _SharedModel:
    """One pose model for every video a process analyses in a run: loaded on the first
    video, reset by each (:func:`analyse_file`). None when it cannot be loaded: then each
    video reports why."""

    def __init__(self, options: AnalyseOptions) -> None:
        self.options = options
        self.estimator: Any = None
        self._tried = False

    def for_input(self, path: Path) -> Any:
        if not self._tried and path.suffix.lower() not in LANDMARK_SUFFIXES \
                and path.is_file():
            from posecheck.errors import PosecheckError

            self._tried = True
            try:
                self.estimator = new_estimator(self.options)
            except PosecheckError:
                self.estimator = None
        return self.estimator

    def close(self) -> None:
        if self.estimator is not None:
            self.estimator.close()
            self.estimator = None


_WORKER_MODEL: _SharedModel | None = None  # in a worker process of a several-file run


def _init_worker(options: AnalyseOptions) -> None:
    """Worker processes: one OpenCV thread each (for colour conversion and resizing), so N
    workers do not fight over cores; one pose model for all the files of this worker."""
    import cv2

    global _WORKER_MODEL
    cv2.setNumThreads(1)
    _WORKER_MODEL = _SharedModel(options)
    # closed when the worker exits, before MediaPipe's own threads are shut down
    multiprocessing.util.Finalize(None, _WORKER_MODEL.close, exitpriority=10)
    signal.signal(signal.SIGINT, _note_stop)  # between inputs: remember, do not raise
    from posecheck.pose import LOG_ENV_VAR

    if not os.environ.get(LOG_ENV_VAR):  # results and errors come back through the pool;
        devnull = os.open(os.devnull, os.O_WRONLY)  # MediaPipe's native log lines (e.g.
        os.dup2(devnull, 2)  # of a first inference cut by Ctrl-C) would only add noise
        os.close(devnull)


_STOP_REQUESTED = False  # a worker got Ctrl-C while it was between inputs


def _note_stop(signum: int, frame: Any) -> None:
    global _STOP_REQUESTED
    _STOP_REQUESTED = True


def _raise_once(signum: int, frame: Any) -> None:
    """During an input: the first SIGINT stops it; later ones (the parent repeats it) must
    not cut the moving of its part aside."""
    _note_stop(signum, frame)
    signal.signal(signal.SIGINT, _note_stop)
    raise KeyboardInterrupt


def _analyse_job(args: tuple[Path, Path, AnalyseOptions]) -> InputResult:
    """One input in a worker. Workers start with SIGINT ignored (:func:`_sigint_ignored`):
    a Ctrl-C to the process group must not hit one in its imports or while it waits for
    work (a traceback each); during an input it stops it like in a one-process run."""
    path, out_dir, options = args
    if _STOP_REQUESTED:
        raise KeyboardInterrupt(f"{path} was not started")
    signal.signal(signal.SIGINT, _raise_once)
    try:
        estimator = _WORKER_MODEL.for_input(path) if _WORKER_MODEL is not None else None
        return analyse_into(path, out_dir, options, estimator)
    finally:
        signal.signal(signal.SIGINT, _note_stop)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start, so they start ignoring it (an inherited
    "ignore" survives the start of a new interpreter; a blocked mask does not). A Ctrl-C
    in these milliseconds is lost; pressing it again works."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _stop_workers(pool: Any, futures: Iterable[Any], timeout_s: float = 30.0) -> None:
    """Ctrl-C (or SIGTERM) in this process: stop the inputs in progress the same way (each
    keeps its previous result and moves its part aside), drop those not started. SIGINT is
    repeated until they are done: a worker still starting ignores it."""
    from concurrent.futures import wait

    procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown drops them
    pool.shutdown(wait=False, cancel_futures=True)
    pending = [f for f in futures if not f.done()]
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        for proc in procs:
            if proc.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGINT)
        pending = list(wait(pending, timeout=0.5).not_done)


def cores() -> int:
    """CPU cores this process may run on (its affinity; the machine's count elsewhere)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_jobs(n_inputs: int) -> int:
    """min(inputs, CPU cores), at least 1."""
    return max(1, min(n_inputs, cores()))


def analyse_many(paths: Sequence[Path], options: AnalyseOptions, jobs: int | None = None,
                 on_result: Callable[[InputResult], None] | None = None) -> list[InputResult]:
    """Analyse every input (outputs in :func:`output_dirs`); results in input order.

    ``jobs`` worker processes (default :func:`default_jobs`); with 1 everything runs in this
    process, with one pose model loaded once. ``on_result`` is called with each result as
    soon as it is done (any order).
    """
    dirs = output_dirs(paths, options.out_dir)
    jobs = default_jobs(len(paths)) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if jobs > 1 and len(paths) > 1:
        return _analyse_pool(paths, dirs, options, jobs, on_result)
    results = []
    model = _SharedModel(options)
    try:
        for p, d in zip(paths, dirs, strict=True):
            results.append(analyse_into(p, d, options, model.for_input(p)))
            if on_result is not None:
                on_result(results[-1])
    finally:
        model.close()
    return results


def _analyse_pool(paths: Sequence[Path], dirs: Sequence[Path], options: AnalyseOptions,
                  jobs: int, on_result: Callable[[InputResult], None] | None
                  ) -> list[InputResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Per-frame bars of parallel files would interleave; the CLI shows one line per file.
    opts = replace(options, progress=False)
    ctx = multiprocessing.get_context("spawn")  # no fork after threads / OpenCV init
    results: dict[int, InputResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(opts,)) as pool:
        with _sigint_ignored():  # the workers start here
            futures = {pool.submit(_analyse_job, (p, d, opts)): i
                       for i, (p, d) in enumerate(zip(paths, dirs, strict=True))}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except BrokenProcessPool:
                    results[i] = InputResult(paths[i], dirs[i], error=(
                        f"{paths[i]}: the worker process analysing it died (out of memory, "
                        "or a crash in the decoder or the pose model); try again with "
                        "--jobs 1"))
                except KeyboardInterrupt as exc:  # only that worker got a Ctrl-C
                    results[i] = InputResult(paths[i], dirs[i], error=(
                        f"{paths[i]}: interrupted; {exc}" if str(exc) else
                        f"{paths[i]}: interrupted"))
                if on_result is not None:
                    on_result(results[i])
        except KeyboardInterrupt:
            _stop_workers(pool, futures)
            raise
    return [results[i] for i in range(len(paths))]
