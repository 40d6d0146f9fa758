"""From sales records to a panel of regular time series (pure pandas).

A panel is the long format statsforecast uses: ``unique_id``, ``ds`` (period start), ``y``
(quantity), plus ``revenue``. Series are cut by any of product, channel and region (the
others summed). A period with no record has sold nothing, so gaps are zeros up to the
panel's last period; a trailing period the data covers only in part is dropped (a half
month would read as a slump).
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

DIMENSIONS = ("product", "channel", "region")
SEPARATOR = " / "


class Freq(enum.StrEnum):
    DAY = "D"
    WEEK = "W"
    MONTH = "M"

    @property
    def offset(self) -> str:
        """The pandas offset of period starts (statsforecast's ``freq``)."""
        return {"D": "D", "W": "W-MON", "M": "MS"}[self.value]

    @property
    def season_length(self) -> int:
        return {"D": 7, "W": 52, "M": 12}[self.value]


@dataclass(frozen=True)
class SeriesFilter:
    products: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def apply(self, records: pd.DataFrame) -> pd.DataFrame:
        keep = pd.Series(True, index=records.index)
        for column, wanted in (
            ("product", self.products),
            ("channel", self.channels),
            ("region", self.regions),
        ):
            if wanted:
                keep &= records[column].isin(wanted)
        return records[keep]


def check_group_by(group_by: Sequence[str]) -> tuple[str, ...]:
    dims = tuple(dict.fromkeys(group_by))
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad or not dims:
        raise ValueError(f"group by one or more of {list(DIMENSIONS)}, not {list(group_by)}")
    return dims


def period_start(dates: pd.Series, freq: Freq) -> pd.Series:
    stamps = pd.Series(pd.to_datetime(dates), index=dates.index)
    if freq is Freq.DAY:
        return pd.Series(stamps.dt.normalize(), index=dates.index)
    if freq is Freq.WEEK:
        return pd.Series(
            (stamps - pd.to_timedelta(stamps.dt.weekday, unit="D")).dt.normalize(),
            index=dates.index,
        )
    return pd.Series(stamps.dt.to_period("M").dt.to_timestamp(), index=dates.index)


def build_panel(
    records: pd.DataFrame, freq: Freq, group_by: Sequence[str] = ("product",)
) -> pd.DataFrame:
    """Records (product, channel, region, date, quantity, price) -> the long panel.

    Columns: ``unique_id`` (dimension values joined by " / "), ``ds``, ``y``, ``revenue``
    (quantity x price where the price is known), sorted by series and period.
    """
    dims = check_group_by(group_by)
    if records.empty:
        return pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": [], "revenue": []})
    frame = records.assign(
        ds=period_start(records["date"], freq),
        revenue=records["quantity"] * records["price"].astype(float).fillna(0.0),
        unique_id=records[list(dims)].astype(str).agg(SEPARATOR.join, axis=1),
    )
    last_day = pd.Timestamp(pd.to_datetime(records["date"]).max())
    last_period = frame["ds"].max()
    end_of_last = last_period + pd.tseries.frequencies.to_offset(freq.offset) - pd.Timedelta(days=1)
    if last_day < end_of_last:
        frame = frame[frame["ds"] < last_period]
        last_period = last_period - pd.tseries.frequencies.to_offset(freq.offset)
    sums = frame.groupby(["unique_id", "ds"], as_index=False)[["quantity", "revenue"]].sum()
    filled = []
    for uid, part in sums.groupby("unique_id", sort=True):
        grid = pd.date_range(part["ds"].min(), last_period, freq=freq.offset)
        full = part.set_index("ds").reindex(grid, fill_value=0.0).rename_axis("ds").reset_index()
        full["unique_id"] = uid
        filled.append(full)
    if not filled:
        return pd.DataFrame({"unique_id": [], "ds": pd.to_datetime([]), "y": [], "revenue": []})
    panel = pd.concat(filled, ignore_index=True).rename(columns={"quantity": "y"})
    panel["y"] = panel["y"].astype(float)
    return panel[["unique_id", "ds", "y", "revenue"]]


def average_prices(
    records: pd.DataFrame, freq: Freq, group_by: Sequence[str] = ("product",)
) -> pd.DataFrame:
    """Per series and period: quantity, revenue and the average unit price (priced rows only)."""
    dims = check_group_by(group_by)
    priced = records[records["price"].notna() & (records["quantity"] > 0)]
    frame = priced.assign(
        ds=period_start(priced["date"], freq),
        revenue=priced["quantity"] * priced["price"].astype(float),
        unique_id=priced[list(dims)].astype(str).agg(SEPARATOR.join, axis=1)
        if len(priced)
        else pd.Series(dtype=str),
    )
    sums = frame.groupby(["unique_id", "ds"], as_index=False)[["quantity", "revenue"]].sum()
    sums["price"] = sums["revenue"] / sums["quantity"]
    return sums
