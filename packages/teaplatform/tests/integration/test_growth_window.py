"""A plot's picking window from its stored readings equals the one from the same real station
file: the store path (readings_between, hourly means, time zones) loses nothing."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from teaplatform.garden import catalog
from teaplatform.garden.csvimport import parse_csv
from teaplatform.garden.growth_service import WindowRequestError, plot_window, station_window
from teaplatform.garden.ingest import ingest
from teaplatform.store.db import Store

pytestmark = pytest.mark.integration

SINCE = datetime(2024, 9, 13, 14)  # PMS00x's pick, garden time
AS_OF = datetime(2024, 10, 1)


def seed_plot_with_station(store: Store, shared_data: Path, station: str = "WS01") -> int:
    path = shared_data / "tea" / "garden" / f"{station}_temperature_hourly.csv"
    with store.session() as session:
        garden = catalog.create_garden(session, catalog.GardenCreate(name="NTU plantation"))
        plot = catalog.create_plot(
            session,
            catalog.PlotCreate(garden_id=garden.id, name="A", tea_type=catalog.TeaType.GREEN),
        )
        catalog.create_device(
            session,
            catalog.DeviceCreate(key="ws01", plot_id=plot.id, sensors=["air_temperature"]),
        )
        with path.open() as lines:
            items = list(parse_csv(lines, device="ws01", tz=ZoneInfo("Asia/Shanghai")))
        result = ingest(session, items, source="csv", now=datetime.now(UTC))
        assert result.stored > 5000
        return plot.id


def test_plot_window_matches_the_station_file(store: Store, shared_data: Path) -> None:
    plot_id = seed_plot_with_station(store, shared_data)
    expected = station_window(shared_data, "WS01", since=SINCE, as_of=AS_OF)
    with store.session() as session:
        got = plot_window(session, plot_id, since=SINCE, as_of=AS_OF)
    assert got.window.opens == expected.window.opens
    assert got.window.gdd_so_far == pytest.approx(expected.window.gdd_so_far, abs=1e-6)
    assert got.window.observed_hours == expected.window.observed_hours > 400
    assert got.window.status == "growing"
    # an aware as_of in UTC is the same instant
    with store.session() as session:
        utc = plot_window(
            session,
            plot_id,
            since=SINCE,
            as_of=AS_OF.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC),
        )
    assert utc.window.gdd_so_far == pytest.approx(got.window.gdd_so_far)


def test_unknown_plot_and_bad_dates(store: Store, shared_data: Path) -> None:
    plot_id = seed_plot_with_station(store, shared_data)
    with store.session() as session:
        with pytest.raises(catalog.NotFoundError):
            plot_window(session, plot_id + 99, since=SINCE, as_of=AS_OF)
        with pytest.raises(WindowRequestError, match="before"):
            plot_window(session, plot_id, since=AS_OF, as_of=SINCE)
        with pytest.raises(WindowRequestError, match="366"):
            plot_window(session, plot_id, since=datetime(2022, 1, 1), as_of=AS_OF)
