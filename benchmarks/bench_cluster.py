"""Benchmark ``posecheck analyse --cluster``: this machine alone vs a local Ray runtime, and
a simulated multi-node cluster growing node by node.

Run: ``python benchmarks/bench_cluster.py [CLIP] [--copies N] [--repeats R] [--nodes K]
[--address ADDRESS]`` (needs ``pip install -e '.[cluster]'``; default clip
samples/tfjs_pose_squats.mp4, 65 frames 720x1280; 8 copies; 3 repeats; 1..3 nodes).

What it prints (whole ``posecheck analyse`` processes, timed from start to exit, so Ray's
start-up and the model loads are included; ``--no-video --no-store``):

1. N copies of the clip: ``analyse`` on this machine (its default: one process per core)
   vs ``analyse --cluster local`` (a Ray runtime with all cores, one pose-model actor per
   2 CPUs), alternating, R repeats each; medians and the ratio local / cluster (1.0 =
   parity; on 2 cores parity is what to expect: the point is that the same command scales
   out).
2. A simulated cluster: a head (``ray start --head --num-cpus=0``: coordination only) and
   1..K worker "nodes" started with ``ray start --address=HEAD`` on distinct ports of this
   machine, one CPU each; for each size the batch runs with ``--cluster HEAD
   --cluster-cpus-per-task 1`` (one actor per node), R repeats, median wall time, frames/s
   and the speed-up over one node. Throughput grows with the nodes until the machine's
   cores run out (2 here: a third node only shares them).
   With ``--address ADDRESS`` part 2 runs the batch on that existing cluster instead
   (e.g. ``auto`` on a real one) with the default ``--cluster-cpus-per-task``.

The simulated cluster lives in its own temporary Ray folder (never /tmp/ray), token
authentication on with a token made for the run, usage statistics off, and is stopped by
killing the process groups of the ``ray start --block`` processes this script started.
Only the standard library, cv2 (frame count) and posecheck's CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIP = ROOT / "samples" / "tfjs_pose_squats.mp4"
RAY_ENV = {  # as posecheck's own local runtime (posecheck/cluster_connect.py): nothing goes out
    "RAY_USAGE_STATS_ENABLED": "0",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "RAY_AUTH_MODE": "token",
}


def frames_of(clip: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def analyse(inputs: list[Path], out: Path, *extra: str, env: dict[str, str] | None = None
            ) -> float:
    """Wall time (s) of one ``posecheck analyse`` process; raises when it fails."""
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "posecheck", "analyse", *map(str, inputs),
                           "--no-video", "--no-store", "--out", str(out), *extra],
                          capture_output=True, text=True, env=env, timeout=3600)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"analyse {' '.join(extra)} failed:\n{proc.stdout}{proc.stderr}")
    return dt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimulatedCluster:
    """A head and worker nodes on this machine, each a ``ray start --block`` process in a
    process group of its own (stopped by killing those groups)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp  # short path: Ray's unix sockets live under it
        self.env = {**os.environ, **RAY_ENV, "RAY_AUTH_TOKEN": secrets.token_hex(16)}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

    def _start(self, args: list[str], k: int) -> None:
        log = open(self.tmp / f"node{k}.log", "wb")  # noqa: SIM115 - kept for the process
        ports = [free_port() for _ in range(6)]
        proc = subprocess.Popen(
            ["ray", "start", "--block", f"--temp-dir={self.tmp}", "--disable-usage-stats",
             f"--node-manager-port={ports[0]}", f"--object-manager-port={ports[1]}",
             f"--dashboard-agent-listen-port={ports[2]}",
             f"--dashboard-agent-grpc-port={ports[3]}", f"--runtime-env-agent-port={ports[4]}",
             f"--metrics-export-port={ports[5]}", "--object-store-memory=100000000", *args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        self.procs.append(proc)

    def start_head(self) -> None:
        self._start(["--head", f"--port={self.port}", "--num-cpus=0",
                     "--include-dashboard=false"], 0)
        self.wait_for(0)

    def add_node(self) -> None:
        k = len(self.procs)
        self._start([f"--address={self.address}", "--num-cpus=1"], k)
        self.wait_for(k)

    def wait_for(self, nodes: int, timeout: float = 180) -> None:
        """Until the cluster reports ``nodes`` CPUs (the head has none)."""
        code = (f"import ray, logging; ray.init(address={self.address!r}, "
                "logging_level=logging.ERROR); "
                "print(int(ray.cluster_resources().get('CPU', 0)))")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                logs = "".join(f.read_text() for f in sorted(self.tmp.glob("node*.log")))
                raise RuntimeError(f"a ray start process ended:\n{logs[-2000:]}")
            time.sleep(2)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                      text=True, env=self.env, timeout=30)
                if proc.returncode == 0 and proc.stdout.strip() == str(nodes):
                    return
        raise RuntimeError(f"the simulated cluster did not reach {nodes} CPUs")

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in reversed(self.procs):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, sig)
            deadline = time.monotonic() + 15
            while any(p.poll() is None for p in self.procs) and time.monotonic() < deadline:
                time.sleep(0.2)


