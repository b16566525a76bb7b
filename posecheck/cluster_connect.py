"""Reaching a Ray cluster for ``posecheck analyse --cluster``: the options, the address
forms, Ray's import (``pip install 'posecheck[cluster]'``), an offline local runtime, and
connecting for the length of a batch (:mod:`posecheck.cluster` runs the batch).

The only module of posecheck that imports Ray, and only inside :func:`import_ray`, so the
base install, ``posecheck --help`` and checking ``--cluster`` options never need it.

Offline (:func:`start_local`): in the CLI's empty network namespace a local runtime gets
the loopback device only; its dashboard is not started, usage statistics are disabled, and
Ray's head process, which would still ask cloud metadata servers which cloud it runs on, is
started with an unreachable local HTTP proxy. A cluster of other machines is configured by
whoever runs it (docs/cluster.md).

Must not print or exit (the CLI does that).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from posecheck.errors import ConfigError

INSTALL_HINT = "--cluster needs Ray, which is not installed: pip install 'posecheck[cluster]'"
DEFAULT_CPUS_PER_TASK = 2  # the pose model process and the decoding/drawing threads
# Ray's head process asks cloud metadata servers (169.254.169.254, metadata.google.internal)
# which cloud it runs on even with usage statistics disabled
# (ray/_common/usage/usage_lib.py: get_cloud_from_metadata_requests). Those requests go
# through Python's requests library, which honours HTTP(S)_PROXY; Ray's own traffic is gRPC,
# which reads only the lower-case variables. Port 9 (discard) is closed: refused at once.
_OFFLINE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
}


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Where and how to run: see the module docstring.

    ``address``: ``local``, ``auto``, ``ray://HOST:PORT`` or ``HOST:PORT``.
    ``cpus_per_task``: CPUs one pose-model actor reserves (one actor per that many CPUs).
    ``collect``: ship each input's outputs back to this process instead of writing them on
    the workers.
    """

    address: str
    cpus_per_task: int = DEFAULT_CPUS_PER_TASK
    collect: bool = False

    def __post_init__(self) -> None:
        check_address(self.address)
        if self.cpus_per_task < 1:
            raise ConfigError(f"--cluster-cpus-per-task must be at least 1, got "
                              f"{self.cpus_per_task}.")


def check_address(address: str) -> str:
    """``address`` when it is one of the accepted forms; else :class:`ConfigError`."""
    if address in ("local", "auto"):
        return address
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if sep and host and port.isdigit() and 0 < int(port) < 65536:
        return address
    raise ConfigError(f"--cluster must be local, auto, ray://HOST:PORT or HOST:PORT, got "
                      f"{address!r}.")


def import_ray() -> Any:
    """The ``ray`` module, or :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


def start_local(num_cpus: int | None = None) -> None:
    """Start a Ray runtime on this machine for this process (``num_cpus``: default all
    cores), offline: no dashboard, no usage statistics, no cloud metadata requests (see
    :data:`_OFFLINE_ENV`). Stop it with ``ray.shutdown()``."""
    import logging

    from posecheck.offline import ENV_CUT, loopback_up
    from posecheck.pose import _native_stderr_silenced

    ray = import_ray()
    extra: dict[str, Any] = {}
    if os.environ.get(ENV_CUT):  # the CLI cut the network: Ray talks over 127.0.0.1
        why = loopback_up()
        if why:
            raise ConfigError(f"Cannot start a local Ray runtime without network: {why}.")
        extra["_node_ip_address"] = "127.0.0.1"  # no route to look for another one
    saved = {k: os.environ.get(k) for k in _OFFLINE_ENV}
    os.environ.update(_OFFLINE_ENV)  # inherited by the processes Ray starts
    try:
        # address="local": always a new runtime, never a cluster `ray start` left here
        # Ray's C++ start-up notes to fd 2, silenced as MediaPipe's are (set
        # POSECHECK_MEDIAPIPE_LOGS=1 to see them); failures still come as exceptions
        with _native_stderr_silenced():
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.ERROR, **extra)
    finally:
        for k, v in saved.items():  # this process itself needs no proxy settings
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def connected(ray: Any, address: str) -> Iterator[None]:
    """Connected to the cluster for the ``with`` block (disconnected, and a runtime
    started here stopped, at the end). A runtime this process already started is used as
    it is and left running."""
    import logging

    if ray.is_initialized():
        yield
        return
    try:
        if address == "local":
            start_local()
        else:
            _check_reachable(ray, address)
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except ConnectionError as exc:
        raise ConfigError(f"Cannot connect to the Ray cluster at {address}: "
                          f"{str(exc).splitlines()[0]}") from None
    except Exception as exc:
        if type(exc).__name__ != "AuthenticationError":
            raise
        raise ConfigError(f"The Ray cluster at {address} refused the connection (token "
                          "authentication): set RAY_AUTH_MODE=token and the cluster's token "
                          "(RAY_AUTH_TOKEN or ~/.ray/auth_token).") from None
    try:
        yield
    finally:
        ray.shutdown()


def _check_reachable(ray: Any, address: str) -> None:
    """:class:`ConfigError` when nothing answers at the cluster's address (Ray itself would
    retry for minutes, e.g. after an unclean stop left its address file behind)."""
    import socket

    target = address.removeprefix("ray://")
    if address == "auto":
        try:  # the address `ray start` recorded on this machine (private Ray helper)
            target = ray._private.services.canonicalize_bootstrap_address(address) or ""
        except Exception:  # noqa: BLE001 - unknown Ray version: let ray.init decide
            return
        if not target:
            raise ConfigError("No Ray cluster was started on this machine (`ray start`); "
                              "use --cluster local, or the head's address.")
    host, _, port = target.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError):
        raise ConfigError(f"No Ray cluster answers at {target} (--cluster {address}); is "
                          "`ray start` running there?") from None


def cluster_slots(ray: Any, cpus_per_task: int) -> int:
    """How many actors of ``cpus_per_task`` CPUs the live nodes hold (an actor's CPUs are
    on one node)."""
    slots = 0
    for node in ray.nodes():
        if node.get("Alive"):
            slots += int(node.get("Resources", {}).get("CPU", 0) // cpus_per_task)
    return slots
