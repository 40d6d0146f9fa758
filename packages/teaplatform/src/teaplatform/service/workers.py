"""Background workers that live as long as the server (e.g. the MQTT ingestion bridge).

A worker module exposes ``start_worker(settings, store) -> Worker | None`` (None: nothing to
run with these settings). The server starts every listed module's worker and stops them in
reverse order at shutdown.
"""

import importlib
import importlib.util
from typing import Protocol

from teaplatform.settings import Settings
from teaplatform.store.db import Store

WORKER_MODULES: tuple[str, ...] = (
    "teaplatform.garden.bridge",
    "teaplatform.garden.watchdog",
    "teaplatform.processing.worker",
)


class Worker(Protocol):
    def stop(self) -> None: ...


def start_workers(settings: Settings, store: Store) -> list[Worker]:
    started: list[Worker] = []
    try:
        for name in WORKER_MODULES:
            if importlib.util.find_spec(name) is None:
                continue
            worker = importlib.import_module(name).start_worker(settings, store)
            if worker is not None:
                started.append(worker)
    except BaseException:
        stop_workers(started)
        raise
    return started


def stop_workers(workers: list[Worker]) -> None:
    for worker in reversed(workers):
        worker.stop()
