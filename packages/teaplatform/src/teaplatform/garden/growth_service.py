"""Picking windows from real temperatures: a plot's air-temperature readings, or a station file.

The past comes from readings (hourly means; hours without readings take the climatology), the
future from the shipped climatology; the flush model says when the picking stage is reached.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from teaplatform.garden import catalog
from teaplatform.garden.growth import PickingWindow, hour_floor, hourly_means, picking_window
from teaplatform.garden.growth_data import station_series
from teaplatform.garden.growth_params import GrowthParams, shipped
from teaplatform.garden.repository import readings_between

AIR_TEMPERATURE = "air_temperature"
MAX_FLUSH_DAYS = 366  # a flush older than this is not a flush: ask for the last pick


class WindowRequestError(ValueError):
    """The question cannot be answered as asked (bad dates)."""


@dataclass(frozen=True, slots=True)
class WindowAnswer:
    window: PickingWindow
    source: str  # where the past temperatures came from
    params: GrowthParams

    def to_dict(self) -> dict[str, Any]:
        model = self.params.model
        return {
            **self.window.to_dict(),
            "source": self.source,
            "model": {
                "base_temp_c": round(model.base_temp_c, 2),
                "picking_gdd": round(model.picking_gdd, 1),
                "picking_fraction": model.picking_fraction,
                "held_out_open_mae_days": round(self.params.held_out_open_mae_days, 2),
            },
        }


def _check_span(since: datetime, as_of: datetime) -> None:
    if as_of < since:
        raise WindowRequestError(
            f"as_of {as_of:%Y-%m-%d %H:%M} is before the pick {since:%Y-%m-%d}"
        )
    if as_of - since > timedelta(days=MAX_FLUSH_DAYS):
        raise WindowRequestError(
            f"the last pick ({since:%Y-%m-%d}) is over {MAX_FLUSH_DAYS} days before as_of"
        )


def _aware(ts: datetime, zone: ZoneInfo) -> datetime:
    return ts.replace(tzinfo=zone) if ts.tzinfo is None else ts


def plot_window(
    session: Session,
    plot_id: int,
    *,
    since: datetime,
    as_of: datetime,
    params: GrowthParams | None = None,
) -> WindowAnswer:
    """The picking window of a plot whose last pick was at `since` (naive: the garden's time).

    Raises `catalog.NotFoundError` for an unknown plot, `WindowRequestError` for bad dates.
    """
    params = params or shipped()
    plot = catalog.get_plot(session, plot_id)
    zone = ZoneInfo(catalog.get_garden(session, plot.garden_id).timezone)
    since, as_of = _aware(since, zone), _aware(as_of, zone)
    local_since = since.astimezone(zone).replace(tzinfo=None)
    local_as_of = as_of.astimezone(zone).replace(tzinfo=None)
    _check_span(local_since, local_as_of)
    start = hour_floor(local_since)
    hours = int((local_as_of - start).total_seconds() // 3600)
    readings = readings_between(
        session,
        plot_id=plot_id,
        quantity=AIR_TEMPERATURE,
        start=start.replace(tzinfo=zone).astimezone(UTC),
        end=as_of.astimezone(UTC),
    )
    observed = hourly_means(
        [r.ts.astimezone(zone).replace(tzinfo=None) for r in readings],
        [r.value for r in readings],
        start,
        hours,
    )
    devices = sorted({r.device for r in readings})
    window = picking_window(
        params.model, params.climatology, since=local_since, as_of=local_as_of, observed=observed
    )
    source = f"plot {plot_id}: {len(readings)} air_temperature readings from {len(devices)} devices"
    return WindowAnswer(window, source, params)


def station_window(
    shared_data: Path,
    station: str,
    *,
    since: datetime,
    as_of: datetime,
    params: GrowthParams | None = None,
) -> WindowAnswer:
    """The picking window from a real station file (naive local times)."""
    params = params or shipped()
    series = station_series(shared_data, station)
    _check_span(since, as_of)
    start = hour_floor(since)
    hours = int((as_of - start).total_seconds() // 3600)
    index = pd.date_range(start, periods=hours, freq="h")
    observed = np.asarray(series.reindex(index).to_numpy(), dtype=np.float64)
    window = picking_window(
        params.model, params.climatology, since=since, as_of=as_of, observed=observed
    )
    return WindowAnswer(window, f"station {station} ({shared_data})", params)
