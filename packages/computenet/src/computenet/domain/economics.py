"""Site economics: hourly profiles (energy mix, price), a site's energy supply, and the
calendar that maps the scheduler's seconds to local clock time.

A `HourlyProfile` holds 24 values per month (a day shape that may change with the season).
A site's power comes partly from contracted zero-carbon supply (`green_share`, by hour) and
the rest from its provincial grid at the grid's average emission factor, so its carbon
intensity at an hour is `(1 - green_share) * grid_kg_per_kwh`.

Pure data: nothing here reads the clock; `Calendar` converts a time it is given.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from computenet.domain.errors import DomainError

HOURS = 24
MONTHS = 12
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class HourlyProfile:
    """A value for each hour of the day, per month (index 0 = January, hour 0 = 00:00-01:00)."""

    by_month: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if len(self.by_month) != MONTHS or any(len(d) != HOURS for d in self.by_month):
            raise DomainError("profile: needs 24 hourly values for each of the 12 months")

    def at(self, month: int, hour: int) -> float:
        """The value in `month` (1-12) at `hour` (0-23)."""
        return self.by_month[month - 1][hour]

    @property
    def mean(self) -> float:
        return sum(sum(d) for d in self.by_month) / (MONTHS * HOURS)

    @property
    def low(self) -> float:
        return min(min(d) for d in self.by_month)

    @property
    def high(self) -> float:
        return max(max(d) for d in self.by_month)

    @classmethod
    def constant(cls, value: float) -> "HourlyProfile":
        day = (float(value),) * HOURS
        return cls((day,) * MONTHS)

    @classmethod
    def from_spec(cls, spec: Any, what: str) -> "HourlyProfile":
        """A number (the same every hour), or `{hours: [24 values], seasons: [{months:
        [6, 7, 8], hours: [24 values]}, ...]}` where a season overrides `hours` in its
        months."""
        if isinstance(spec, bool):
            raise DomainError(f"{what}: expected a number or a mapping, got {spec!r}")
        if isinstance(spec, int | float):
            return cls.constant(float(spec))
        if not isinstance(spec, Mapping):
            raise DomainError(f"{what}: expected a number or a mapping with 'hours'")
        unknown = set(spec) - {"hours", "seasons", "note"}
        if unknown:
            raise DomainError(f"{what}: unknown field(s) {sorted(unknown)}")
        base = _day(spec.get("hours"), f"{what}.hours")
        months = [base] * MONTHS
        for i, season in enumerate(spec.get("seasons") or ()):
            where = f"{what}.seasons[{i}]"
            if not isinstance(season, Mapping) or "months" not in season:
                raise DomainError(f"{where}: expected a mapping with 'months' and 'hours'")
            day = _day(season.get("hours"), f"{where}.hours")
            for m in season["months"]:
                if not isinstance(m, int) or not 1 <= m <= MONTHS:
                    raise DomainError(f"{where}.months: {m!r} is not a month 1-12")
                months[m - 1] = day
        return cls(tuple(months))


def _day(values: Any, what: str) -> tuple[float, ...]:
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) != HOURS:
        raise DomainError(f"{what}: expected a list of 24 hourly values")
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise DomainError(f"{what}: every value must be a number") from None


@dataclass(frozen=True, slots=True)
class SiteEnergy:
    """Where a site's power comes from and what it costs, hour by hour."""

    grid_kg_per_kwh: float  # the provincial grid's average emission factor
    green_share: HourlyProfile  # share from contracted zero-carbon supply (0..1)
    price_per_kwh: HourlyProfile  # electricity price (time-of-use tariff)
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.grid_kg_per_kwh < 0:
            raise DomainError("energy: grid_kg_per_kwh must be >= 0")
        if self.green_share.low < 0 or self.green_share.high > 1:
            raise DomainError("energy: green_share must be within 0..1")
        if self.price_per_kwh.low < 0:
            raise DomainError("energy: price_per_kwh must be >= 0")

    def carbon_kg_per_kwh(self, month: int, hour: int) -> float:
        return (1.0 - self.green_share.at(month, hour)) * self.grid_kg_per_kwh

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], profiles: Mapping[str, Any]) -> "SiteEnergy":
        """Each of `grid_kg_per_kwh`, `green_share` and `price_per_kwh` is a value, a
        profile spec, or the name of an entry of the network's `profiles`."""
        known = {"grid_kg_per_kwh", "green_share", "price_per_kwh", "currency"}
        unknown = set(data) - known
        if unknown:
            raise DomainError(f"energy: unknown field(s) {sorted(unknown)}; valid: {sorted(known)}")

        def resolve(key: str, default: Any) -> HourlyProfile:
            spec = data.get(key, default)
            if isinstance(spec, str):
                if spec not in profiles:
                    raise DomainError(
                        f"energy.{key}: unknown profile {spec!r}; valid: {', '.join(sorted(profiles))}"
                    )
                spec = profiles[spec]
            return HourlyProfile.from_spec(spec, f"energy.{key}")

        if "grid_kg_per_kwh" not in data or "price_per_kwh" not in data:
            raise DomainError("energy: grid_kg_per_kwh and price_per_kwh are required")
        grid = resolve("grid_kg_per_kwh", None)
        if grid.low != grid.high:
            raise DomainError("energy.grid_kg_per_kwh: one annual figure, not an hourly profile")
        return cls(
            grid_kg_per_kwh=grid.low,
            green_share=resolve("green_share", 0.0),
            price_per_kwh=resolve("price_per_kwh", None),
            currency=str(data.get("currency", "CNY")),
        )


@dataclass(frozen=True, slots=True)
class Calendar:
    """Maps scheduler time (seconds) to local clock time: time 0 is `origin_s` seconds
    after the Unix epoch; local time is UTC + `utc_offset_h` (China: +8, no DST)."""

    origin_s: float = 0.0
    utc_offset_h: float = 8.0

    def local_hour_index(self, t: float) -> int:
        """Whole local hours since 1970-01-01 00:00 local time."""
        return int((self.origin_s + t + self.utc_offset_h * 3600.0) // 3600.0)

    def time_of_hour(self, index: int) -> float:
        """Scheduler time at which local hour `index` begins."""
        return index * 3600.0 - self.utc_offset_h * 3600.0 - self.origin_s

    @staticmethod
    def month_hour(index: int) -> tuple[int, int]:
        """(month 1-12, hour 0-23) of a local hour index."""
        day, hour = divmod(index, HOURS)
        return dt.date.fromordinal(_EPOCH_ORDINAL + day).month, hour

    @classmethod
    def starting(cls, local: str | dt.datetime, utc_offset_h: float = 8.0) -> "Calendar":
        """Time 0 at the local date-time `local` (ISO text or a naive datetime)."""
        try:
            when = dt.datetime.fromisoformat(local) if isinstance(local, str) else local
        except ValueError:
            raise DomainError(f"start: expected an ISO date-time, got {local!r}") from None
        if when.tzinfo is not None:
            return cls(when.timestamp(), utc_offset_h)
        utc = when.replace(tzinfo=dt.UTC) - dt.timedelta(hours=utc_offset_h)
        return cls(utc.timestamp(), utc_offset_h)
