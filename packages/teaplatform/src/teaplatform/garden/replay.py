"""Replay a real weather-station series into MQTT at a chosen speed (the live demo).

`schedule` (pure) turns readings into (offset in seconds, batch) pairs: an hourly series at
speed 3600 sends one reading a second; readings due within the same `tick_s` go out as one
message. `replay` publishes them on ``<prefix>/<garden>/<device>/readings`` at those offsets.
"""

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from teaplatform.garden.payload import encode, topic_for
from teaplatform.garden.readings import Reading

STATIONS = ("WS01", "WS02", "WS03", "WS04")
# the station files give local clock hours without a zone; the plantations are in Hunan
STATION_TZ = "Asia/Shanghai"
Batch = tuple[float, list[Reading]]


def station_file(station: str, shared_data: Path | None = None) -> Path:
    """The real series of `station` under $SHARED_DATA (default ../shared/data)."""
    if station not in STATIONS:
        raise ValueError(f"unknown station {station!r}; known: {', '.join(STATIONS)}")
    root = shared_data or Path(os.environ.get("SHARED_DATA", "../shared/data"))
    return root / "tea" / "garden" / f"{station}_temperature_hourly.csv"


def schedule(
    readings: Sequence[Reading], speed: float, *, tick_s: float = 0.05, max_batch: int = 500
) -> Iterator[Batch]:
    """(seconds after the start, readings to send then); speed 0 = as fast as possible."""
    if speed < 0:
        raise ValueError("speed must be ≥ 0")
    if not readings:
        return
    t0 = readings[0].ts
    batch: list[Reading] = []
    batch_at = 0.0
    for r in readings:
        at = (r.ts - t0).total_seconds() / speed if speed else 0.0
        if batch and (at - batch_at >= tick_s or len(batch) >= max_batch):
            yield batch_at, batch
            batch = []
        if not batch:
            batch_at = at
        batch.append(r)
    yield batch_at, batch


class Publisher:
    """A connected paho client that publishes with QoS 1 and waits for the broker's acks."""

    def __init__(self, host: str, port: int, client_id: str = "") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(host, port)
        self.client.loop_start()
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self._pending.append(self.client.publish(topic, payload, qos=1))
        if len(self._pending) >= 1000:
            self.flush()

    def flush(self, timeout_s: float = 30.0) -> None:
        for info in self._pending:
            info.wait_for_publish(timeout_s)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()


def replay(
    readings: Sequence[Reading],
    publish: Callable[[str, bytes], None],
    *,
    speed: float,
    prefix: str,
    garden: str,
    on_batch: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Publish `readings` (one device's, in time order) at `speed`; the number sent."""
    start = clock()
    sent = 0
    for at, batch in schedule(readings, speed):
        wait = start + at - clock()
        if wait > 0:
            sleep(wait)
        by_device: dict[str, list[Reading]] = {}
        for r in batch:
            by_device.setdefault(r.device, []).append(r)
        for device, rs in by_device.items():
            publish(topic_for(prefix, garden, device), encode(rs))
        sent += len(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return sent
