"""The MQTT bridge: readings from the broker into the store, in batches.

The paho network thread only appends each message to a buffer; a flusher thread takes up to
`flush_size` messages every `flush_interval_s`, or as soon as that many wait, parses them
(`teaplatform.garden.payload`) and ingests them as one unit of work, so the network thread
stays free to acknowledge the broker. Malformed messages become counted rejections. A
database error keeps the batch and retries it (with backoff), while new messages keep
buffering.

The bridge subscribes with QoS 1 and a persistent session (a fixed client id, clean session
off), so the broker keeps what arrives while the server restarts. Between the broker's hand-over
and the commit a batch lives in memory only: a crash there loses what the buffer holds.
"""

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from teaplatform.garden.ingest import ingest
from teaplatform.garden.payload import device_of_topic, parse_payload, topic_filter
from teaplatform.garden.readings import Reading, Rejection, RejectReason
from teaplatform.settings import Settings
from teaplatform.store.db import Store

log = logging.getLogger(__name__)
SOURCE = "mqtt"
RETRY_MAX_S = 30.0


@dataclass(slots=True)
class BridgeStats:
    messages: int = 0
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0


class MqttBridge:
    def __init__(
        self,
        store: Store,
        host: str,
        port: int,
        *,
        prefix: str = "tea",
        client_id: str = "teaplatform-bridge",
        flush_size: int = 1000,
        flush_interval_s: float = 0.25,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.flush_size = flush_size
        self.flush_interval_s = flush_interval_s
        self.stats = BridgeStats()
        self._buffer: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._flushed = threading.Condition()
        self._busy = False  # a batch is out of the buffer and not yet stored
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.reconnect_delay_set(1, 30)
        self._address = (host, port)
        self._flusher = threading.Thread(target=self._run, name="garden-mqtt-flush", daemon=True)

    # --- paho callbacks (network thread) -------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        client.subscribe(topic_filter(self.prefix), qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, _codes: Any, _p: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._buffer.append((message.topic, bytes(message.payload)))
            self.stats.messages += 1
            full = len(self._buffer) >= self.flush_size
        if full:
            self._wake.set()

    # --- life cycle ------------------------------------------------------------------------------

    def start(self, wait_s: float = 10.0) -> "MqttBridge":
        """Connect, subscribe and start flushing; waits up to `wait_s` for the subscription."""
        self._client.connect_async(*self._address)
        self._client.loop_start()
        self._flusher.start()
        if not self._subscribed.wait(wait_s):
            log.warning("MQTT broker %s:%d not reachable yet; retrying", *self._address)
        return self

    def stop(self) -> None:
        """Disconnect and store what is buffered."""
        self._client.disconnect()
        self._client.loop_stop()
        self._stopping.set()
        self._wake.set()
        self._flusher.join(timeout=60)

    def wait_idle(self, timeout_s: float = 10.0, *, readings: int = 0) -> bool:
        """Wait until at least `readings` readings (valid or not) have been ingested and nothing
        is buffered (tests and benchmarks: a message may still be on its way from the broker)."""
        deadline = time.monotonic() + timeout_s
        with self._flushed:
            while True:
                with self._lock:
                    empty = not self._buffer
                if empty and not self._busy and self.stats.readings >= readings:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._flushed.wait(min(left, 0.05))

    # --- flushing (flusher thread) ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            with self._lock:
                # at most `flush_size` messages per unit of work; a backlog goes on at once
                batch = self._buffer[: self.flush_size]
                del self._buffer[: self.flush_size]
                self._busy = bool(batch)
                if len(self._buffer) >= self.flush_size:
                    self._wake.set()
            if batch:
                self._flush_with_retry(batch)
            with self._flushed:
                self._busy = False
                self._flushed.notify_all()
            if self._stopping.is_set():
                with self._lock:
                    if not self._buffer:
                        return

    def _flush_with_retry(self, batch: Sequence[tuple[str, bytes]]) -> None:
        delay = 0.5
        while True:
            try:
                self._flush(batch)
                return
            except Exception:
                if self._stopping.is_set() and delay > RETRY_MAX_S:
                    log.exception("dropping %d MQTT messages at shutdown", len(batch))
                    return
                log.exception(
                    "storing %d MQTT readings failed; retrying in %.1fs", len(batch), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S * 2)

    def _flush(self, batch: Sequence[tuple[str, bytes]]) -> None:
        items: list[Reading | Rejection] = []
        for topic, payload in batch:
            device = device_of_topic(topic, self.prefix)
            if device is None:
                items.append(Rejection(RejectReason.MALFORMED, f"bad topic {topic!r}"))
            else:
                items.extend(parse_payload(payload, device))
        with self.store.session() as session:
            result = ingest(session, items, source=SOURCE, now=datetime.now(UTC))
        s = self.stats
        s.readings += result.received
        s.stored += result.stored
        s.duplicates += result.duplicates
        s.rejected += len(result.rejected)
        s.batches += 1


def start_worker(settings: Settings, store: Store) -> MqttBridge | None:
    """The server's bridge: None when no broker is configured (``TEAPLATFORM_MQTT_HOST``)."""
    if not settings.mqtt_host:
        return None
    return MqttBridge(
        store,
        settings.mqtt_host,
        settings.mqtt_port,
        prefix=settings.mqtt_topic_prefix,
        client_id=f"teaplatform-bridge-{settings.port}",
    ).start()
