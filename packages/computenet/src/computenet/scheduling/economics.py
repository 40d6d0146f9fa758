"""Energy, carbon and price of running work at a site over a time window.

`EnergyModel` turns each site's hourly profiles into running sums over local hours, so the
mean carbon intensity, green share or price over any window costs a few lookups (the
scoring and the accounting ask for it per candidate and per run). The tables start at the
first hour asked for and grow in whole months as time goes on; their values depend only on
the hour, so runs are deterministic whatever the order of questions.

A site without energy data takes the network's mean figures, so scores stay comparable;
the accounting says when no site has data at all (`has_data`).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from computenet.domain.economics import Calendar, SiteEnergy
from computenet.domain.network import Network, Site

CHUNK_H = 31 * 24  # the tables grow by a month of hours at a time
CARBON, GREEN, PRICE = 0, 1, 2  # the metrics: kg CO2/kWh, green share, price per kWh
_METRICS = 3

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Window:
    """Means over a time window at one site."""

    carbon_kg_per_kwh: float
    green_share: float
    price_per_kwh: float


class EnergyModel:
    def __init__(self, network: Network, calendar: Calendar) -> None:
        self.calendar = calendar
        self._energy: list[SiteEnergy | None] = []
        self.pue: list[float] = []
        self.index: dict[str, int] = {}
        self._base = 0  # local hour index of column 0
        self._base_t = 0.0  # scheduler time at which that hour begins
        self._hours = 0
        # per site: values and running sums (cum[i] = sum of values before column i)
        self._vals: list[list[list[float]]] = []
        self._cum: list[list[list[float]]] = []
        self._np_vals: FloatArray = np.zeros((_METRICS, 0, 0))
        self._np_cum: FloatArray = np.zeros((_METRICS, 0, 1))
        self.currency = "CNY"
        self.reference = Window(0.0, 0.0, 0.0)
        self.add_sites(network.sites)

    # -- the network ---------------------------------------------------------------------

    def add_sites(self, sites: Iterable[Site]) -> None:
        for site in sites:
            self.index[site.name] = len(self._energy)
            self._energy.append(site.energy)
            self.pue.append(site.pue)
        known = [e for e in self._energy if e is not None]
        if known:
            self.currency = known[0].currency
            # the network's mean figures: the yardstick of scores, and the stand-in for
            # sites without data
            self.reference = Window(
                carbon_kg_per_kwh=sum((1 - e.green_share.mean) * e.grid_kg_per_kwh for e in known)
                / len(known),
                green_share=sum(e.green_share.mean for e in known) / len(known),
                price_per_kwh=sum(e.price_per_kwh.mean for e in known) / len(known),
            )
        hours, self._hours = self._hours, 0
        self._vals, self._cum = [], []
        if hours:
            self._extend(self._base, hours)

    @property
    def has_data(self) -> bool:
        return any(e is not None for e in self._energy)

    def site_has_data(self, site: str) -> bool:
        return self._energy[self.index[site]] is not None

    # -- questions -----------------------------------------------------------------------

    def _positions(self, t0: float, t1: float) -> tuple[float, float]:
        """Hours from the tables' first column to t0 and t1, the tables made to cover
        them. Measured from a nearby time, not the epoch, so short windows stay exact."""
        cal = self.calendar
        lo, hi = cal.local_hour_index(t0), cal.local_hour_index(t1)
        if not self._hours or lo - 1 < self._base or hi + 2 > self._base + self._hours:
            self._ensure(lo - 1, hi + 2)
        return (t0 - self._base_t) / 3600.0, (t1 - self._base_t) / 3600.0

    def window(self, site: int, t0: float, t1: float) -> Window:
        """Means over [t0, t1] (the values at t0 when the window is empty)."""
        x0, x1 = self._positions(t0, t1)
        j0, j1 = math.floor(x0), math.floor(x1)
        vals, cum = self._vals[site], self._cum[site]
        if x1 <= x0 or j0 == j1:  # within one hour: its values (exact, no sums)
            return Window(vals[0][j0], vals[1][j0], vals[2][j0])
        span = x1 - x0
        f0, f1 = x0 - j0, x1 - j1
        out = []
        for m in range(_METRICS):
            v, c = vals[m], cum[m]
            out.append((c[j1] + f1 * v[j1] - c[j0] - f0 * v[j0]) / span)
        return Window(out[0], out[1], out[2])

    def mean(self, site: int, metric: int, t0: float, t1: float) -> float:
        """One metric's mean over [t0, t1] (`window` without the other two)."""
        x0, x1 = self._positions(t0, t1)
        j0, j1 = math.floor(x0), math.floor(x1)
        v = self._vals[site][metric]
        if x1 <= x0 or j0 == j1:  # within one hour: its value (exact, no sums)
            return v[j0]
        c = self._cum[site][metric]
        return (c[j1] + (x1 - j1) * v[j1] - c[j0] - (x0 - j0) * v[j0]) / (x1 - x0)

    def minimum(self, site: int, metric: int, t0: float, t1: float) -> float:
        """The least hourly value of one metric over the hours [t0, t1] touches (a floor
        under its mean over any window inside)."""
        x0, x1 = self._positions(t0, t1)
        v = self._vals[site][metric]
        return min(v[math.floor(x0) : math.floor(x1) + 1])

    def integrals(
        self, sites: IntArray, t0: FloatArray, t1: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Vectorised sums over windows, in value x hours: carbon (kg per kW), green hours,
        price (money per kW). `sites`, `t0`, `t1` are arrays of one shape."""
        self._positions(float(t0.min()), float(t1.max()))  # the tables cover them
        x0 = (t0 - self._base_t) / 3600.0
        x1 = (t1 - self._base_t) / 3600.0
        j0, j1 = np.floor(x0).astype(np.int64), np.floor(x1).astype(np.int64)
        f0, f1 = x0 - j0, x1 - j1
        same_hour = j0 == j1
        out = []
        for m in range(_METRICS):
            v, c = self._np_vals[m], self._np_cum[m]
            summed = c[sites, j1] + f1 * v[sites, j1] - c[sites, j0] - f0 * v[sites, j0]
            # within one hour: the value times the time (exact, no difference of sums)
            out.append(np.where(same_hour, v[sites, j0] * (x1 - x0), summed))
        return out[0], out[1], out[2]

    # -- the tables ----------------------------------------------------------------------

    def _ensure(self, lo: int, hi: int) -> None:
        """Make columns for local hours lo..hi-1 exist."""
        if self._hours and lo >= self._base and hi <= self._base + self._hours:
            return
        if not self._hours or lo < self._base:
            base = lo - 24
            end = max(hi, self._base + self._hours) if self._hours else hi
            self._vals, self._cum, self._hours = [], [], 0
            self._extend(base, end - base + CHUNK_H)
        else:
            self._extend(self._base, hi - self._base + CHUNK_H)

    def _extend(self, base: int, hours: int) -> None:
        """(Re)build the tables to cover `hours` local hours from `base`."""
        if self._hours and base == self._base:
            first = self._hours
        else:
            self._vals = [[[] for _ in range(_METRICS)] for _ in self._energy]
            self._cum = [[[0.0] for _ in range(_METRICS)] for _ in self._energy]
            first = 0
        self._base = base
        self._base_t = self.calendar.time_of_hour(base)
        slots = [Calendar.month_hour(base + i) for i in range(first, hours)]
        ref = self.reference
        for s, energy in enumerate(self._energy):
            for month, hour in slots:
                if energy is None:
                    row = (ref.carbon_kg_per_kwh, ref.green_share, ref.price_per_kwh)
                else:
                    row = (
                        energy.carbon_kg_per_kwh(month, hour),
                        energy.green_share.at(month, hour),
                        energy.price_per_kwh.at(month, hour),
                    )
                for m in range(_METRICS):
                    self._vals[s][m].append(row[m])
                    cum = self._cum[s][m]
                    cum.append(cum[-1] + row[m])
        self._hours = hours
        n_sites = len(self._energy)
        self._np_vals = np.array(
            [[self._vals[s][m] for s in range(n_sites)] for m in range(_METRICS)], dtype=np.float64
        ).reshape(_METRICS, n_sites, hours)
        self._np_cum = np.array(
            [[self._cum[s][m] for s in range(n_sites)] for m in range(_METRICS)], dtype=np.float64
        ).reshape(_METRICS, n_sites, hours + 1)