@contextlib.contextmanager
def simulated(tmp_root: Path) -> Iterator[SimulatedCluster]:
    tmp = Path(tempfile.mkdtemp(prefix="pcray-", dir="/tmp"))
    cluster = SimulatedCluster(tmp)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def part1(inputs: list[Path], frames: int, repeats: int, tmp: Path) -> None:
    print(f"\n1. {len(inputs)} copies of the clip ({frames} frames), this machine "
          f"({os.cpu_count()} cores) vs --cluster local; {repeats} alternating repeats")
    times: dict[str, list[float]] = {"local": [], "cluster": []}
    for r in range(repeats):
        times["local"].append(analyse(inputs, tmp / "local"))
        times["cluster"].append(analyse(inputs, tmp / "cluster", "--cluster", "local"))
        print(f"   repeat {r + 1}: local {times['local'][-1]:.1f} s, --cluster local "
              f"{times['cluster'][-1]:.1f} s", flush=True)
    loc, clu = statistics.median(times["local"]), statistics.median(times["cluster"])
    print(f"   median: local {loc:.1f} s ({frames / loc:.1f} frames/s), --cluster local "
          f"{clu:.1f} s ({frames / clu:.1f} frames/s); local / cluster = {loc / clu:.2f}")


def part2(inputs: list[Path], frames: int, repeats: int, nodes: int, tmp: Path) -> None:
    print(f"\n2. simulated cluster on this machine: head (no CPUs) + 1..{nodes} worker "
          f"nodes of 1 CPU, --cluster-cpus-per-task 1; {repeats} repeats per size")
    base = None
    with simulated(tmp) as cluster:
        t0 = time.perf_counter()
        cluster.start_head()
        print(f"   head up at {cluster.address} in {time.perf_counter() - t0:.0f} s",
              flush=True)
        for k in range(1, nodes + 1):
            t0 = time.perf_counter()
            cluster.add_node()
            print(f"   node {k} up in {time.perf_counter() - t0:.0f} s", flush=True)
            runs = [analyse(inputs, tmp / f"sim{k}", "--cluster", cluster.address,
                            "--cluster-cpus-per-task", "1", env=cluster.env)
                    for _ in range(repeats)]
            wall = statistics.median(runs)
            base = base or wall
            print(f"   {k} node{'s' if k > 1 else ' '}: median {wall:.1f} s "
                  f"({', '.join(f'{t:.1f}' for t in runs)}), {frames / wall:.1f} frames/s, "
                  f"speed-up over 1 node {base / wall:.2f}", flush=True)


def part2_existing(inputs: list[Path], frames: int, repeats: int, address: str,
                   tmp: Path) -> None:
    print(f"\n2. existing cluster {address}: {repeats} repeats")
    runs = [analyse(inputs, tmp / "existing", "--cluster", address) for _ in range(repeats)]
    wall = statistics.median(runs)
    print(f"   median {wall:.1f} s, {frames / wall:.1f} frames/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--address", help="run part 2 on this existing cluster instead")
    ap.add_argument("--skip-local", action="store_true", help="only part 2")
    args = ap.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        sys.exit("needs the [cluster] extra: pip install -e '.[cluster]'")
    per_clip = frames_of(args.clip)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as d:
        tmp = Path(d)
        inputs = []
        for k in range(args.copies):  # copies with distinct names: one folder each
            inputs.append(tmp / f"copy{k:02d}{args.clip.suffix}")
            shutil.copy(args.clip, inputs[-1])
        frames = per_clip * len(inputs)
        print(f"clip {args.clip.name}: {per_clip} frames; {len(inputs)} copies = {frames} "
              f"frames; load average {os.getloadavg()[0]:.1f} at the start")
        if not args.skip_local:
            part1(inputs, frames, args.repeats, tmp)
        if args.address:
            part2_existing(inputs, frames, args.repeats, args.address, tmp)
        else:
            part2(inputs, frames, args.repeats, args.nodes, tmp)
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
