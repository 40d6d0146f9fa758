"""The wire format of readings (MQTT and HTTP), parsed into readings or rejections (pure).

Topic: ``<prefix>/<garden>/<device>/readings`` (prefix ``tea`` by default). Payload: UTF-8 JSON,
one reading, a list of readings, or ``{"readings": [...]}``:

    {"quantity": "air_temperature", "ts": "2024-03-12T09:00:00Z", "value": 25.8, "unit": "°C"}

``ts`` is ISO 8601 with a UTC offset (``Z`` or ``+08:00``) or Unix seconds (a number). A reading
in an HTTP batch names its ``device``; over MQTT the topic does. Every malformed part becomes a
`Rejection` of its own: one bad reading never takes its neighbours down with it.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from teaplatform.garden.readings import Reading, Rejection, RejectReason, check

TOPIC_SUFFIX: Final = "readings"
Parsed = Reading | Rejection


def topic_filter(prefix: str) -> str:
    """The subscription that receives every device's readings."""
    return f"{prefix}/+/+/{TOPIC_SUFFIX}"


def topic_for(prefix: str, garden: str, device: str) -> str:
    return f"{prefix}/{garden}/{device}/{TOPIC_SUFFIX}"


def device_of_topic(topic: str, prefix: str) -> str | None:
    """The device named in a readings topic; None when the topic is not one."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != prefix or parts[3] != TOPIC_SUFFIX or not parts[2]:
        return None
    return parts[2]


def parse_ts(raw: object) -> datetime | None:
    """An aware datetime from ISO 8601 text or Unix seconds; naive text keeps no zone."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _malformed(detail: str, device: str | None) -> Rejection:
    return Rejection(RejectReason.MALFORMED, detail, device)


def parse_record(record: object, device: str | None = None) -> Parsed:
    """One reading from a JSON object; `device` (from the topic) wins over the record's."""
    if not isinstance(record, Mapping):
        return _malformed("a reading must be a JSON object", device)
    dev = device if device is not None else record.get("device")
    if not isinstance(dev, str) or not dev:
        return _malformed("missing device", None)
    quantity, value, unit = record.get("quantity"), record.get("value"), record.get("unit")
    if not isinstance(quantity, str):
        return _malformed("missing quantity", dev)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _malformed(f"value must be a number, got {value!r}", dev)
    if not isinstance(unit, str):
        return _malformed("missing unit", dev)
    ts = parse_ts(record.get("ts"))
    if ts is None:
        return _malformed(f"bad timestamp {record.get('ts')!r}", dev)
    return check(dev, quantity, ts, float(value), unit)


def parse_records(records: Iterable[object], device: str | None = None) -> list[Parsed]:
    return [parse_record(r, device) for r in records]


def parse_payload(payload: bytes | str, device: str) -> list[Parsed]:
    """Readings of one MQTT message from `device`: one rejection when it is not JSON at all."""
    try:
        doc: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return [_malformed(f"not JSON: {exc}", device)]
    if isinstance(doc, Mapping) and "readings" in doc:
        doc = doc["readings"]
    if isinstance(doc, list):
        if not doc:
            return [_malformed("empty batch", device)]
        return parse_records(doc, device)
    return [parse_record(doc, device)]


def encode(readings: Iterable[Reading]) -> bytes:
    """The payload for readings of one device (a batch when more than one)."""
    docs = [
        {"quantity": r.quantity, "ts": r.ts.isoformat(), "value": r.value, "unit": r.unit}
        for r in readings
    ]
    return json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False).encode()
