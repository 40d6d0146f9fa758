"""Tenant quotas, Kueue-style: nominal quota, borrowing and lending within a cohort, and
reclaiming lent quota by preemption when its owner comes back.

Admission (per pool, for the quota key the pool's accelerator counts against):

    used + job <= nominal                                   within quota: always admitted
    used + job <= nominal + borrowing_limit                 and the cohort's borrowed total
    borrowed(cohort) + borrowed(job) <= lendable(cohort)    stays within what it lends

where `lendable` sums each member's unused nominal quota, capped by its lending limit.
A job within its tenant's nominal quota that does not fit may reclaim: running jobs of
tenants that borrow on that pool, or of tenants without quotas, give way (lowest priority,
least work lost, newest first). Usage is counted in thousandths of a device.
"""

from collections.abc import Iterable, Sequence

from computenet.domain.jobs import MILLI
from computenet.domain.tenants import Tenant
from computenet.scheduling.cluster import ClusterState
from computenet.scheduling.framework import SchedulerView
from computenet.scheduling.policies.preemption import _make_room
from computenet.scheduling.records import JobRecord, PoolOption


class QuotaLedger:
    def __init__(self, tenants: Iterable[Tenant], cluster: ClusterState) -> None:
        self.cluster = cluster
        self.tenants = {t.name: t for t in tenants if t.managed}
        self.cohorts: dict[str, list[Tenant]] = {}
        for t in self.tenants.values():
            self.cohorts.setdefault(t.cohort, []).append(t)
        self.usage: dict[str, dict[str, int]] = {t: {} for t in self.tenants}
        self._keys: dict[tuple[str, int], str | None] = {}
        self.reclaims = 0  # jobs preempted to give lent quota back

    def manages(self, tenant: str) -> bool:
        return tenant in self.tenants

    def key(self, tenant: str, pool: int) -> str | None:
        """The quota entry `tenant`'s work in `pool` counts against (None: no quota)."""
        cached = self._keys.get((tenant, pool), "")
        if cached != "":
            return cached
        model = self.cluster.pools[pool].model
        key = self.tenants[tenant].quota_key(model.name, model.device_class.value)
        self._keys[(tenant, pool)] = key
        return key

    # -- bookkeeping ---------------------------------------------------------------------

    def charge(self, tenant: str, key: str, milli: int) -> None:
        used = self.usage[tenant]
        used[key] = used.get(key, 0) + milli

    def used(self, tenant: str, key: str) -> int:
        return self.usage[tenant].get(key, 0)

    def borrowed(self, tenant: str, key: str) -> int:
        t = self.tenants[tenant]
        return max(0, self.used(tenant, key) - t.quota.get(key, 0) * MILLI)

    # -- admission -----------------------------------------------------------------------

    def admits(self, tenant: str, pool: int, milli: int) -> bool:
        key = self.key(tenant, pool)
        if key is None:
            return False
        t = self.tenants[tenant]
        nominal = t.quota[key] * MILLI
        after = self.used(tenant, key) + milli
        if after <= nominal:
            return True
        limit = t.borrowing_limit.get(key)
        if limit is not None and after > nominal + limit * MILLI:
            return False
        lendable = borrowed = 0
        for member in self.cohorts[t.cohort]:
            if key not in member.quota:
                continue
            own = member.quota[key] * MILLI
            used = after if member is t else self.used(member.name, key)
            lend = member.lending_limit.get(key)
            cap = own if lend is None else lend * MILLI
            lendable += min(cap, max(0, own - used))
            borrowed += max(0, used - own)
        return borrowed <= lendable

    def admissible(self, job: JobRecord) -> list[PoolOption]:
        """The job's pools its tenant's quota admits now."""
        tenant, milli = job.spec.tenant, job.demand_milli
        return [o for o in job.options if self.admits(tenant, o.pool, milli)]

    def within_nominal(self, job: JobRecord, pool: int) -> bool:
        key = self.key(job.spec.tenant, pool)
        if key is None:
            return False
        nominal = self.tenants[job.spec.tenant].quota[key] * MILLI
        return self.used(job.spec.tenant, key) + job.demand_milli <= nominal

    # -- reclaim -------------------------------------------------------------------------

    def reclaimable(self, victim: JobRecord, pool: int) -> bool:
        """Whether `victim` runs on capacity it may have to give back: its tenant borrows
        on that pool's quota, or has no quota at all."""
        tenant = victim.spec.tenant
        if tenant not in self.tenants:
            return True
        key = self.key(tenant, pool)
        return key is not None and self.borrowed(tenant, key) > 0

    def reclaim(
        self, job: JobRecord, options: Sequence[PoolOption], view: SchedulerView, now: float
    ) -> tuple[list[JobRecord], int] | None:
        """Victims whose release lets a job within its nominal quota start, and the pool."""
        mine = [o for o in options if self.within_nominal(job, o.pool)]
        if not mine:
            return None
        tenant = job.spec.tenant

        def victim_order(r: JobRecord) -> tuple[float | int, ...]:
            return (r.spec.priority, r.lost_if_stopped(now), -(r.run_started_at or 0.0), -r.seq)

        choice = None
        for opt in mine:

            def may_take(r: JobRecord, pool: int = opt.pool) -> bool:
                return r.spec.tenant != tenant and self.reclaimable(r, pool)

            choice = _make_room(job, view, now, may_take, victim_order, options=[opt])
            if choice is not None:
                break
        if choice is not None:
            self.reclaims += len(choice[0])
        return choice
