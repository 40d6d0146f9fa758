"""What one simulated policy run produced: the figures the CLI, the JSON output and the
report read. Pure data."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TenantUsage:
    tenant: str
    entitlement: float  # weight share of the network (0..1)
    received: float  # share of accelerator-seconds actually used (0..1)
    jobs: int
    avg_jct_s: float
    energy_kwh: float = 0.0
    carbon_kg: float | None = None
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class SiteUsage:
    site: str
    device_hours: float
    energy_kwh: float
    carbon_kg: float | None
    cost: float | None
    green_share: float | None


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy on one workload."""

    policy: str
    jobs_total: int
    jobs_finished: int
    avg_jct_s: float
    p50_jct_s: float
    p99_jct_s: float
    avg_wait_s: float
    p50_wait_s: float
    p99_wait_s: float
    makespan_s: float
    utilization: float  # busy accelerator-seconds / (capacity x makespan)
    # mean allocated share of accelerators while jobs were waiting (None: nobody waited)
    gpu_allocation_ratio: float | None
    # mean share of free accelerator capacity the queue head could not use while it waited
    fragmentation: float | None
    jain_fairness: float  # Jain's index over tenants' received/entitled ratios
    preemptions: int
    wall_s: float  # wall-clock seconds the simulation took
    tenants: tuple[TenantUsage, ...] = ()
    # (time_s, busy share) samples, time-ordered, at most a few thousand points
    utilization_series: tuple[tuple[float, float], ...] = ()
    # (time_s, pending jobs) samples, same times as utilization_series
    queue_series: tuple[tuple[float, int], ...] = ()
    jct_s: tuple[float, ...] = ()  # per finished job, for distribution plots
    wait_s: tuple[float, ...] = ()
    # energy: facility kWh of all runs; carbon, cost and green share None without data
    energy_kwh: float = 0.0
    carbon_kg: float | None = None
    cost: float | None = None
    currency: str = ""
    green_share: float | None = None  # share of the energy from zero-carbon supply
    sites: tuple[SiteUsage, ...] = ()
    staged_jobs: int = 0  # jobs whose data was staged to another site
    avg_staging_s: float = 0.0  # over staged jobs
    moved_gb: float = 0.0
    deferred_jobs: int = 0  # deferrable jobs held for a better hour
    avg_deferral_s: float = 0.0  # over deferred jobs, as planned
    site_waits: int = 0  # jobs that waited for a busy but better pool (profiles' max_wait)
    avg_site_wait_s: float = 0.0  # over those jobs: time spent waiting for a busy pool
    deadline_misses: int = 0  # jobs with a deadline that finished after it
    lost_device_h: float = 0.0  # work thrown away by preemptions
    quota_reclaims: int = 0  # preemptions that gave lent quota back

    def summary(self) -> dict[str, Any]:
        """The figures `computenet simulate --json` prints for a policy."""
        return {
            "avg_jct_s": self.avg_jct_s,
            "p50_jct_s": self.p50_jct_s,
            "p99_jct_s": self.p99_jct_s,
            "avg_wait_s": self.avg_wait_s,
            "p50_wait_s": self.p50_wait_s,
            "p99_wait_s": self.p99_wait_s,
            "makespan_s": self.makespan_s,
            "utilization": self.utilization,
            "gpu_allocation_ratio": self.gpu_allocation_ratio,
            "fragmentation": self.fragmentation,
            "jain_fairness": self.jain_fairness,
            "preemptions": self.preemptions,
            "jobs_total": self.jobs_total,
            "jobs_finished": self.jobs_finished,
            "wall_s": self.wall_s,
            "energy_kwh": self.energy_kwh,
            "carbon_kg": self.carbon_kg,
            "cost": self.cost,
            "currency": self.currency,
            "green_share": self.green_share,
            "staged_jobs": self.staged_jobs,
            "avg_staging_s": self.avg_staging_s,
            "moved_gb": self.moved_gb,
            "deferred_jobs": self.deferred_jobs,
            "avg_deferral_s": self.avg_deferral_s,
            "site_waits": self.site_waits,
            "avg_site_wait_s": self.avg_site_wait_s,
            "deadline_misses": self.deadline_misses,
            "lost_device_h": self.lost_device_h,
            "quota_reclaims": self.quota_reclaims,
            "tenants": {
                t.tenant: {
                    "entitlement": t.entitlement,
                    "received": t.received,
                    "jobs": t.jobs,
                    "avg_jct_s": t.avg_jct_s,
                    "energy_kwh": t.energy_kwh,
                    "carbon_kg": t.carbon_kg,
                    "cost": t.cost,
                }
                for t in self.tenants
            },
            "sites": {
                u.site: {
                    "device_hours": u.device_hours,
                    "energy_kwh": u.energy_kwh,
                    "carbon_kg": u.carbon_kg,
                    "cost": u.cost,
                    "green_share": u.green_share,
                }
                for u in self.sites
            },
        }


@dataclass(frozen=True, slots=True)
class PackingResult:
    """The packing experiment: arrivals only, until requests reach `fill_to` of capacity."""

    policy: str
    fill_to: float  # requested accelerators / capacity at which arrivals stopped
    capacity_milli: int
    requested_milli: int
    allocated_milli: int
    jobs_arrived: int
    jobs_placed: int
    wall_s: float
    # (requested share of capacity, allocated share of capacity) as arrivals went on
    curve: tuple[tuple[float, float], ...] = field(default=())

    @property
    def gpu_allocation_ratio(self) -> float:
        return self.allocated_milli / self.capacity_milli if self.capacity_milli else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "fill_to": self.fill_to,
            "gpu_allocation_ratio": self.gpu_allocation_ratio,
            "capacity_gpus": self.capacity_milli / 1000,
            "requested_gpus": self.requested_milli / 1000,
            "allocated_gpus": self.allocated_milli / 1000,
            "jobs_arrived": self.jobs_arrived,
            "jobs_placed": self.jobs_placed,
            "wall_s": self.wall_s,
        }
