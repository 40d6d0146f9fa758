"""Chinese sales calendar: holiday and season windows as features per day, week or month.

Tea sells around a handful of dates, most of them lunar and so moving from year to year:
Spring Festival gifting (春节), the spring-tea season around Qingming (明前茶 is picked before
Qingming and sells at a premium; 雨前茶 until Guyu), Mid-Autumn gifting (中秋), National Day
(国庆) and the Double 11 online sales (双十一). Seasonal naive repeats last year's month,
so when the Spring Festival moves from February to January it is wrong twice; these
features let the global model follow the dates.

Each feature is the share of a period's days inside its window (0..1), so the same features
serve daily, weekly and monthly series.
"""

import datetime as dt
from functools import lru_cache
from typing import Final

import numpy as np
import pandas as pd

# (start, end) offsets in days around each anchor date, both inclusive
WINDOWS: Final[dict[str, tuple[str, int, int]]] = {
    "spring_festival_gifts": ("spring_festival", -24, -1),  # New Year goods, gift boxes
    "spring_festival_break": ("spring_festival", 0, 6),  # shops shut, couriers stop
    "pre_qingming": ("qingming", -21, -1),  # 明前茶: the first, dearest pick
    "spring_tea": ("qingming", -21, 15),  # new-tea season, to Guyu (谷雨)
    "mid_autumn_gifts": ("mid_autumn", -21, -1),
    "national_day": ("national_day", 0, 6),
    "double_11": ("double_11", -10, 0),  # pre-sales from 1 November, peak on the 11th
}
FEATURES: Final = tuple(WINDOWS)


@lru_cache(maxsize=512)
def anchors(year: int) -> dict[str, dt.date]:
    """The anchor dates of `year`: lunar ones from the `holidays` lunisolar tables.

    ``holidays.China`` lists only official days off (Qingming and Mid-Autumn became public
    holidays in 2008), so the lunisolar calendar underneath it is used for every year; the
    unit tests pin known dates in case that (underscored) class changes.
    """
    from holidays.calendars.chinese import _ChineseLunisolar

    lunar = _ChineseLunisolar()
    new_year, mid_autumn = lunar.lunar_new_year_date(year)[0], lunar.mid_autumn_date(year)[0]
    if new_year is None or mid_autumn is None:
        raise ValueError(f"no Chinese lunisolar dates for {year} in the holidays tables")
    return {
        "spring_festival": new_year,
        "qingming": lunar.qingming_date(year)[0],
        "mid_autumn": mid_autumn,
        "national_day": dt.date(year, 10, 1),
        "double_11": dt.date(year, 11, 11),
    }


def daily_features(start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day from `start` to `end` (inclusive), a 0/1 column per feature."""
    days = pd.date_range(start, end, freq="D")
    out = pd.DataFrame(0.0, index=days, columns=list(FEATURES))
    for year in range(start.year - 1, end.year + 2):  # windows cross year ends
        anchor = anchors(year)
        for name, (base, lo, hi) in WINDOWS.items():
            first = pd.Timestamp(anchor[base] + dt.timedelta(days=lo))
            last = pd.Timestamp(anchor[base] + dt.timedelta(days=hi))
            out.loc[first:last, name] = 1.0
    return out


def period_features(periods: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """Share of each period's days inside each window; `periods` are period starts.

    `freq` is a pandas offset of period starts (``MS`` monthly, ``W-MON`` weekly, ``D``).
    """
    index = pd.DatetimeIndex(periods)
    if len(index) == 0:
        return pd.DataFrame(columns=list(FEATURES), dtype=float)
    uniq = index.unique().sort_values()
    ends = uniq + pd.tseries.frequencies.to_offset(freq)
    days = daily_features(uniq[0].date(), (ends[-1] - pd.Timedelta(days=1)).date())
    cum = np.vstack([np.zeros(len(FEATURES)), days.to_numpy().cumsum(axis=0)])
    first = (uniq - days.index[0]).days.to_numpy()
    last = (ends - days.index[0]).days.to_numpy()
    share = (cum[last] - cum[first]) / (last - first)[:, None]
    table = pd.DataFrame(share, index=uniq, columns=list(FEATURES))
    return table.loc[index].set_axis(np.arange(len(index)))
