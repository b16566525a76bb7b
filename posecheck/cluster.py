"""``posecheck analyse --cluster``: the same per-input analysis, spread over a Ray cluster.

API::

    analyse_on_cluster(paths, options, cluster, on_result=None) -> list[InputResult]
    ClusterBatch(paths, options, cluster).run(on_result)   # the same, keeping worker facts

The options (:class:`posecheck.cluster_connect.ClusterOptions`), Ray's import and connecting
to the cluster are :mod:`posecheck.cluster_connect`; Ray is imported only when a batch
starts, so the base install and ``posecheck --help`` never need it.

How it runs (docs/cluster.md):

- ``address``: ``local`` starts a Ray runtime on this machine (all cores) for the batch and
  stops it afterwards; ``auto`` joins the cluster this machine belongs to (``ray start``
  was run here); ``ray://HOST:PORT`` connects to a remote cluster through Ray Client;
  ``HOST:PORT`` (the address ``ray start --head`` prints) joins it directly. When this
  process has already called ``ray.init`` (tests), that runtime is used as it is.
- One pose-model actor (:class:`posecheck.cluster_actor.Analyser`) per ``cpus_per_task``
  CPUs of the cluster (at most one per input), set up like a worker process of a local
  several-file run (:mod:`posecheck.batch`): it loads the pose model once, with its first video, and
  analyses one input at a time with :func:`posecheck.batch.analyse_into` (the model reset
  for each, as locally): the same code, the same outputs. An input is one Ray task given
  to the next idle actor.
- Inputs are read where they are: a path every node sees (shared storage). Relative paths
  mean the same folder as on this machine (each actor works in this process's working
  folder when its node has it). Outputs are written by the actors under ``--out`` (shared
  storage too), or, with ``collect``, into a temporary folder on the worker and shipped
  back to this process, which writes them under ``--out``.
- The history database is never touched here: results come back to this process and the
  caller records them (``on_result``), exactly as for a local batch.
- A worker that dies (killed, out of memory, node lost) or a task that fails fails only
  its input: it is tried once more (on a restarted or another actor), then reported like
  any bad input. Ctrl-C (KeyboardInterrupt) asks the running actors to stop (each handles
  it as a local Ctrl-C: the previous result kept, the part done moved to
  ``NAME.incomplete``), keeps everything already finished, stops the actors and raises
  :class:`posecheck.batch.Interrupted` saying what happened to the running inputs.
- Progress: one bar for the batch (inputs done / total, frames per second over all
  actors, polled from the actors twice a second), on stderr when ``options.progress``.

The actor's side (no Ray import) is :mod:`posecheck.cluster_actor`.

Offline: see :func:`posecheck.cluster_connect.start_local`.

Must not print or exit (the CLI does that), except through the progress bar.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from posecheck.analyse_input import AnalyseOptions, InputResult
from posecheck.batch import output_dirs
from posecheck.cluster_connect import ClusterOptions, cluster_slots, connected, import_ray
from posecheck.errors import ConfigError, PosecheckError

ATTEMPTS = 2  # an input whose worker died is tried once more
POLL_S = 0.5  # progress poll interval
STOP_WAIT_S = 10.0  # after Ctrl-C: how long running actors get to abandon their input
RESTART_WAIT_S = 300.0  # an actor not back after this long is given up


@dataclass
class _Rate:
    """Frames per second over the last ``window_s`` seconds."""

    window_s: float = 10.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, now: float, total: int) -> float | None:
        self.samples.append((now, total))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window_s:
            self.samples.popleft()
        t0, f0 = self.samples[0]
        return (total - f0) / (now - t0) if now - t0 > 0.5 else None


class ClusterBatch:
    """One batch on the cluster (see the module docstring).

    After :meth:`run`: ``attempts[i]`` (tries of input ``i``) and ``workers[i]`` (host, pid
    and model process pid of the actor that analysed it, when it finished). While it
    runs: ``frames`` (analysed so far, as last polled) and ``actors``.
    """

    def __init__(self, paths: Sequence[Path], options: AnalyseOptions,
                 cluster: ClusterOptions) -> None:
        self.paths = list(paths)
        self.options = options
        self.cluster = cluster
        self.dirs = output_dirs(self.paths, options.out_dir)
        self.attempts = [0] * len(self.paths)
        self.workers: dict[int, dict[str, Any]] = {}
        self.frames = 0
        self.actors: list[Any] = []  # the actor handles while running (tests kill one)
        self._polled: dict[int, int] = {}

    def run(self, on_result: Callable[[InputResult], None] | None = None
            ) -> list[InputResult]:
        """Analyse every input; results in input order, ``on_result`` as each finishes."""
        ray = import_ray()
        if not self.paths:
            return []
        with connected(ray, self.cluster.address):
            slots = cluster_slots(ray, self.cluster.cpus_per_task)
            if slots < 1:
                raise ConfigError(f"No node of the Ray cluster has "
                                  f"{self.cluster.cpus_per_task} CPUs for one pose model; "
                                  "use a smaller --cluster-cpus-per-task.")
            from posecheck.cluster_actor import Analyser

            actor_cls = ray.remote(num_cpus=self.cluster.cpus_per_task, max_restarts=-1,
                                   max_task_retries=0, max_concurrency=2)(Analyser)
            cwd = os.getcwd()
            opts = self._opts()
            actors = [actor_cls.remote(cwd, opts)
                      for _ in range(min(slots, len(self.paths)))]
            self.actors = actors
            try:
                return self._schedule(ray, actors, on_result)
            finally:
                self.actors = []
                for a in actors:
                    with contextlib.suppress(Exception):
                        ray.kill(a)

    # ------------------------------------------------------------------ the loop
    def _opts(self) -> AnalyseOptions:
        # workers never show bars
        out = self.options.out_dir
        return replace(self.options, progress=False,
                       out_dir=out if out.is_absolute() else Path.cwd() / out)

    def _target(self, i: int) -> Path:
        d = self.dirs[i]
        return d if d.is_absolute() else Path.cwd() / d

    def _schedule(self, ray: Any, actors: list[Any],
                  on_result: Callable[[InputResult], None] | None) -> list[InputResult]:
        from tqdm import tqdm

        opts = self._opts()
        results: dict[int, InputResult] = {}
        pending = deque(range(len(self.paths)))
        idle = list(range(len(actors)))
        running: dict[Any, tuple[int, int]] = {}  # ref -> (input, actor)
        polls: dict[Any, int] = {}  # poll ref -> actor
        dead: set[int] = set()
        restarting: dict[int, float] = {}  # actor -> since when (monotonic s)
        started: dict[int, float] = {}  # input -> when its last try started (epoch s)
        rate = _Rate()
        bar = tqdm(total=len(self.paths), desc="analyse", unit="input", file=sys.stderr,
                   disable=not self.options.progress, dynamic_ncols=True, leave=False)

        def finish(i: int, result: InputResult) -> None:
            results[i] = result
            bar.update(1)
            if on_result is not None:
                with tqdm.external_write_mode(file=sys.stderr):
                    on_result(result)

        try:
            while pending or running:
                while pending and idle:
                    i, k = pending.popleft(), idle.pop(0)
                    self.attempts[i] += 1
                    started[i] = time.time()
                    ref = actors[k].analyse.remote(self.paths[i], self._target(i), opts,
                                                   self.cluster.collect)
                    running[ref] = (i, k)
                if not running and not restarting:  # every actor is gone
                    for i in pending:
                        finish(i, InputResult(self.paths[i], self.dirs[i], error=(
                            f"{self.paths[i]}: no worker of the Ray cluster is left to "
                            "analyse it")))
                    pending.clear()
                    break
                ready = []
                if running:
                    ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                else:  # waiting for an actor to come back
                    time.sleep(POLL_S)
                for ref in ready:
                    i, k = running.pop(ref)
                    result, actor_ok = self._collect(ray, ref, i, k)
                    if actor_ok:
                        idle.append(k)
                    else:  # back to work once it answers a poll again (Ray restarts it)
                        restarting[k] = time.monotonic()
                        if not self.cluster.collect:
                            _remove_leftovers(self._target(i), started[i])
                    if result is None:  # try again
                        pending.appendleft(i)
                    else:
                        finish(i, result)
                answered, died = self._poll(ray, actors, polls, dead)
                for k in list(restarting):
                    if k in answered:
                        idle.append(k)
                    elif k in died or time.monotonic() - restarting[k] > RESTART_WAIT_S:
                        dead.add(k)
                    else:
                        continue
                    del restarting[k]
                fps = rate.add(time.monotonic(), self.frames)
                if fps is not None:
                    bar.set_postfix_str(f"{fps:.0f} frames/s", refresh=False)
                bar.refresh()
        except KeyboardInterrupt as exc:  # Ctrl-C (or SIGTERM/SIGHUP made one by the CLI)
            from posecheck.batch import Interrupted

            stop = Interrupted(self._cancel(ray, actors, running))
            stop.exit_status = int(getattr(exc, "exit_status", 130))
            raise stop from None
        finally:
            bar.close()
        return [results[i] for i in range(len(self.paths))]

    def _collect(self, ray: Any, ref: Any, i: int, k: int
                 ) -> tuple[InputResult | None, bool]:
        """The result of input ``i`` from actor ``k`` (None: try again) and whether the
        actor is fine."""
        from ray.exceptions import RayActorError, RayError

        actor_ok = True
        try:
            result, files, info = ray.get(ref)
        except RayActorError:  # the actor's process died: Ray restarts it (or cannot)
            actor_ok = False
            why = "the worker analysing it died (killed, out of memory, node lost, or a crash)"
        except RayError as exc:  # the task raised (a bug, or the object was lost)
            cause = getattr(exc, "cause", None) or exc
            lines = str(cause).strip().splitlines() or [""]
            why = f"the worker failed ({type(cause).__name__}: {lines[-1]})"
        else:
            self.workers[i] = info
            self._count(k, int(info["frames"]))
            try:
                return self._place(result, files, i), True
            except (PosecheckError, OSError) as exc:  # the collected files cannot be written
                why = getattr(exc, "strerror", None) or str(exc)
                return InputResult(self.paths[i], self.dirs[i], error=(
                    f"{self.paths[i]}: analysed, but its outputs cannot be written here: "
                    f"{why}")), True
        if self.attempts[i] < ATTEMPTS:
            return None, actor_ok
        return InputResult(self.paths[i], self.dirs[i], error=(
            f"{self.paths[i]}: {why}; tried {self.attempts[i]} times")), actor_ok

    def _place(self, result: InputResult, files: dict[str, bytes] | None, i: int
               ) -> InputResult:
        """``result`` as seen from here: its folder named as locally, collected files
        written under it, and a note when it needed a second try."""
        out = self.dirs[i]
        if files is not None:
            written = _write_collected(out, files)
        else:
            written = tuple(out / Path(f).relative_to(self._target(i)) for f in result.files)
        note = result.note
        if self.attempts[i] > 1:
            retry = f"analysed on try {self.attempts[i]}: the first worker died"
            note = f"{note}; {retry}" if note else retry
        return replace(result, out_dir=out, files=written, note=note)

    def _poll(self, ray: Any, actors: list[Any], polls: dict[Any, int], dead: set[int]
              ) -> tuple[set[int], set[int]]:
        """Collect finished progress polls and send new ones (one outstanding per live
        actor); returns the actors that answered and those Ray reports dead for good."""
        from ray.exceptions import ActorDiedError

        answered: set[int] = set()
        died: set[int] = set()
        if polls:
            done, _ = ray.wait(list(polls), num_returns=len(polls), timeout=0)
            for ref in done:
                k = polls.pop(ref)
                try:
                    n = int(ray.get(ref))
                except ActorDiedError:
                    died.add(k)
                    continue
                except Exception:  # noqa: BLE001 - restarting (or unreachable): no news
                    continue
                answered.add(k)
                self._count(k, n)
        waiting = set(polls.values())
        for k, a in enumerate(actors):
            if k not in waiting and k not in dead and k not in died:
                polls[a.poll.remote()] = k
        return answered, died

    def _count(self, k: int, n: int) -> None:
        """Actor ``k`` has analysed ``n`` frames in all (as it last said)."""
        last = self._polled.get(k, 0)
        if n != last:
            self.frames += n - last if n > last else n  # restarted: it counts from 0
            self._polled[k] = n

    def _cancel(self, ray: Any, actors: list[Any], running: dict[Any, tuple[int, int]]
                ) -> str:
        """Ask the running actors to abandon their input, wait a little for them; what to
        tell about the inputs that were running."""
        for _, k in running.values():
            with contextlib.suppress(Exception):
                actors[k].stop.remote()
        told = []
        with contextlib.suppress(Exception):
            done, _ = ray.wait(list(running), num_returns=len(running), timeout=STOP_WAIT_S)
            for ref in done:
                with contextlib.suppress(Exception):
                    told.append(ray.get(ref)[0].error)
        if len(told) < len(running):
            told.append(f"{len(running) - len(told)} input(s) stopped with their worker")
        return " ".join(t for t in told if t)


def _write_collected(out_dir: Path, files: dict[str, bytes]) -> tuple[Path, ...]:
    """Write an input's collected files as a local run would: the result folder built
    aside and swapped in whole (:func:`posecheck.batch._swap_in`), a part done into
    ``NAME.incomplete``. Returns the result's files."""
    from posecheck.batch import _swap_in
    from posecheck.outputs import atomic_write_bytes

    name = out_dir.name
    result = {k.split("/", 1)[1]: v for k, v in files.items() if k.startswith(f"{name}/")}
    part = {k.split("/", 1)[1]: v for k, v in files.items()
            if k.startswith(f"{name}.incomplete/")}
    if part:
        aside = out_dir.with_name(f"{name}.incomplete")
        shutil.rmtree(aside, ignore_errors=True)
        for rel, data in part.items():
            atomic_write_bytes(aside / rel, data)
    if not result:
        return ()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".building", dir=out_dir.parent))
    try:
        for rel, data in result.items():
            atomic_write_bytes(build / rel, data)
        _swap_in(build, out_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return tuple(out_dir / rel for rel in result)


def _remove_leftovers(out_dir: Path, since: float) -> None:
    """Delete the folder a killed worker was building for ``out_dir``: the hidden sibling
    ``.NAME.XXXXXXXX.building`` (:func:`posecheck.batch.analyse_into`) made since its try
    started. Nothing else is touched (another input's ``.NAME.other...`` does not match)."""
    import re

    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.[a-z0-9_]{{8}}\.building")
    with contextlib.suppress(OSError):
        for p in out_dir.parent.iterdir():
            with contextlib.suppress(OSError):
                if pattern.fullmatch(p.name) and p.is_dir() and p.stat().st_mtime >= since - 1:
                    shutil.rmtree(p)


def analyse_on_cluster(paths: Sequence[Path], options: AnalyseOptions,
                       cluster: ClusterOptions,
                       on_result: Callable[[InputResult], None] | None = None
                       ) -> list[InputResult]:
    """Analyse every input on the cluster; like :func:`posecheck.batch.analyse_many`
    (results in input order, ``on_result`` as each finishes, in any order)."""
    return ClusterBatch(paths, options, cluster).run(on_result)
