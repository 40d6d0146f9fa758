"""Metrics of a simulated run: collected as the run goes, summarised at the end."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from computenet.domain.jobs import MILLI
from computenet.scheduling.cluster import ClusterState
from computenet.scheduling.records import JobRecord
from computenet.simulation.accounting import EnergyAccount, Usage
from computenet.simulation.results import PolicyResult, SiteUsage, TenantUsage


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one gets everything."""
    if not values:
        return 1.0
    total = sum(values)
    squares = sum(v * v for v in values)
    return 1.0 if squares == 0 else total * total / (len(values) * squares)


def water_fill(
    capacity: float, demand: Mapping[str, float], weight: Mapping[str, float]
) -> dict[str, float]:
    """Weighted max-min fair split of `capacity` among demands (each capped by its demand).
    Tenants are visited in name order: float sums then come out the same in every process
    (set order follows string hashing, which changes between runs)."""
    share = dict.fromkeys(sorted(demand), 0.0)
    active = [t for t in share if demand[t] > 0]
    left = capacity
    while active and left > 1e-9:
        total_w = sum(weight.get(t, 1.0) for t in active)
        step = left / total_w
        done = [t for t in active if demand[t] - share[t] <= step * weight.get(t, 1.0)]
        if not done:
            for t in active:
                share[t] += step * weight.get(t, 1.0)
            break
        for t in done:
            left -= demand[t] - share[t]
            share[t] = demand[t]
        active = [t for t in active if t not in done]
    return share


def unusable_free(cluster: ClusterState, head: JobRecord) -> int:
    """Free accelerator share the head job could not use even if it were alone."""
    usable = 0
    spec = head.spec
    for opt in head.options:
        pool = cluster.pools[opt.pool]
        if spec.accelerator_milli < MILLI:
            usable += sum(
                level * len(pool.partial[level])
                for level in pool.partial_levels
                if level >= spec.accelerator_milli
            )
            usable += sum(k * len(pool.buckets[k]) for k in range(1, pool.size + 1)) * MILLI
        elif spec.accelerators <= pool.size:
            usable += (
                sum(k * len(pool.buckets[k]) for k in range(spec.accelerators, pool.size + 1))
                * MILLI
            )
        else:
            usable += pool.size * len(pool.buckets[pool.size]) * MILLI
    return max(0, cluster.free_milli - usable)


