"""Keep the offline promise: run the commands that load the pose model without a network.

MediaPipe >= 0.10.35 (so every 1.x wheel) links a native usage-logging client that posts to
``play.googleapis.com`` from a thread of its own (google-ai-edge/mediapipe#6291). The open
source code selects a no-op logger, but the PyPI wheels are built with Google's internal
one, and neither the Python API nor the C options offer a switch to turn it off (checked in
mediapipe 1.2.3: ``BaseOptions.to_ctypes`` passes only host, version, CA bundle and app id).

So posecheck takes the network away instead: :func:`cut_network` moves this process into a
new, empty Linux network namespace (only a loopback device, which is down), before any
thread starts. Every thread and child process (e.g. the --jobs workers) inherits it, so nothing
can leave the machine: a connect() to any address fails with "network is unreachable".
As root this needs no more; as a normal user it also makes a user namespace that maps the
user's own uid and gid to themselves (files keep their owner, groups keep working).

Where that is impossible (not Linux, user namespaces disabled, a threaded process) the
caller is told why, and prints a warning: the promise is then not kept, and we say so.
Standard library only: called before numpy, cv2 or mediapipe are imported.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Sequence

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
ENV_ALLOW = "POSECHECK_ALLOW_NETWORK"  # "1": do not cut the network (e.g. a stream URL)
ENV_CUT = "POSECHECK_NETWORK_CUT"  # set once cut, so child processes know

#: Commands that load the pose model, so would let MediaPipe's logger run.
MODEL_COMMANDS = frozenset({"analyse", "analyze", "landmarks", "live"})


def _unshare(flags: int) -> int:
    """libc unshare(2); 0 or an errno value."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) == 0:
        return 0
    return ctypes.get_errno() or errno.EPERM


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(text)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def cut_network() -> str | None:
    """Move this process into an empty network namespace; None on success, else why not.

    Must be called while the process has a single thread (before numpy is imported).
    """
    if os.environ.get(ENV_CUT):
        return None  # a parent already did it; we inherited the namespace
    if not sys.platform.startswith("linux"):
        return f"network namespaces exist only on Linux (this is {sys.platform})"
    try:
        err = _unshare(CLONE_NEWNET)  # enough when we may (root, CAP_SYS_ADMIN)
        if err:
            if _threads() > 1:
                return "the process already runs threads"
            uid, gid = os.getuid(), os.getgid()
            err = _unshare(CLONE_NEWUSER | CLONE_NEWNET)
            if err:
                return f"no network namespace allowed ({os.strerror(err)})"
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
            _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError as exc:
        return f"cannot set up the namespace ({exc.strerror or exc})"
    os.environ[ENV_CUT] = "1"
    return None


def loopback_up() -> str | None:
    """Bring up the loopback device of this (empty) network namespace; None on success,
    else why not. For ``analyse --cluster local``: the local Ray runtime's processes talk
    over 127.0.0.1 inside the namespace, and still nothing can leave the machine."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            req = struct.pack("16sH14s", b"lo", 0, b"")
            flags = struct.unpack("16sH14s", fcntl.ioctl(sock, siocgifflags, req))[1]
            if not flags & iff_up:
                fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14s", b"lo", flags | iff_up,
                                                            b""))
    except OSError as exc:
        return f"cannot bring up the loopback device ({exc.strerror or exc})"
    return None


def cluster_address(argv: Sequence[str]) -> str | None:
    """The ``--cluster`` address of a command line, if any."""
    for k, arg in enumerate(argv):
        if arg == "--cluster" and k + 1 < len(argv):
            return argv[k + 1]
        if arg.startswith("--cluster="):
            return arg.split("=", 1)[1]
    return None


def needs_network(argv: Sequence[str]) -> bool:
    """True when a command line names a stream URL or a Ray cluster (``--cluster`` other
    than ``local``), or opens a window on a display reached over TCP (``DISPLAY=host:0``):
    it then needs the network."""
    if any("://" in arg for arg in argv):
        return True
    if cluster_address(argv) not in (None, "local"):  # a Ray cluster of other machines
        return True
    if command_of(argv) != "live" or "--headless" in argv:
        return False
    return bool(os.environ.get("DISPLAY", "").split(":")[0])


def command_of(argv: Sequence[str]) -> str | None:
    """The sub-command of a posecheck command line (the first word not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def offline_for(argv: Sequence[str]) -> str | None:
    """Cut the network for a command that loads the pose model.

    Returns a one-line warning to print when the network stays reachable, else None.
    """
    if command_of(argv) not in MODEL_COMMANDS or os.environ.get(ENV_ALLOW) == "1":
        return None
    if needs_network(argv):
        return ("Warning: this command needs the network (stream URL, Ray cluster or remote "
                "display), so "
                "posecheck cannot cut it off; MediaPipe may then send usage data to Google "
                "(see the README, Privacy).")
    why = cut_network()
    if why is None:
        return None
    return (f"Warning: cannot run without network ({why}); MediaPipe may send usage data to "
            f"Google (see the README, Privacy). Set {ENV_ALLOW}=1 to silence this.")
