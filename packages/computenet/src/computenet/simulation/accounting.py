"""Energy, carbon and money of simulated runs, rolled up per tenant and per site.

Each stretch of running (start to finish or preemption) draws its devices' power at load
times the site's PUE; carbon, cost and green energy follow the site's hourly profiles over
exactly those hours. Stretches are only recorded as the run goes (the hot loop appends
five numbers) and priced together at the end. Staging and idle devices are not counted
(see docs/computenet/placement.md).
"""

from dataclasses import dataclass

import numpy as np

from computenet.domain.jobs import MILLI
from computenet.scheduling.cluster import ClusterState
from computenet.scheduling.economics import EnergyModel


@dataclass(frozen=True, slots=True)
class Usage:
    device_s: float = 0.0
    energy_kwh: float = 0.0
    carbon_kg: float = 0.0
    cost: float = 0.0
    green_kwh: float = 0.0


class EnergyAccount:
    def __init__(self, cluster: ClusterState, energy: EnergyModel) -> None:
        self.cluster = cluster
        self.energy = energy
        # one list per field, not a tuple per run: appending objects that exist already
        # allocates nothing the garbage collector must track (the run's hot loop)
        self._tenant: list[str] = []
        self._pool: list[int] = []
        self._milli: list[int] = []
        self._t0: list[float] = []
        self._t1: list[float] = []

    def run(self, tenant: str, pool: int, milli: int, t0: float, t1: float) -> None:
        """Record one stretch of running of `milli` thousandths of devices in `pool`."""
        if t1 > t0 and milli > 0:
            self._tenant.append(tenant)
            self._pool.append(pool)
            self._milli.append(milli)
            self._t0.append(t0)
            self._t1.append(t1)

    def totals(self) -> tuple[Usage, dict[str, Usage], dict[str, Usage]]:
        """(all runs, per tenant, per site)."""
        if not self._pool:
            return Usage(), {}, {}
        pool_list, milli, start, end = self._pool, self._milli, self._t0, self._t1
        tenant_ids: dict[str, int] = {}
        tenant_of = [tenant_ids.setdefault(t, len(tenant_ids)) for t in self._tenant]
        pools = self.cluster.pools
        energy = self.energy
        pool_site = np.array([energy.index[p.site] for p in pools], dtype=np.int64)
        pool_kw = np.array(
            [p.model.power_w * energy.pue[energy.index[p.site]] / 1000.0 for p in pools]
        )
        pool = np.array(pool_list, dtype=np.int64)
        site = pool_site[pool]
        t0, t1 = np.array(start, dtype=np.float64), np.array(end, dtype=np.float64)
        devices = np.array(milli, dtype=np.float64) / MILLI
        kw = devices * pool_kw[pool]
        kwh = kw * (t1 - t0) / 3600.0
        device_s = devices * (t1 - t0)
        zeros = np.zeros_like(kwh)
        carbon, green, cost = zeros, zeros, zeros
        if energy.has_data:
            carbon_h, green_h, price_h = energy.integrals(site, t0, t1)
            carbon, green, cost = kw * carbon_h, kw * green_h, kw * price_h
        columns = (device_s, kwh, carbon, cost, green)

        def rollup(groups: np.ndarray, n: int) -> list[Usage]:
            sums = [np.bincount(groups, weights=c, minlength=n) for c in columns]
            return [Usage(*(float(s[i]) for s in sums)) for i in range(n)]

        total = Usage(*(float(c.sum()) for c in columns))
        per_tenant = rollup(np.array(tenant_of, dtype=np.int64), len(tenant_ids))
        by_tenant = {t: per_tenant[i] for t, i in tenant_ids.items()}
        names = list(energy.index)
        per_site = rollup(site, len(names))
        by_site = {names[i]: per_site[i] for i in range(len(names)) if per_site[i].device_s > 0}
        return total, by_tenant, by_site
