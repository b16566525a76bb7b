"""Signals that end a command the way Ctrl-C does (``live`` and ``analyse``).

A closed terminal (SIGHUP), a logout or a shutdown (SIGTERM) must not lose what was
measured: :class:`StopSignals` turns the first of SIGINT, SIGTERM and SIGHUP into a
KeyboardInterrupt in the main thread, so the command's own Ctrl-C handling saves what it
has, and makes later signals wait until that is done. Standard library only.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: what was measured is saved (exit 128+signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_status = 128 + signum


class StopSignals:
    """While active, SIGINT, SIGTERM and SIGHUP stop the command once, as Ctrl-C does
    (KeyboardInterrupt, or :class:`Stopped`); signals after the first are remembered but do
    not interrupt the saving that follows."""

    SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                    if hasattr(signal, n))

    def __init__(self) -> None:
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.received is None
        if first:
            self.received = signum
        if signum == getattr(signal, "SIGHUP", None):
            _detach_terminal()  # the terminal is gone: printing would fail with EIO
        if first:
            raise KeyboardInterrupt() if signum == signal.SIGINT else Stopped(signum)

    def _unraisable(self, info: Any) -> None:
        # The signal landed in a finalizer (e.g. a progress bar's __del__), where Python
        # cannot raise it: it is remembered in ``received``; print no traceback for it.
        if isinstance(info.exc_value, KeyboardInterrupt):
            return
        self._old_hook(info)

    def __enter__(self) -> StopSignals:
        for sig in self.SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        self._old_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        sys.unraisablehook = self._old_hook

    @property
    def exit_status(self) -> int | None:
        """128 + the first signal's number, or None when none came."""
        return None if self.received is None else 128 + self.received


def _detach_terminal() -> None:
    """Point stdout and stderr at /dev/null (after a hang-up nobody can read them)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
