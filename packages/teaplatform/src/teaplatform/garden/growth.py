"""Shoot development and the picking window from thermal time (pure: no I/O, no clock).

A flush of shoots develops with accumulated temperature: growing degree days (GDD) above a base
temperature, counted from the last pick. The pluckable-shoot density (the Tea Shoot Density
Index, TSDI, of the canopy cameras) rises along a logistic curve in GDD::

    tsdi(G) = lower + amplitude / (1 + exp(-(G - midpoint) / scale))

The picking stage is reached when the curve has risen `picking_fraction` of the way (the window
opens); the density peaks and the window closes a fixed number of days later (the decline after
the peak follows picking and maturation, which thermal time does not explain in our data).

Temperatures are hourly (one value per local hour); a day's GDD is the sum of its hours'
``max(T - base, 0) / 24``, so a warm afternoon counts even when the daily mean is cool.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

HOURS_PER_DAY = 24
CLIMATE_DAYS = 366  # day-of-year rows of a climatology (29 February included)
MAX_HORIZON_DAYS = 365  # how far ahead a window is searched for


@dataclass(frozen=True, slots=True)
class FlushModel:
    """The fitted parameters of one flush cycle (see the module docstring)."""

    base_temp_c: float
    lower: float
    amplitude: float
    midpoint_gdd: float
    scale_gdd: float
    picking_fraction: float  # share of the rise at which shoots are ready (window opens)
    peak_offset_days: float  # observed density peak, days after the window opens
    window_days: float  # how long the window stays open

    def fraction(self, gdd: FloatArray | float) -> FloatArray:
        """Share of the rise reached after `gdd` degree days (0 → 1)."""
        z = (np.asarray(gdd, dtype=np.float64) - self.midpoint_gdd) / self.scale_gdd
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))), dtype=np.float64)

    def tsdi(self, gdd: FloatArray | float) -> FloatArray:
        """Expected shoot density index after `gdd` degree days since the pick."""
        return self.lower + self.amplitude * self.fraction(gdd)

    def gdd_at_fraction(self, fraction: float) -> float:
        """Degree days at which the rise reaches `fraction` (0 < fraction < 1)."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), not {fraction}")
        return self.midpoint_gdd + self.scale_gdd * math.log(fraction / (1.0 - fraction))

    @property
    def picking_gdd(self) -> float:
        """Degree days since the pick at which the picking window opens."""
        return self.gdd_at_fraction(self.picking_fraction)

    def to_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FlushModel":
        return cls(**{name: float(data[name]) for name in cls.__slots__})


def hourly_gdd(temps_c: FloatArray, base_temp_c: float) -> FloatArray:
    """Each hour's contribution to the degree days: ``max(T - base, 0) / 24``."""
    return np.clip(np.asarray(temps_c, dtype=np.float64) - base_temp_c, 0.0, None) / HOURS_PER_DAY


def cumulative_gdd(temps_c: FloatArray, base_temp_c: float) -> FloatArray:
    """Degree days accumulated at the end of each hour of an hourly series (no gaps allowed)."""
    temps = np.asarray(temps_c, dtype=np.float64)
    if np.isnan(temps).any():
        raise ValueError("hourly temperatures have gaps: fill them first (fill_gaps)")
    return np.cumsum(hourly_gdd(temps, base_temp_c))


