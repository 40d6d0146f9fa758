"""Demo garden for `make up`: SYNTHETIC gardens and plots, REAL weather-station readings.

The garden, its plots and their coordinates are made up (labelled SYNTHETIC), placed at Jinjing,
Changsha County, a real Hunan tea area. Each plot has one weather station, WS01–WS04, fed with the
real hourly series of the station of that name (../shared/data/tea/garden; the files give local
hours without a zone, read as China time, `replay.STATION_TZ`). WS01's history is loaded up to `LIVE_FROM`; the rest of
it arrives live over MQTT:

    teaplatform garden replay --station WS01 --speed 3600 --start 2024-06-01T00:00+08:00
"""

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from teaplatform.garden import catalog
from teaplatform.garden.catalog import DeviceCreate, GardenCreate, PlotCreate, TeaType
from teaplatform.garden.csvimport import parse_csv
from teaplatform.garden.ingest import ingest_in_chunks
from teaplatform.garden.readings import Reading
from teaplatform.garden.replay import STATION_TZ, station_file
from teaplatform.garden.rulebook import add_rule
from teaplatform.garden.rules import BUILTIN_RULES
from teaplatform.settings import Settings
from teaplatform.store.db import Store

GARDEN = "Jinjing demo garden (SYNTHETIC)"
LIVE_FROM = datetime(2024, 6, 1, tzinfo=ZoneInfo(STATION_TZ))
# (plot, tea type, cultivar, latitude, longitude, station)
PLOTS = (
    ("A · Xiaoxiang green", TeaType.GREEN, "Zhuyeqi 槠叶齐", 28.471, 113.332, "WS01"),
    ("B · Hunan black", TeaType.BLACK, "Baojing golden 保靖黄金茶", 28.466, 113.341, "WS02"),
    ("C · Anhua dark", TeaType.DARK, "Anhua Yunmi 安化云密", 28.459, 113.327, "WS03"),
    ("D · Yueyang yellow", TeaType.YELLOW, "Junshan Yinzhen 君山银针", 28.476, 113.319, "WS04"),
)
# The real stations never come near the 3 °C frost limit (their coldest spring hour is 6.5 °C):
# plot B tunes the rule to 9 °C so that the demo shows the frost rule at work. SYNTHETIC tuning.
DEMO_FROST_LIMIT_C = 9.0


def _shared_data() -> Path:
    return Path(os.environ.get("SHARED_DATA", "../shared/data"))


def seed_demo(settings: Settings, store: Store) -> str:
    """Create the demo garden and load the real station history (idempotent)."""
    with store.session() as session:
        if catalog.garden_by_name(session, GARDEN) is not None:
            return f"{GARDEN}: present already"
        garden = catalog.create_garden(
            session,
            GardenCreate(
                name=GARDEN,
                region="湖南省长沙县金井镇 Jinjing, Changsha County, Hunan",
                latitude=28.47,
                longitude=113.33,
                note="SYNTHETIC demo garden; readings are the real WS01–WS04 station series.",
            ),
        )
        for name, tea, cultivar, lat, lon, station in PLOTS:
            plot = catalog.create_plot(
                session,
                PlotCreate(
                    garden_id=garden.id,
                    name=name,
                    tea_type=tea,
                    cultivar=cultivar,
                    area_ha=2.0,
                    latitude=lat,
                    longitude=lon,
                    note="SYNTHETIC",
                ),
            )
            catalog.create_device(
                session,
                DeviceCreate(
                    key=station,
                    name=f"weather station {station}",
                    plot_id=plot.id,
                    sensors=["air_temperature"],
                ),
            )
            if station == "WS02":
                frost = BUILTIN_RULES["frost_risk"].model_copy(update={"limit": DEMO_FROST_LIMIT_C})
                add_rule(session, plot.id, frost)
    stored = 0
    missing: list[str] = []
    for *_, station in PLOTS:
        path = station_file(station, _shared_data())
        if not path.is_file():
            missing.append(station)
            continue
        with path.open() as fh:
            history = (
                r
                for r in parse_csv(fh, device=station, tz=ZoneInfo(STATION_TZ))
                if not (station == "WS01" and isinstance(r, Reading) and r.ts >= LIVE_FROM)
            )
            stored += ingest_in_chunks(store, history, source="csv").stored
    note = f"; no data for {', '.join(missing)} (set SHARED_DATA)" if missing else ""
    return f"{GARDEN}: {len(PLOTS)} plots, {stored} real readings{note}"
