"""The background worker: provisioning after KYC approval, late cash movements, webhook delivery.

One thread, woken early by `wake()` when a request queues work; the request thread never waits on
anything the worker does.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.app import Sandbox

log = logging.getLogger("sandbox.worker")


class Worker:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
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
        from sandbox import kyc, money, orders, webhooks

        with self._pass:
            for task in (
                kyc.provision_due,
                money.settle_due,
                orders.expire_due,
                webhooks.deliver_due,
            ):
                try:
                    task(self.sandbox)
                except Exception:
                    log.exception("background task %s failed", task.__name__)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.sandbox.settings.worker_interval)
            self._wake.clear()
        self.sandbox.store.close()
