"""Alert notifications to a real HTTP server on 127.0.0.1: retries with backoff, order kept,
and ingestion never waits for the webhook."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from teaplatform.garden import catalog
from teaplatform.garden.catalog import DeviceCreate, GardenCreate, PlotCreate
from teaplatform.garden.ingest import ingest
from teaplatform.garden.notify import DeliveryPolicy, WebhookNotifier
from teaplatform.garden.readings import Reading
from teaplatform.garden.tables import AlertEventRow
from teaplatform.garden.watchdog import GardenWatchdog
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

T0 = datetime(2024, 2, 20, tzinfo=UTC)  # frost season


class Hook:
    """A webhook receiver: answers 500 to the first `fail` requests; can be held."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.entered.set()
                hook.release.wait(30)
                hook.attempts += 1
                if hook.attempts <= hook.fail:
                    self.send_response(500)
                else:
                    hook.received.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def device(store: Store) -> str:
    with store.session() as s:
        g = catalog.create_garden(s, GardenCreate(name="g", timezone="UTC"))
        p = catalog.create_plot(s, PlotCreate(garden_id=g.id, name="p", tea_type="green"))
        catalog.create_device(s, DeviceCreate(key="WS01", plot_id=p.id))
    return "WS01"


def send(store: Store, device: str, hour: int, value: float) -> None:
    reading = Reading(device, "air_temperature", T0 + timedelta(hours=hour), value, "°C")
    with store.session() as s:
        ingest(s, [reading], source="t", now=datetime.now(UTC))


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(fail=2)
    yield h
    h.close()


def test_failed_posts_are_retried_with_backoff_in_order(
    store: Store, device: str, hook: Hook
) -> None:
    send(store, device, 0, 2.0)  # frost: opened
    send(store, device, 1, 8.0)  # resolved
    policy = DeliveryPolicy(backoff_s=10.0, max_backoff_s=40.0)
    notifier = WebhookNotifier(store, hook.url, policy)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    try:
        assert notifier.deliver_due(now) == 0  # 500: the "resolved" event waits behind "opened"
        assert notifier.deliver_due(now + timedelta(seconds=5)) == 0  # not due yet: no attempt
        assert hook.attempts == 1
        assert notifier.deliver_due(now + timedelta(seconds=10)) == 0  # 2nd 500, next in 20 s
        assert notifier.deliver_due(now + timedelta(seconds=29)) == 0
        assert notifier.deliver_due(now + timedelta(seconds=30)) == 2
        assert notifier.deliver_due(now + timedelta(seconds=60)) == 0  # nothing left
    finally:
        notifier.close()
    assert hook.attempts == 4
    assert [(b["event"], b["alert"]["rule"], b["alert"]["device"]) for b in hook.received] == [
        ("opened", "frost_risk", "WS01"),
        ("resolved", "frost_risk", "WS01"),
    ]
    assert hook.received[0]["alert"]["trigger_value"] == 2.0
    with store.session() as s:
        rows = s.scalars(select(AlertEventRow).order_by(AlertEventRow.id)).all()
        assert [(r.attempts, r.delivered_at is not None, r.last_error) for r in rows] == [
            (3, True, ""),
            (1, True, ""),
        ]


def test_ingestion_does_not_wait_for_a_stuck_webhook(store: Store, device: str) -> None:
    hook = Hook()
    hook.release.clear()  # the receiver holds every request until released
    watchdog = GardenWatchdog(store, hook.url, poll_s=0.05, policy=DeliveryPolicy(timeout_s=30))
    watchdog.start()
    try:
        send(store, device, 0, 2.0)
        assert hook.entered.wait(10)  # the notifier is inside a POST now
        done = threading.Event()

        def more() -> None:
            for hour in range(1, 40):
                send(store, device, hour, 8.0 if hour % 2 else 2.0)
            done.set()

        worker = threading.Thread(target=more)
        worker.start()
        # ingestion (and the alerts it opens and resolves) completes while the POST hangs
        assert done.wait(30)
        assert hook.received == []
    finally:
        hook.release.set()
        worker.join()
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while len(hook.received) < 40 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        watchdog.stop()
        hook.close()
    assert len(hook.received) == 40  # 20 frost episodes, opened + resolved, all delivered
    assert [b["event"] for b in hook.received[:4]] == ["opened", "resolved", "opened", "resolved"]
