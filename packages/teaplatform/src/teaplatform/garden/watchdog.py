"""The garden's clock-driven work: missing-data checks and webhook delivery.

Readings drive every other rule; these two need the wall clock, so a worker thread runs them:
`sweep_missing` every `sweep_s`, and the webhook outbox every `poll_s` when
``TEAPLATFORM_ALERT_WEBHOOK_URL`` is set.
"""

import logging
import threading
import time
from datetime import UTC, datetime

from teaplatform.garden.alerting import sweep_missing
from teaplatform.garden.notify import DeliveryPolicy, WebhookNotifier
from teaplatform.settings import Settings
from teaplatform.store.db import Store

log = logging.getLogger(__name__)


class GardenWatchdog:
    def __init__(
        self,
        store: Store,
        webhook_url: str | None,
        *,
        poll_s: float = 0.5,
        sweep_s: float = 60.0,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self.sweep_s = sweep_s
        self.notifier = WebhookNotifier(store, webhook_url, policy) if webhook_url else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="garden-watchdog", daemon=True)

    def start(self) -> "GardenWatchdog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.notifier is not None:
            self.notifier.close()

    def _run(self) -> None:
        last_sweep = float("-inf")
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_sweep >= self.sweep_s:
                    last_sweep = time.monotonic()
                    with self.store.session() as session:
                        opened = sweep_missing(session, datetime.now(UTC))
                    if opened:
                        log.info("missing data: %d alerts opened", len(opened))
                if self.notifier is not None:
                    self.notifier.deliver_due(datetime.now(UTC))
            except Exception:
                log.exception("garden watchdog pass failed")
            self._stop.wait(self.poll_s)


def start_worker(settings: Settings, store: Store) -> GardenWatchdog:
    return GardenWatchdog(store, settings.alert_webhook_url).start()
