"""Sensor readings and their validation (pure: no I/O, no clock).

A `Reading` is one value of one quantity from one device at one instant (tz-aware UTC). Every
quantity has a canonical unit and a physical range; `check` turns raw fields into a `Reading`
or a `Rejection` with a reason. Units are not converted: a reading in the wrong unit (°F for
an air temperature) is rejected, because a silent conversion would hide a misconfigured device.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class Reading:
    device: str
    quantity: str
    ts: datetime  # tz-aware, UTC
    value: float
    unit: str


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str
    unit: str  # canonical unit: the one stored and shown
    low: float  # physical range, inclusive
    high: float
    description: str
    scope: str  # "garden" or "processing": where such sensors usually sit


class RejectReason(StrEnum):
    MALFORMED = "malformed"  # not JSON / missing or mistyped fields / naive timestamp
    EMPTY_VALUE = "empty_value"  # a row with a timestamp and no value: a gap in a CSV series
    UNKNOWN_QUANTITY = "unknown_quantity"
    WRONG_UNIT = "wrong_unit"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_DEVICE = "unknown_device"
    NOT_ON_DEVICE = "sensor_not_on_device"  # the device declares sensors, and not this one


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    device: str | None = None


# Ranges are what the physics allows at a tea garden or in a processing workshop, not what is
# comfortable for the plant: a reading outside them is a broken sensor, not weather.
QUANTITIES: Final[dict[str, Quantity]] = {
    q.name: q
    for q in (
        Quantity("air_temperature", "°C", -40.0, 60.0, "air temperature", "garden"),
        Quantity("air_humidity", "%", 0.0, 100.0, "relative humidity of the air", "garden"),
        Quantity("soil_moisture", "%", 0.0, 100.0, "volumetric soil water content", "garden"),
        Quantity("soil_temperature", "°C", -20.0, 60.0, "soil temperature", "garden"),
        Quantity("light", "lux", 0.0, 200_000.0, "illuminance (full sun ≈ 100,000 lux)", "garden"),
        Quantity("rainfall", "mm", 0.0, 500.0, "rain since the previous reading", "garden"),
        Quantity("wind_speed", "m/s", 0.0, 75.0, "wind speed", "garden"),
        Quantity(
            "leaf_temperature", "°C", -10.0, 150.0, "temperature of the leaf mass", "processing"
        ),
        Quantity(
            "humidity", "%", 0.0, 100.0, "relative humidity in a machine or room", "processing"
        ),
        Quantity(
            "drum_temperature", "°C", 0.0, 500.0, "pan/drum wall (fixing, 杀青)", "processing"
        ),
        Quantity("hot_air_temperature", "°C", 0.0, 250.0, "hot-air inlet (drying)", "processing"),
        Quantity("pile_temperature", "°C", -10.0, 90.0, "inside a pile (渥堆, 闷黄)", "processing"),
        Quantity(
            "leaf_moisture",
            "%",
            0.0,
            100.0,
            "moisture content of the leaf (wet basis)",
            "processing",
        ),
        Quantity("oxygen", "%", 0.0, 100.0, "oxygen in a fermentation room", "processing"),
    )
}

# accepted spellings of each canonical unit
UNIT_ALIASES: Final[dict[str, str]] = {
    "°C": "°C",
    "℃": "°C",
    "C": "°C",
    "degC": "°C",
    "celsius": "°C",
    "%": "%",
    "percent": "%",
    "lux": "lux",
    "lx": "lux",
    "mm": "mm",
    "m/s": "m/s",
}


def canonical_unit(unit: str) -> str | None:
    return UNIT_ALIASES.get(unit.strip())


def check(device: str, quantity: str, ts: datetime, value: float, unit: str) -> Reading | Rejection:
    """A valid `Reading` (timestamp in UTC, canonical unit) or why these fields are not one."""
    spec = QUANTITIES.get(quantity)
    if spec is None:
        return Rejection(RejectReason.UNKNOWN_QUANTITY, f"unknown quantity {quantity!r}", device)
    if ts.tzinfo is None or ts.utcoffset() is None:
        return Rejection(RejectReason.MALFORMED, "timestamp without a time zone", device)
    canonical = canonical_unit(unit)
    if canonical != spec.unit:
        return Rejection(
            RejectReason.WRONG_UNIT, f"{quantity} is in {spec.unit}, not {unit!r}", device
        )
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        return Rejection(
            RejectReason.OUT_OF_RANGE,
            f"{quantity} {value} {spec.unit} is outside [{spec.low:g}, {spec.high:g}]",
            device,
        )
    return Reading(device, quantity, ts.astimezone(UTC), float(value), spec.unit)
