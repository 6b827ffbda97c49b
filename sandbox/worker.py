"""The background worker: provisioning after KYC approval, late cash movements, webhook delivery.

One thread, woken early by `wake()` when a request queues work; the request thread never waits on
anything the worker does. The tasks are given by the app (each a callable doing what is due now).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("sandbox.worker")


class Worker:
    def __init__(self, interval: float, on_exit: Callable[[], None]) -> None:
        self.interval = interval
        self.tasks: Sequence[Callable[[], object]] = ()
        self._on_exit = on_exit  # the thread's own cleanup (its database connection)
        self._wake = threading.Event()
        # The background thread and /_sandbox/tick both run the tasks; one pass at a time, or a
        # due webhook would be sent twice for one attempt.
        self._pass = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-worker", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> None:
        with self._pass:
            for task in self.tasks:
                try:
                    task()
                except Exception:
                    log.exception("background task %s failed", getattr(task, "__name__", task))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.interval)
            self._wake.clear()
        self._on_exit()
