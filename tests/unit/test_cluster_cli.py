"""``analyse --cluster`` without starting Ray: addresses, flag checks, the missing extra, and
Ray imported only by posecheck.cluster_connect, only when a batch starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from posecheck.cli import main
from posecheck.cluster_connect import INSTALL_HINT, ClusterOptions, check_address
from posecheck.errors import ConfigError

LANDMARKS = Path(__file__).resolve().parents[2] / "samples" / "pose2sim_cam01.landmarks.jsonl"


@pytest.mark.parametrize("address", ["local", "auto", "ray://head:10001", "10.0.0.5:6379",
                                     "ray://[::1]:10001"])
def test_accepted_addresses(address: str):
    assert check_address(address) == address


@pytest.mark.parametrize("address", ["", "lokal", "ray://head", "head:port", "ray://:10001",
                                     "head:70000"])
def test_rejected_addresses(address: str):
    with pytest.raises(ConfigError, match="--cluster must be local, auto"):
        check_address(address)


def test_cpus_per_task_must_be_positive():
    with pytest.raises(ConfigError, match="at least 1"):
        ClusterOptions("local", cpus_per_task=0)


@pytest.mark.parametrize("args, message", [
    (["--collect"], "--collect needs --cluster."),
    (["--cluster-cpus-per-task", "1"], "--cluster-cpus-per-task needs --cluster."),
    (["--cluster", "local", "--jobs", "2"], "--jobs is for runs on this machine"),
    (["--cluster", "nowhere"], "--cluster must be local, auto"),
])
def test_cluster_flags_are_checked_before_any_work(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyse", str(LANDMARKS), "--out", str(out), "--no-store", *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"Error: {message}")
    assert not out.exists()


def test_without_the_extra_cluster_says_how_to_install_it(tmp_path):
    # ray made unimportable in a fresh interpreter, as in a base install
    code = ("import sys; sys.modules['ray'] = None; from posecheck.cli import main; "
            f"sys.exit(main(['analyse', {str(LANDMARKS)!r}, '--out', {str(tmp_path)!r}, "
            "'--no-store', '--cluster', 'local']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"Error: {INSTALL_HINT}"]
    assert "pip install 'posecheck[cluster]'" in INSTALL_HINT
    assert not any(tmp_path.iterdir())


def test_ray_is_imported_only_when_a_cluster_batch_starts():
    code = ("import sys, posecheck.cluster, posecheck.cluster_actor, posecheck.cli, "
            "posecheck.cli.cmd_analyse; "
            "from posecheck.cli import build_parser; build_parser(); "
            "print('ray' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("argv, network", [
    (["analyse", "a.mp4", "--cluster", "local"], False),  # cut; Ray runs on the loopback
    (["analyse", "a.mp4", "--cluster=local"], False),
    (["analyse", "a.mp4", "--cluster", "auto"], True),  # other machines: needs the network
    (["analyse", "a.mp4", "--cluster", "10.0.0.5:6379"], True),
    (["analyse", "a.mp4", "--cluster=ray://head:10001"], True),
    (["analyse", "a.mp4"], False),
])
def test_a_cluster_of_other_machines_needs_the_network(argv, network):
    from posecheck.offline import needs_network

    assert needs_network(argv) is network


def test_local_cluster_runs_in_a_network_namespace_with_only_the_loopback(tmp_path):
    """What `posecheck analyse --cluster local` does first: cut the network, bring up lo."""
    code = ("from posecheck.offline import cut_network, loopback_up; import socket; "
            "why = cut_network(); assert why is None, why; assert loopback_up() is None; "
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
            "socket.create_connection(s.getsockname(), timeout=2).close(); "
            "c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "try:\n    c.connect(('8.8.8.8', 53)); print('reachable')\n"
            "except OSError as e:\n    print('unreachable', e.errno)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    if "no network namespace allowed" in proc.stderr:
        pytest.skip("user namespaces are disabled here")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("unreachable")
