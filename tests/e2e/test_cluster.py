"""``posecheck analyse --cluster`` on a real local Ray runtime (two CPUs: one pose-model
actor): the same bytes as a run on this machine, bad inputs reported, the history written
once by the driver, a killed worker's input retried once and then reported.

One Ray runtime for the module (starting one takes 10-20 s on a busy 2-core machine)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="needs the [cluster] extra: pip install -e '.[cluster]'")

from posecheck.analyse_input import AnalyseOptions  # noqa: E402
from posecheck.cli import main  # noqa: E402
from posecheck.cluster import ClusterBatch  # noqa: E402
from posecheck.cluster_connect import ClusterOptions, start_local  # noqa: E402
from posecheck.store import Store  # noqa: E402

pytestmark = [pytest.mark.cluster, pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
VIDEO = SAMPLES / "pose2sim_cam01.mp4"  # 100 frames
VIDEO2 = SAMPLES / "tfjs_pose_squats.mp4"  # 65 frames
LANDMARKS = SAMPLES / "pose2sim_cam01.landmarks.jsonl"


@pytest.fixture(scope="module")
def ray_runtime():
    env = dict(os.environ)
    start_local(num_cpus=2)  # ray.init(num_cpus=2), offline
    try:
        yield
    finally:
        ray.shutdown()
        os.environ.clear()  # Ray sets RAY_AUTH_MODE, PYTHONBREAKPOINT: not for later tests
        os.environ.update(env)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    broken = folder / "broken.mp4"
    broken.write_bytes(VIDEO2.read_bytes()[:100_000])  # truncated: cannot be opened
    return [VIDEO, VIDEO2, LANDMARKS, broken]


@pytest.fixture(scope="module")
def local_run(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same batch without --cluster: the reference."""
    out = tmp_path_factory.mktemp("local")
    assert main(["analyse", *map(str, inputs), "--out", str(out / "out"), "--db",
                 str(out / "h.sqlite")]) == 1  # the broken file
    return out / "out"


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative name; summary.json without its start time."""
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "summary.json":
                s = json.loads(data)
                assert s.pop("started_at")
                data = json.dumps(s, sort_keys=True).encode()
            files[p.relative_to(folder).as_posix()] = data
    return files


def test_cluster_run_gives_the_local_bytes_and_history(ray_runtime, inputs, local_run,
                                                       tmp_path, capsys):
    capsys.readouterr()
    db = tmp_path / "h.sqlite"
    out = tmp_path / "out"
    assert main(["analyse", *map(str, inputs), "--out", str(out), "--db", str(db),
                 "--cluster", "local"]) == 1
    printed = capsys.readouterr()
    lines = {line.split(":", 1)[0]: line for line in printed.out.splitlines()}
    assert set(lines) == {p.name for p in inputs}
    assert lines["broken.mp4"].startswith("broken.mp4: error: ") \
        and "cannot be opened" in lines["broken.mp4"]
    assert "Traceback" not in printed.out + printed.err
    assert "3 of 4 inputs analysed; 1 failed." in printed.err
    local, cluster = _tree(local_run), _tree(out)
    assert len(local) == 13 and "tfjs_pose_squats/annotated.mp4" in local  # 5 + 5 + 3 files
    assert sorted(cluster) == sorted(local)
    assert [n for n in local if local[n] != cluster[n]] == []
    with Store.open(db) as store:
        stored = sorted(s.input for s in store.sessions())
    assert stored == sorted(str(p) for p in inputs[:3])  # each good input once


def test_collect_ships_the_same_files_back_from_one_model(ray_runtime, local_run,
                                                          tmp_path):
    out = tmp_path / "out"
    batch = ClusterBatch([VIDEO2, LANDMARKS, VIDEO], AnalyseOptions(out_dir=out,
                                                                   progress=False),
                         ClusterOptions("local", collect=True))
    results = batch.run()
    assert all(r.ok for r in results), [r.error for r in results]
    assert [r.out_dir for r in results] == [out / "tfjs_pose_squats",
                                            out / "pose2sim_cam01.landmarks",
                                            out / "pose2sim_cam01"]
    local, collected = _tree(local_run), _tree(out)
    assert sorted(collected) == sorted(n for n in local if not n.startswith("broken"))
    assert [n for n in collected if local[n] != collected[n]] == []
    assert all(p.exists() for r in results for p in r.files)
    # two CPUs, two per actor: one actor did all three, with the model it loaded once
    first, _, last = (batch.workers[i] for i in range(3))
    assert first["pid"] == last["pid"] and first["model"] == last["model"] is not None
    assert batch.frames >= 100 + 65 + 100 - 1  # progress polled from the actor


def _kill_when_running(batch: ClusterBatch, times: int, min_frames: int = 15) -> list[int]:
    """Kill the (only) actor mid-input ``times`` times; the frame counts seen at each kill."""
    seen = []
    deadline = time.monotonic() + 240
    for n in range(times):
        start = batch.frames
        # kill try n+1 of the first input once it is under way on the (restarted) actor
        while (batch.attempts[0] < n + 1 or batch.frames < start + min_frames
               or not batch.actors):
            assert time.monotonic() < deadline, "the batch never got going"
            time.sleep(0.01)
            if batch.attempts[0] == n + 1 and n > 0 and batch.frames > start:
                break
        seen.append(batch.frames)
        ray.kill(batch.actors[0], no_restart=False)  # the worker process dies at once
    return seen


def _run_in_thread(batch: ClusterBatch) -> tuple[threading.Thread, list]:
    box: list = []
    thread = threading.Thread(target=lambda: box.append(batch.run()), daemon=True)
    thread.start()
    return thread, box


def test_a_killed_worker_s_input_is_retried_once_then_reported(ray_runtime, local_run,
                                                               tmp_path):
    opts = AnalyseOptions(out_dir=tmp_path / "once", progress=False)
    batch = ClusterBatch([VIDEO, LANDMARKS], opts, ClusterOptions("local"))
    thread, box = _run_in_thread(batch)
    _kill_when_running(batch, 1)
    thread.join(240)
    video, landmarks = box[0]
    assert video.ok and landmarks.ok and batch.attempts == [2, 1]
    assert "try 2" in video.note
    # the second try, on the restarted actor, wrote exactly what a local run writes
    local = _tree(local_run)
    again = _tree(tmp_path / "once")
    assert sorted(again) == sorted(n for n in local if n.split("/")[0] in
                                   ("pose2sim_cam01", "pose2sim_cam01.landmarks"))
    assert [n for n in again if local[n] != again[n]] == []
    assert not [p for p in (tmp_path / "once").rglob(".*")]  # no temporary files left

    # killed on both tries: reported like a bad input, the other input still analysed
    shutil.rmtree(tmp_path / "once")
    batch = ClusterBatch([VIDEO, LANDMARKS], replace(opts, out_dir=tmp_path / "twice"),
                         ClusterOptions("local"))
    thread, box = _run_in_thread(batch)
    _kill_when_running(batch, 2)
    thread.join(240)
    video, landmarks = box[0]
    assert not video.ok and "died" in video.error and "tried 2 times" in video.error
    assert landmarks.ok and batch.attempts == [2, 1]


def test_ctrl_c_keeps_what_finished_and_stops_everything(tmp_path):
    """Ctrl-C in a terminal (SIGINT to the whole process group, Ray's processes included)
    during a --cluster local run with two actors: exit 130 at once, the finished input
    complete and in the history, the running one's part aside, no process left."""
    import signal
    import subprocess
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_analyse import make_long_video

    long = tmp_path / "long.mp4"
    make_long_video(VIDEO, 4, long)  # 400 frames: still running when the short one is done
    out, db = tmp_path / "out", tmp_path / "h.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "analyse", str(VIDEO2), str(long), "--out",
         str(out), "--db", str(db), "--cluster", "local", "--cluster-cpus-per-task", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("tfjs_pose_squats.mp4: 65 frames"), proc.communicate()
        time.sleep(1)
        os.killpg(proc.pid, signal.SIGINT)
        t0 = time.monotonic()
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and time.monotonic() - t0 < 20
    assert rest == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"Interrupted: {long}: interrupted;")
    assert sorted(p.name for p in out.iterdir()) == ["long.incomplete", "tfjs_pose_squats"]
    with Store.open(db) as store:
        assert [s.input for s in store.sessions()] == [str(VIDEO2)]
    deadline = time.monotonic() + 15
    while subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "processes of the run left behind"
        time.sleep(0.5)
