"""Readings: validation, the MQTT/HTTP payload format, and CSV parsing (pure)."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from teaplatform.garden.csvimport import CsvLayoutError, parse_csv
from teaplatform.garden.payload import (
    device_of_topic,
    encode,
    parse_payload,
    parse_records,
    topic_filter,
    topic_for,
)
from teaplatform.garden.readings import QUANTITIES, Reading, Rejection, RejectReason, check

pytestmark = pytest.mark.unit

T = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


def reason(item: Reading | Rejection) -> RejectReason | None:
    return item.reason if isinstance(item, Rejection) else None


def test_a_valid_reading_comes_back_in_utc_with_the_canonical_unit() -> None:
    beijing = timezone(timedelta(hours=8))
    r = check("WS01", "air_temperature", datetime(2024, 3, 1, 14, 0, tzinfo=beijing), 4.5, "℃")
    assert r == Reading("WS01", "air_temperature", T, 4.5, "°C")
    assert isinstance(r, Reading) and r.ts.tzinfo is UTC


@pytest.mark.parametrize(
    ("quantity", "value", "unit", "expected"),
    [
        ("air_temperature", 40.0, "°F", RejectReason.WRONG_UNIT),
        ("air_temperature", 20.0, "K", RejectReason.WRONG_UNIT),
        ("soil_moisture", 0.3, "m3/m3", RejectReason.WRONG_UNIT),
        ("air_temperature", 61.0, "°C", RejectReason.OUT_OF_RANGE),
        ("air_humidity", -0.1, "%", RejectReason.OUT_OF_RANGE),
        ("light", math.nan, "lux", RejectReason.OUT_OF_RANGE),
        ("air_temperature", math.inf, "°C", RejectReason.OUT_OF_RANGE),
        ("leaf_colour", 3.0, "", RejectReason.UNKNOWN_QUANTITY),
        ("soil_moisture", 100.0, "%", None),  # the range is inclusive
        ("drum_temperature", 320.0, "degC", None),
    ],
)
def test_check_rejects_with_the_reason(
    quantity: str, value: float, unit: str, expected: RejectReason | None
) -> None:
    assert reason(check("d1", quantity, T, value, unit)) == expected


def test_a_timestamp_without_zone_is_malformed() -> None:
    r = check("d1", "air_temperature", datetime(2024, 3, 1, 6), 5.0, "°C")
    assert isinstance(r, Rejection) and r.reason is RejectReason.MALFORMED and r.device == "d1"


def test_every_quantity_has_a_known_unit_and_a_range() -> None:
    for q in QUANTITIES.values():
        assert q.low < q.high
        assert q.scope in ("garden", "processing")
        assert isinstance(check("d", q.name, T, q.low, q.unit), Reading)


def test_topics() -> None:
    assert topic_filter("tea") == "tea/+/+/readings"
    assert topic_for("tea", "g1", "WS01") == "tea/g1/WS01/readings"
    assert device_of_topic("tea/g1/WS01/readings", "tea") == "WS01"
    for bad in ("tea/g1/WS01", "other/g1/WS01/readings", "tea/g1//readings", "tea/a/b/c/readings"):
        assert device_of_topic(bad, "tea") is None


def test_payload_single_list_and_object_forms() -> None:
    one = {"quantity": "air_temperature", "ts": "2024-03-01T06:00:00Z", "value": 4.5, "unit": "°C"}
    two = {**one, "ts": 1709272800 + 3600}  # Unix seconds
    assert parse_payload(json.dumps(one), "WS01") == [
        Reading("WS01", "air_temperature", T, 4.5, "°C")
    ]
    assert len(parse_payload(json.dumps([one, two]), "WS01")) == 2
    parsed = parse_payload(json.dumps({"readings": [one, two]}).encode(), "WS01")
    assert [r.ts for r in parsed if isinstance(r, Reading)] == [T, T + timedelta(hours=1)]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"42",
        b'{"quantity": "air_temperature", "ts": "2024-03-01T06:00:00Z", "unit": "\xc2\xb0C"}',
        b'{"quantity": "air_temperature", "ts": "2024-03-01T06:00:00Z", "value": "5", "unit": "C"}',
        b'{"quantity": "air_temperature", "ts": "2024-03-01T06:00:00Z", "value": true, "unit": "C"}',
        b'{"quantity": "air_temperature", "ts": "yesterday", "value": 5, "unit": "C"}',
        b'{"quantity": "air_temperature", "ts": "2024-03-01T06:00:00", "value": 5, "unit": "C"}',
        b'{"ts": "2024-03-01T06:00:00Z", "value": 5, "unit": "C"}',
    ],
)
def test_malformed_payloads_become_one_rejection_each(payload: bytes) -> None:
    parsed = parse_payload(payload, "WS01")
    assert len(parsed) == 1
    assert reason(parsed[0]) is RejectReason.MALFORMED


def test_one_bad_reading_in_a_batch_leaves_the_others() -> None:
    good = {"quantity": "air_temperature", "ts": "2024-03-01T06:00:00Z", "value": 4.5, "unit": "°C"}
    batch = [good, {"quantity": "air_temperature"}, {**good, "unit": "°F"}, "x"]
    assert [reason(p) for p in parse_payload(json.dumps(batch), "WS01")] == [
        None,
        RejectReason.MALFORMED,
        RejectReason.WRONG_UNIT,
        RejectReason.MALFORMED,
    ]


def test_http_records_name_their_device() -> None:
    good = {
        "device": "WS02",
        "quantity": "air_humidity",
        "ts": "2024-03-01T06:00Z",
        "value": 80,
        "unit": "%",
    }
    parsed = parse_records([good, {**good, "device": ""}])
    assert parsed[0] == Reading("WS02", "air_humidity", T, 80.0, "%")
    assert reason(parsed[1]) is RejectReason.MALFORMED


def test_encode_round_trips() -> None:
    readings = [
        Reading("WS01", "air_temperature", T + timedelta(hours=i), 4.5 + i, "°C") for i in range(3)
    ]
    assert parse_payload(encode(readings), "WS01") == readings
    assert parse_payload(encode(readings[:1]), "WS01") == readings[:1]


def test_station_csv_of_the_real_data(shared_data: Path) -> None:
    path = shared_data / "tea/garden/WS02_temperature_hourly.csv"
    with path.open() as fh:
        head = [next(fh) for _ in range(30)]
    items = list(parse_csv(head, device="WS02"))
    # the file's first rows: 2023-09-19 10:00 38.74 … and a gap (an empty value) at line 29
    assert items[0] == Reading(
        "WS02", "air_temperature", datetime(2023, 9, 19, 10, tzinfo=UTC), 38.74, "°C"
    )
    assert reason(items[27]) is RejectReason.EMPTY_VALUE and "line 29" in items[27].detail  # type: ignore[union-attr]
    assert sum(isinstance(i, Reading) for i in items) == 27


def test_long_csv_with_a_time_zone_and_bad_rows() -> None:
    lines = [
        "device,quantity,ts,value,unit",
        "WS01,air_temperature,2024-03-01 14:00,4.5,°C",
        "WS01,soil_moisture,2024-03-01T06:00Z,23.5,%",
        "WS01,air_temperature,2024-03-01 15:00,,°C",
        "WS01,air_temperature,03/01/2024,4.5,°C",
        "WS01,air_temperature,2024-03-01 16:00,99,°C",
        "WS01,air_temperature",
    ]
    items = list(parse_csv(lines, tz=timezone(timedelta(hours=8))))
    assert items[0] == Reading("WS01", "air_temperature", T, 4.5, "°C")
    assert items[1] == Reading("WS01", "soil_moisture", T, 23.5, "%")
    assert [reason(i) for i in items[2:]] == [
        RejectReason.EMPTY_VALUE,
        RejectReason.MALFORMED,
        RejectReason.OUT_OF_RANGE,
        RejectReason.MALFORMED,
    ]


def test_csv_layout_errors() -> None:
    with pytest.raises(CsvLayoutError, match="needs --device"):
        list(parse_csv(["hour,temperature_c", "2024-03-01 00:00:00,5"]))
    with pytest.raises(CsvLayoutError, match="unknown header"):
        list(parse_csv(["when,what"], device="x"))
    with pytest.raises(CsvLayoutError, match="no device column"):
        list(parse_csv(["quantity,ts,value,unit"]))
