"""The real garden series for the growth model: weather stations and shoot-density cameras.

``tea/garden`` of the shared data (Chen et al., NTU: IoT canopy monitoring, 2024) holds

* ``WS0N_temperature_hourly.csv`` — hourly air temperature (``hour,temperature_c``, local
  time) of four weather stations in the same plantation;
* ``tsdi_PMS00C_K_148.csv`` — the Tea Shoot Density Index of canopy camera ``PMS00C``, six
  image regions per timestamp, for harvest cycle ``K``.

Pairing. No file says which station stands next to which camera, and the stations are one
plantation's: where they report together they mostly agree (WS02 and WS03: median hourly
difference 0.2 °C, daily means correlated at 0.997). The exceptions are faults, not places:
WS01 reads a median 4.2 °C warmer than WS03 from mid-March to early June 2024 and then falls in
line; WS02 keeps only a few, mostly daytime, hours a day from late August to mid-October 2024;
WS03 ends on 18 October and WS04 starts on 16 October 2024. Pairing camera N with station N
would inherit these faults, so every camera is paired with the *garden series*: the hourly
median of the stations reporting, which outvotes one bad station. `station_series` still
gives a single station (the CLI's ``--station``).

Cycles. A camera's file suffix ``_K`` is its harvest cycle: PMS002's files end and the next
one starts within hours (31 July, 13 September) exactly when its density drops to ~0 — the
pick. Each cycle therefore starts at its file's first timestamp. (PMS002's first cycle starts
when its record does, 14 June; the real pick may have been earlier.)
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from teaplatform.garden.growth import CLIMATE_DAYS, HOURS_PER_DAY, Climatology, FloatArray

GARDEN_DIR = Path("tea") / "garden"
STATIONS = ("WS01", "WS02", "WS03", "WS04")
_TSDI_NAME = re.compile(r"tsdi_(PMS\d+)_(\d+)_\d+\.csv$")
SHORT_GAP_HOURS = 3  # interpolated linearly; longer gaps take the same hour of nearby days
GAP_FILL_DAYS = 7  # window (days, centred) of that same-hour mean
CLIMATE_SMOOTH_DAYS = 15  # window (days, centred, circular) smoothing the climatology


class GardenDataError(ValueError):
    """The garden data directory is missing or malformed."""


def garden_dir(shared_data: Path) -> Path:
    path = shared_data / GARDEN_DIR
    if not path.is_dir():
        raise GardenDataError(f"no garden data at {path} (set SHARED_DATA or --data)")
    return path


def station_series(shared_data: Path, station: str) -> "pd.Series[float]":
    """One station's hourly air temperature (°C, naive local time; NaN where missing)."""
    if station not in STATIONS:
        raise GardenDataError(f"unknown station {station!r}: choose one of {', '.join(STATIONS)}")
    path = garden_dir(shared_data) / f"{station}_temperature_hourly.csv"
    frame = pd.read_csv(path, parse_dates=["hour"])
    if list(frame.columns) != ["hour", "temperature_c"]:
        raise GardenDataError(f"{path}: expected columns hour,temperature_c")
    series = frame.set_index("hour")["temperature_c"].astype("float64")
    return series.sort_index().asfreq("h")


def garden_series(shared_data: Path, stations: tuple[str, ...] = STATIONS) -> "pd.Series[float]":
    """The plantation's hourly air temperature: the median of the stations reporting each hour."""
    frame = pd.DataFrame({s: station_series(shared_data, s) for s in stations})
    return frame.median(axis=1, skipna=True).asfreq("h")


def fill_series(series: "pd.Series[float]") -> "pd.Series[float]":
    """Close the gaps of an hourly series: short ones linearly, long ones from the same hour of
    the surrounding week (keeps the daily cycle, which matters for degree days)."""
    index = pd.DatetimeIndex(series.index)
    same_hour = series.groupby(index.hour).transform(
        lambda s: s.rolling(GAP_FILL_DAYS, center=True, min_periods=1).mean()
    )
    filled = series.interpolate(limit=SHORT_GAP_HOURS, limit_area="inside").fillna(same_hour)
    if filled.isna().any():
        raise GardenDataError(f"{int(filled.isna().sum())} hours could not be filled")
    return filled


def climatology(series: "pd.Series[float]") -> Climatology:
    """Mean temperature per (day of year, hour), smoothed over ±7 days (circular).

    Days of the year the series never covers are an error: the climatology must be real.
    """
    index = pd.DatetimeIndex(series.index)
    frame = pd.DataFrame({"doy": index.dayofyear, "hour": index.hour, "t": series.to_numpy()})
    frame = frame.dropna()
    table = frame.pivot_table(index="doy", columns="hour", values="t", aggfunc="mean")
    table = table.reindex(index=range(1, CLIMATE_DAYS + 1), columns=range(HOURS_PER_DAY))
    # 29 February is rare: borrow its neighbours before smoothing
    values = table.to_numpy(dtype=np.float64)
    half = CLIMATE_SMOOTH_DAYS // 2
    padded = np.concatenate([values[-half:], values, values[:half]])
    smoothed = np.empty_like(values)
    for day in range(CLIMATE_DAYS):
        smoothed[day] = np.nanmean(padded[day : day + CLIMATE_SMOOTH_DAYS], axis=0)
    if np.isnan(smoothed).any():
        missing = int(np.isnan(smoothed).any(axis=1).sum())
        raise GardenDataError(f"the temperature series leaves {missing} days of the year empty")
    return Climatology(smoothed)


@dataclass(frozen=True, slots=True)
class Cycle:
    """One harvest cycle of one camera: daily mean density from the pick on."""

    camera: str
    number: int
    start: pd.Timestamp  # first timestamp of the file: the pick
    days: pd.DatetimeIndex  # noon of each observed day
    tsdi: FloatArray  # mean over the image regions, then over the day's timestamps

    @property
    def label(self) -> str:
        return f"{self.camera}/{self.number}"


def load_cycles(shared_data: Path) -> list[Cycle]:
    """Every camera's harvest cycles, in (camera, cycle) order."""
    cycles: list[Cycle] = []
    for path in sorted(garden_dir(shared_data).glob("tsdi_*.csv")):
        match = _TSDI_NAME.search(path.name)
        if match is None:
            raise GardenDataError(f"unexpected TSDI file name {path.name}")
        frame = pd.read_csv(path, parse_dates=["timestamp"])
        per_image = frame.groupby("timestamp")["tsdi"].mean()
        daily = per_image.resample("D").mean().dropna()
        cycles.append(
            Cycle(
                camera=match.group(1),
                number=int(match.group(2)),
                start=per_image.index.min(),
                days=pd.DatetimeIndex(daily.index + pd.Timedelta(hours=12)),
                tsdi=daily.to_numpy(dtype=np.float64),
            )
        )
    if not cycles:
        raise GardenDataError("no tsdi_*.csv files")
    return cycles
