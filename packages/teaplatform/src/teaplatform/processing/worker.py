"""The processing clock: auto-advances and overrun alarms need time to pass, not readings.

A thread calls `service.tick` every `period_s` (telemetry does the same work by data time as
readings arrive; this covers batches whose devices are silent), then hands newly completed
batches to traceability (`service.trace_completed`).
"""

import logging
import threading
from datetime import UTC, datetime

from teaplatform.processing.service import tick, trace_completed
from teaplatform.settings import Settings
from teaplatform.store.db import Store

log = logging.getLogger(__name__)
PERIOD_S = 60.0


class ProcessingClock:
    def __init__(self, store: Store, settings: Settings, period_s: float = PERIOD_S) -> None:
        self.store = store
        self.settings = settings
        self.period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="processing-clock", daemon=True)

    def start(self) -> "ProcessingClock":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def tick_once(self) -> int:
        """One pass: due stage changes, then completed batches to traceability."""
        now = datetime.now(UTC)
        with self.store.session() as session:
            changed = tick(session, now)
            trace_completed(session, self.settings, now)
        return changed

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                changed = self.tick_once()
                if changed:
                    log.info("processing clock: %d batches changed stage", changed)
            except Exception:
                log.exception("processing clock tick failed")
            self._stop.wait(self.period_s)


def start_worker(settings: Settings, store: Store) -> ProcessingClock:
    return ProcessingClock(store, settings).start()