def hour_floor(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def hourly_means(
    times: list[datetime], values: list[float], start: datetime, hours: int
) -> FloatArray:
    """Mean of the readings in each hour ``[start + i h, start + (i+1) h)``; NaN where none.

    `start` is a whole hour; `times` and `start` share a time zone (or are both naive).
    """
    sums = np.zeros(hours)
    counts = np.zeros(hours)
    for ts, value in zip(times, values, strict=True):
        index = int((ts - start).total_seconds() // 3600)
        if 0 <= index < hours:
            sums[index] += value
            counts[index] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True, slots=True)
class Climatology:
    """Mean air temperature per (day of year, local hour): ``temps[doy - 1, hour]``."""

    temps_c: FloatArray  # shape (366, 24)

    def __post_init__(self) -> None:
        if self.temps_c.shape != (CLIMATE_DAYS, HOURS_PER_DAY):
            raise ValueError(f"climatology must be 366x24, not {self.temps_c.shape}")
        if np.isnan(self.temps_c).any():
            raise ValueError("climatology has gaps")

    def at(self, start: datetime, hours: int) -> FloatArray:
        """The climatological temperature of `hours` consecutive hours from local `start`."""
        index = pd.date_range(start, periods=hours, freq="h")
        return np.asarray(self.temps_c[index.dayofyear - 1, index.hour], dtype=np.float64)

    def daily_gdd(self, base_temp_c: float) -> FloatArray:
        """Climatological degree days of each day of the year (366 values)."""
        return np.asarray(hourly_gdd(self.temps_c, base_temp_c).sum(axis=1), dtype=np.float64)


def fill_gaps(observed: FloatArray, fallback: FloatArray) -> FloatArray:
    """`observed` with its NaN hours taken from `fallback` (the climatology of those hours)."""
    obs = np.asarray(observed, dtype=np.float64)
    return np.where(np.isnan(obs), fallback, obs)


@dataclass(frozen=True, slots=True)
class PickingWindow:
    """Where a flush stands on `as_of` and when it is expected to be ready for picking."""

    since: datetime  # the last pick (local time): the flush's start
    as_of: datetime  # local time the forecast is made at
    gdd_so_far: float
    gdd_needed: float  # at the window's opening
    progress: float  # share of the degree days needed that have accumulated (0 → 1)
    expected_tsdi: float
    opens: date | None  # None: not reached within the horizon
    peak: date | None
    closes: date | None
    observed_hours: int  # hours of `since → as_of` with readings
    filled_hours: int  # hours of `since → as_of` taken from the climatology
    status: str  # growing | open | closed | beyond-horizon

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "as_of": self.as_of.isoformat(),
            "gdd_so_far": round(self.gdd_so_far, 1),
            "gdd_needed": round(self.gdd_needed, 1),
            "progress": round(self.progress, 3),
            "expected_tsdi": round(self.expected_tsdi, 2),
            "opens": self.opens.isoformat() if self.opens else None,
            "peak": self.peak.isoformat() if self.peak else None,
            "closes": self.closes.isoformat() if self.closes else None,
            "observed_hours": self.observed_hours,
            "filled_hours": self.filled_hours,
            "status": self.status,
        }


def picking_window(
    model: FlushModel,
    climatology: Climatology,
    *,
    since: datetime,
    as_of: datetime,
    observed: FloatArray,
) -> PickingWindow:
    """The expected picking window of a flush that started at `since` (the last pick).

    `observed` holds the hourly mean air temperature of each hour from ``hour_floor(since)`` to
    ``as_of`` (NaN where there were no readings; those hours take the climatology). Future hours
    take the climatology. All times are naive local times of the garden.
    """
    start = hour_floor(since)
    if as_of < since:
        raise ValueError("as_of is before the flush started")
    past_hours = int((as_of - start).total_seconds() // 3600)
    obs = np.asarray(observed, dtype=np.float64)
    if obs.shape != (past_hours,):
        raise ValueError(f"need {past_hours} hourly values since {start}, got {obs.shape[0]}")
    past = fill_gaps(obs, climatology.at(start, past_hours))
    gdd_so_far = float(hourly_gdd(past, model.base_temp_c).sum())
    needed = model.picking_gdd
    observed_hours = int(np.count_nonzero(~np.isnan(obs)))

    opens: datetime | None
    if gdd_so_far >= needed:
        # already open: when did it open? (walk the past hours)
        crossed = int(np.searchsorted(cumulative_gdd(past, model.base_temp_c), needed))
        opens = start + timedelta(hours=crossed + 1)
    else:
        opens = None
        future_start = start + timedelta(hours=past_hours)
        future = climatology.at(future_start, MAX_HORIZON_DAYS * HOURS_PER_DAY)
        total = gdd_so_far + cumulative_gdd(future, model.base_temp_c)
        crossed = int(np.searchsorted(total, needed))
        if crossed < total.shape[0]:
            opens = future_start + timedelta(hours=crossed + 1)

    window = _window_dates(model, opens)
    return PickingWindow(
        since=since,
        as_of=as_of,
        gdd_so_far=gdd_so_far,
        gdd_needed=needed,
        progress=min(gdd_so_far / needed, 1.0),
        expected_tsdi=float(model.tsdi(gdd_so_far)),
        opens=window[0],
        peak=window[1],
        closes=window[2],
        observed_hours=observed_hours,
        filled_hours=past_hours - observed_hours,
        status=_status(as_of.date(), window),
    )


def _window_dates(
    model: FlushModel, opens: datetime | None
) -> tuple[date | None, date | None, date | None]:
    if opens is None:
        return None, None, None
    day = opens.date()
    return (
        day,
        day + timedelta(days=round(model.peak_offset_days)),
        day + timedelta(days=round(model.window_days)),
    )


def _status(today: date, window: tuple[date | None, date | None, date | None]) -> str:
    opens, _, closes = window
    if opens is None or closes is None:
        return "beyond-horizon"
    if today < opens:
        return "growing"
    return "open" if today <= closes else "closed"