@dataclass
class Collector:
    """Samples the cluster between events and records each job's outcome."""

    cluster: ClusterState
    weights: Mapping[str, float]
    sample_s: float
    next_sample: float = 0.0
    busy_device_s: float = 0.0
    run_s: dict[int, float] = field(default_factory=dict)
    pending_milli: dict[str, int] = field(default_factory=dict)
    samples_t: list[float] = field(default_factory=list)
    samples_alloc: list[float] = field(default_factory=list)
    samples_pending: list[int] = field(default_factory=list)
    contended_alloc: list[float] = field(default_factory=list)
    contended_frag: list[float] = field(default_factory=list)
    received: dict[str, float] = field(default_factory=dict)
    entitled: dict[str, float] = field(default_factory=dict)
    tenant_device_s: dict[str, float] = field(default_factory=dict)
    account: EnergyAccount | None = None

    def sample_until(
        self, t: float, pending: int, head: JobRecord | None, alloc: Mapping[str, int]
    ) -> None:
        """Record the state that held up to time `t` at every sample boundary passed."""
        if t < self.next_sample:
            return
        cluster = self.cluster
        share = cluster.allocated_milli / cluster.capacity_milli if cluster.capacity_milli else 0.0
        frag: float | None = None
        fair: dict[str, float] | None = None
        if pending and head is not None:
            free = cluster.free_milli
            frag = unusable_free(cluster, head) / free if free else 0.0
            demand = {
                t_: alloc.get(t_, 0) + self.pending_milli.get(t_, 0)
                for t_ in sorted(set(alloc) | set(self.pending_milli))
            }
            fair = water_fill(
                float(cluster.allocated_milli),
                {k: float(v) for k, v in demand.items()},
                self.weights,
            )
        while self.next_sample <= t:
            self.samples_t.append(self.next_sample)
            self.samples_alloc.append(share)
            self.samples_pending.append(pending)
            if frag is not None and fair is not None:
                self.contended_alloc.append(share)
                self.contended_frag.append(frag)
                for tenant, ent in fair.items():
                    self.entitled[tenant] = self.entitled.get(tenant, 0.0) + ent
                    self.received[tenant] = self.received.get(tenant, 0.0) + alloc.get(tenant, 0)
            self.next_sample += self.sample_s

    def stopped(self, job: JobRecord, started_at: float, now: float, pool: int) -> None:
        ran = now - started_at
        self.run_s[job.seq] = self.run_s.get(job.seq, 0.0) + ran
        device_s = ran * job.spec.device_milli / MILLI
        self.busy_device_s += device_s
        tenant = job.spec.tenant
        self.tenant_device_s[tenant] = self.tenant_device_s.get(tenant, 0.0) + device_s
        if self.account is not None:
            self.account.run(tenant, pool, job.spec.device_milli, started_at, now)

    def result(
        self,
        policy: str,
        jobs: Sequence[JobRecord],
        preemptions: int,
        wall_s: float,
        *,
        moved_gb: float = 0.0,
        quota_reclaims: int = 0,
    ) -> PolicyResult:
        finished = [j for j in jobs if j.finished_at is not None and j.remaining == 0.0]
        jct = np.array(
            [j.finished_at - j.spec.submit_time for j in finished if j.finished_at is not None]
        )
        wait = np.array(
            [
                (j.finished_at or 0.0) - j.spec.submit_time - self.run_s.get(j.seq, 0.0)
                for j in finished
            ]
        )
        start = min((j.spec.submit_time for j in jobs), default=0.0)
        end = max((j.finished_at or 0.0 for j in finished), default=start)
        makespan = end - start
        capacity = self.cluster.capacity_milli / MILLI
        tenants = sorted({j.spec.tenant for j in jobs})
        total_w = sum(self.weights.get(t, 1.0) for t in tenants) or 1.0
        total_use = sum(self.tenant_device_s.values()) or 1.0
        by_tenant: dict[str, list[float]] = {t: [] for t in tenants}
        counts = dict.fromkeys(tenants, 0)
        for x, j in zip(jct, finished, strict=True):
            by_tenant[j.spec.tenant].append(float(x))
        for j in jobs:
            counts[j.spec.tenant] += 1
        account = self.account
        priced = account is not None and account.energy.has_data
        total, tenant_use, site_use = account.totals() if account is not None else (Usage(), {}, {})
        usage = []
        for tenant in tenants:
            mine = by_tenant[tenant]
            spent = tenant_use.get(tenant, Usage())
            usage.append(
                TenantUsage(
                    tenant=tenant,
                    entitlement=self.weights.get(tenant, 1.0) / total_w,
                    received=self.tenant_device_s.get(tenant, 0.0) / total_use,
                    jobs=counts[tenant],
                    avg_jct_s=float(np.mean(mine)) if mine else 0.0,
                    energy_kwh=spent.energy_kwh,
                    carbon_kg=spent.carbon_kg if priced else None,
                    cost=spent.cost if priced else None,
                )
            )
        sites = []
        if account is not None:
            for name, u in sorted(site_use.items()):
                known = priced and account.energy.site_has_data(name)
                sites.append(
                    SiteUsage(
                        site=name,
                        device_hours=u.device_s / 3600.0,
                        energy_kwh=u.energy_kwh,
                        carbon_kg=u.carbon_kg if known else None,
                        cost=u.cost if known else None,
                        green_share=u.green_kwh / u.energy_kwh if known and u.energy_kwh else None,
                    )
                )
        staged = [j.staged_s for j in jobs if j.staged_s > 0]
        deferred = [j.deferred_s for j in jobs if j.deferred_s > 0]
        site_waits = [j.site_wait_s for j in jobs if j.waited_for is not None]
        misses = sum(
            1
            for j in finished
            if j.spec.deadline_s is not None
            and (j.finished_at or 0.0) - j.spec.submit_time > j.spec.deadline_s + 1e-6
        )
        ratios = [
            self.received[t] / self.entitled[t] for t in self.entitled if self.entitled[t] > 0
        ]
        return PolicyResult(
            policy=policy,
            jobs_total=len(jobs),
            jobs_finished=len(finished),
            avg_jct_s=_stat(jct, "mean"),
            p50_jct_s=_stat(jct, 50),
            p99_jct_s=_stat(jct, 99),
            avg_wait_s=_stat(wait, "mean"),
            p50_wait_s=_stat(wait, 50),
            p99_wait_s=_stat(wait, 99),
            makespan_s=makespan,
            utilization=self.busy_device_s / (capacity * makespan)
            if capacity and makespan
            else 0.0,
            gpu_allocation_ratio=float(np.mean(self.contended_alloc))
            if self.contended_alloc
            else None,
            fragmentation=float(np.mean(self.contended_frag)) if self.contended_frag else None,
            jain_fairness=jain_index(ratios),
            preemptions=preemptions,
            wall_s=wall_s,
            tenants=tuple(usage),
            utilization_series=tuple(zip(self.samples_t, self.samples_alloc, strict=True)),
            queue_series=tuple(zip(self.samples_t, self.samples_pending, strict=True)),
            jct_s=tuple(float(x) for x in jct),
            wait_s=tuple(float(x) for x in wait),
            energy_kwh=total.energy_kwh,
            carbon_kg=total.carbon_kg if priced else None,
            cost=total.cost if priced else None,
            currency=account.energy.currency if account is not None and priced else "",
            green_share=total.green_kwh / total.energy_kwh if priced and total.energy_kwh else None,
            sites=tuple(sites),
            staged_jobs=len(staged),
            avg_staging_s=float(np.mean(staged)) if staged else 0.0,
            moved_gb=moved_gb,
            deferred_jobs=len(deferred),
            avg_deferral_s=float(np.mean(deferred)) if deferred else 0.0,
            site_waits=len(site_waits),
            avg_site_wait_s=float(np.mean(site_waits)) if site_waits else 0.0,
            deadline_misses=misses,
            lost_device_h=sum(j.lost_device_s for j in jobs) / 3600.0,
            quota_reclaims=quota_reclaims,
        )


def _stat(values: "np.ndarray", how: str | int) -> float:
    if values.size == 0:
        return 0.0
    if isinstance(how, str):
        return float(values.mean())
    return float(np.percentile(values, how))


def sample_interval(span_s: float, points: int) -> float:
    """A sampling step giving about `points` samples over `span_s` (at least a second)."""
    return max(1.0, span_s / max(points, 1)) if span_s > 0 and not math.isinf(span_s) else 1.0
