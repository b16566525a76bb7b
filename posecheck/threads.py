"""The only threads of ``analyse``: a producer ahead of the caller and a consumer behind it.

:class:`Prefetch` runs an iterable (decoding a video) in a thread, a few items ahead of the
caller; :class:`Consumer` runs a handler (drawing and encoding the annotated video) in a
thread behind it. Both are joined to the caller by one small bounded queue (memory stays
bounded: at most ``maxsize`` items in flight) and pass exceptions back to the caller.
Why threads pay here: OpenCV's decoder and MediaPipe's inference (called through ctypes)
release the GIL, so decoding overlaps with inference on a second core.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

QUEUE_SIZE = 4  # items in flight between two threads; bounds memory
_END = object()


class _Worker:
    """A daemon thread running ``target`` whose exception is kept for :meth:`result`."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self._target = target
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller by result()
            self._error = exc

    def done(self, wait_s: float = 0.0) -> bool:
        """True once the thread has ended (waiting up to ``wait_s`` seconds for it)."""
        if wait_s > 0:
            self._thread.join(wait_s)
        return not self._thread.is_alive()

    def result(self) -> None:
        """Wait for the thread; raise what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error


class Prefetch:
    """Iterates ``iterable`` in a thread, ``maxsize`` items ahead of the caller.

    Iterating yields the items in order; an exception in the thread is raised again by the
    iteration, after the items before it. :meth:`close` stops the thread early (e.g. when
    the consumer failed) and waits for it.
    """

    def __init__(self, iterable: Iterable[Any], maxsize: int = QUEUE_SIZE,
                 name: str = "posecheck-prefetch") -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._iterable = iterable
        self._worker = _Worker(self._produce, name)

    def _put(self, item: Any) -> bool:
        """Put unless stopped; False when the consumer is gone."""
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._iterable:
                if not self._put(item):
                    return
        finally:
            self._put(_END)

    def __iter__(self) -> Iterator[Any]:
        while (item := self._q.get()) is not _END:
            yield item
        self._worker.result()  # raise what the thread raised, if anything

    def close(self) -> None:
        """Stop the thread, drop what is queued and wait for the thread (idempotent)."""
        self._stop.set()
        while not self._worker.done():
            try:
                self._q.get(timeout=0.1)
            except queue.Empty:
                continue


class Consumer:
    """Runs ``handle(item)`` for every :meth:`put` item in a thread, in order.

    :meth:`finish` waits for the queue to drain and raises what ``handle`` raised; so does
    :meth:`put` once the thread has failed. :meth:`abandon` stops without handling the rest.
    """

    def __init__(self, handle: Callable[[Any], None], maxsize: int = QUEUE_SIZE,
                 name: str = "posecheck-consumer") -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._handle = handle
        self._abandoned = False
        self._worker = _Worker(self._run, name)

    def _run(self) -> None:
        while (item := self._q.get()) is not _END:
            if self._abandoned:
                return
            self._handle(item)

    def put(self, item: Any) -> None:
        """Queue one item (blocks while the queue is full)."""
        while True:
            if self._worker.done():
                self._worker.result()
                raise RuntimeError("consumer thread ended early")
            try:
                self._q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every item is handled; raise the thread's exception, if any."""
        if not self._worker.done():
            self.put(_END)
        self._worker.result()

    def abandon(self) -> None:
        """Stop without handling what is queued (after an error elsewhere); never raises."""
        self._abandoned = True
        while not self._worker.done():
            with contextlib.suppress(queue.Empty):
                while True:
                    self._q.get_nowait()
            with contextlib.suppress(queue.Full):
                self._q.put_nowait(_END)
            self._worker.done(wait_s=0.1)
