"""CSV files of readings, parsed row by row into readings or rejections (pure).

Two layouts, told apart by the header:

* long: ``device,quantity,ts,value,unit`` (``device`` may be left out and given instead);
* weather station: ``hour,temperature_c`` (the real stations' files): air temperature in °C of
  the one given device.

Timestamps without a UTC offset are read in `tz` (the files of the real stations carry none).
A row that does not parse is a `Rejection`; the rest of the file goes on.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo

from teaplatform.garden.readings import Reading, Rejection, RejectReason, check

LONG = ("device", "quantity", "ts", "value", "unit")
STATION = ("hour", "temperature_c")


class CsvLayoutError(ValueError):
    """The header is neither layout, or the device is missing."""


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _ts(text: str, tz: tzinfo) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return ts.replace(tzinfo=tz) if ts.tzinfo is None else ts


def parse_csv(
    lines: Iterable[str], *, device: str | None = None, tz: tzinfo = UTC
) -> Iterator[Reading | Rejection]:
    """Readings of a CSV file (its lines, header first)."""
    rows = csv.reader(lines)
    header = tuple(h.strip() for h in next(rows, ()))
    if header == STATION:
        if device is None:
            raise CsvLayoutError("a weather-station file (hour,temperature_c) needs --device")
        yield from _station(rows, device, tz)
    elif set(LONG) - {"device"} <= set(header):
        if "device" not in header and device is None:
            raise CsvLayoutError("no device column: give the device")
        yield from _long(rows, header, device, tz)
    else:
        raise CsvLayoutError(
            f"unknown header {','.join(header)!r}: expected {','.join(LONG)} or {','.join(STATION)}"
        )


def _bad(line: int, detail: str, device: str | None) -> Rejection:
    return Rejection(RejectReason.MALFORMED, f"line {line}: {detail}", device)


def _gap(line: int, device: str | None) -> Rejection:
    return Rejection(RejectReason.EMPTY_VALUE, f"line {line}: no value (a gap)", device)


def _station(rows: Iterator[list[str]], device: str, tz: tzinfo) -> Iterator[Reading | Rejection]:
    for line, row in enumerate(rows, start=2):
        if len(row) != len(STATION):
            yield _bad(line, f"expected 2 fields, got {len(row)}", device)
            continue
        if not row[1].strip():
            yield _gap(line, device)
            continue
        ts, value = _ts(row[0], tz), _number(row[1])
        if ts is None or value is None:
            yield _bad(line, f"cannot read {row!r}", device)
            continue
        yield check(device, "air_temperature", ts, value, "°C")


def _long(
    rows: Iterator[list[str]], header: tuple[str, ...], device: str | None, tz: tzinfo
) -> Iterator[Reading | Rejection]:
    at = {name: header.index(name) for name in LONG if name in header}
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            yield _bad(line, f"expected {len(header)} fields, got {len(row)}", device)
            continue
        dev = row[at["device"]].strip() if "device" in at else device
        if not row[at["value"]].strip():
            yield _gap(line, dev or None)
            continue
        ts, value = _ts(row[at["ts"]], tz), _number(row[at["value"]])
        if not dev or ts is None or value is None:
            yield _bad(line, f"cannot read {row!r}", dev or None)
            continue
        yield check(dev, row[at["quantity"]].strip(), ts, value, row[at["unit"]].strip())
