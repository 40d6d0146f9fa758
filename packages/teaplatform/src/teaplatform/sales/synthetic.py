"""SYNTHETIC tea sales for demos: five teas, three channels, two regions, daily (pure).

Made up, not measured: base demand per tea, multiplied by the Chinese calendar windows of
`teaplatform.sales.calendar` (new-tea season around Qingming for the green, white and
yellow teas; Spring Festival and Mid-Autumn gifting; Double 11 online; the Spring
Festival break when shops shut and couriers stop), a winter season for the black and dark
teas, weekends in shops, a growth trend for Anhua dark tea, promotions with a known price
elasticity per tea, and gamma-Poisson noise. Every record's source says SYNTHETIC.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from teaplatform.sales.calendar import daily_features
from teaplatform.sales.records import SaleRecord

SOURCE = "demo (SYNTHETIC)"


@dataclass(frozen=True)
class Tea:
    name: str
    base: float  # packs a day, online channel, Hunan
    price: float  # list price, yuan per pack
    spring: float  # multiplier in the new-tea season (pre-Qingming gets 1.5x more of it)
    winter: float  # amplitude of a December peak (black and dark teas warm in winter)
    growth: float  # yearly growth
    elasticity: float  # the true price elasticity used for promotions


TEAS = (
    Tea("Xiaoxiang green", 30.0, 168.0, 2.2, 0.0, 0.03, -1.2),
    Tea("Hunan black", 22.0, 128.0, 1.2, 0.35, 0.02, -1.5),
    Tea("Anhua dark", 26.0, 98.0, 1.0, 0.45, 0.10, -1.6),
    Tea("Sangzhi white", 9.0, 238.0, 1.5, 0.1, 0.05, -0.9),
    Tea("Yueyang yellow", 6.0, 298.0, 1.7, 0.0, 0.0, -0.8),
)
# channel: (scale, Double 11 boost, gifting boost, Spring Festival break factor, weekend boost)
CHANNELS = {
    "online": (1.0, 3.0, 1.4, 0.35, 1.0),
    "tea shop": (0.8, 1.0, 1.8, 0.5, 1.35),
    "corporate gifts": (0.4, 1.0, 3.5, 0.2, 0.6),
}
REGIONS = {"Hunan": 1.0, "rest of China": 0.7}


def generate(
    start: dt.date = dt.date(2023, 1, 1), end: dt.date = dt.date(2025, 12, 31), seed: int = 8
) -> list[SaleRecord]:
    """Daily SYNTHETIC records (days with no sale are left out, as in real sales files)."""
    rng = np.random.default_rng(seed)
    cal = daily_features(start, end)
    days = pd.DatetimeIndex(cal.index)
    t_years = (days - days[0]).days.to_numpy() / 365.25
    day_of_year = days.dayofyear.to_numpy()
    weekend = days.dayofweek.to_numpy() >= 5
    winter = np.cos(2 * np.pi * (day_of_year - 355) / 365.25)  # peaks near 21 December
    gifting = np.maximum(
        cal["spring_festival_gifts"].to_numpy(), cal["mid_autumn_gifts"].to_numpy()
    )
    out: list[SaleRecord] = []
    for tea in TEAS:
        season = (
            1.0
            + (tea.spring - 1.0)
            * cal["spring_tea"].to_numpy()
            * (1.0 + 0.5 * cal["pre_qingming"].to_numpy())
            + tea.winter * winter
        ) * (1.0 + tea.growth) ** t_years
        for channel, (scale, d11, gift, brk, wknd) in CHANNELS.items():
            promo = _promotions(rng, len(days))
            if channel == "online":
                promo = np.where(cal["double_11"].to_numpy() > 0, np.minimum(promo, 0.8), promo)
            mult = (
                season
                * (1.0 + (d11 - 1.0) * cal["double_11"].to_numpy())
                * (1.0 + (gift - 1.0) * gifting)
                * (1.0 + (brk - 1.0) * cal["spring_festival_break"].to_numpy())
                * np.where(weekend, wknd, 1.0)
                * promo**tea.elasticity
            )
            for region, rscale in REGIONS.items():
                mean = tea.base * scale * rscale * mult
                qty = rng.poisson(mean * rng.gamma(8.0, 1 / 8.0, len(days)))  # overdispersed
                price = np.round(tea.price * promo, 2)
                out.extend(
                    SaleRecord(tea.name, channel, region, d.date(), float(q), float(p))
                    for d, q, p in zip(days, qty, price, strict=True)
                    if q > 0
                )
    return out


def _promotions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Price as a share of list price: about one week in eight at 10-25 % off."""
    weeks = (n + 6) // 7
    off = np.where(rng.random(weeks) < 0.125, rng.uniform(0.75, 0.9, weeks), 1.0)
    return np.asarray(np.repeat(off, 7)[:n], dtype=float)
