"""Properties of the whole placement feature set at once, on generated cases: sites with
hourly energy profiles and links, tenants with quotas in a cohort, jobs with data to
stage, deadlines, checkpoints, priorities and precisions, under the policy profiles.

After every pass: capacity, power and quota books balance; every job holding devices is on
a pool it may use (accepted model, usable precision, reachable data); no tenant holds more
than its quota and borrowing limit allow. At the end: every job ran to completion exactly
once, and the energy accounted equals what the runs drew.
"""

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computenet.data import load_catalog
from computenet.domain.economics import Calendar
from computenet.domain.hardware import Precision
from computenet.domain.jobs import MILLI, JobSpec, JobState, Work
from computenet.domain.network import Network
from computenet.domain.tenants import Tenant
from computenet.scheduling import make_policy
from computenet.scheduling.cycle import CycleResult, Scheduler
from computenet.scheduling.policies.profiles import ProfilePlacer
from computenet.simulation.engine import Simulation

pytestmark = pytest.mark.unit

CATALOG = load_catalog()
POLICIES = (
    "fifo+green",
    "sjf+backfill+cheap",
    "priority+aging+balanced",
    "drf+fast",
    "las+green:carbon=10",
    "backfill",
)
MODELS = ("V100", "A100", "H100", "T4")
SITES = ("east", "west", "south")
TENANTS = ("a", "b", "c")


@st.composite
def networks(draw: st.DrawFn) -> Network:
    sites = []
    for name in SITES:
        green = [draw(st.sampled_from((0.0, 0.3, 1.0))) for _ in range(4)]
        sites.append(
            {
                "name": name,
                "pue": draw(st.sampled_from((1.1, 1.4))),
                "pools": [
                    {
                        "name": "p",
                        "accelerator": draw(st.sampled_from(MODELS)),
                        "accelerators_per_node": draw(st.sampled_from((2, 4))),
                        "nodes": draw(st.integers(1, 2)),
                    }
                ],
                "energy": {
                    "grid_kg_per_kwh": draw(st.sampled_from((0.2, 0.8))),
                    "green_share": {"hours": [green[h // 6] for h in range(24)]},
                    "price_per_kwh": {"hours": [0.3 if h < 8 else 0.9 for h in range(24)]},
                },
            }
        )
    links = [
        {"a": "east", "b": "west", "bandwidth_gbps": draw(st.sampled_from((1.0, 10.0)))},
        {"a": "west", "b": "south", "bandwidth_gbps": 5.0},
    ]
    return Network.from_dict({"name": "gen", "sites": sites, "links": links})


@st.composite
def jobs(draw: st.DrawFn) -> list[JobSpec]:
    out = []
    for i in range(draw(st.integers(1, 14))):
        data = draw(st.sampled_from((None, *SITES)))
        out.append(
            JobSpec(
                id=f"j{i}",
                tenant=draw(st.sampled_from(TENANTS)),
                work=Work(reference_s=float(draw(st.integers(60, 20_000)))),
                submit_time=float(draw(st.integers(0, 30_000))),
                accelerators=draw(st.sampled_from((1, 1, 2, 4))),
                precision=draw(st.sampled_from((Precision.FP16, Precision.FP32, Precision.FP64))),
                priority=draw(st.integers(0, 2)),
                preemptible=draw(st.booleans()),
                dataset_site=data,
                dataset_gb=0.0 if data is None else float(draw(st.integers(1, 500))),
                deferrable=draw(st.booleans()),
                deadline_s=draw(st.sampled_from((None, 30_000.0, 90_000.0))),
                checkpoint_interval_s=draw(st.sampled_from((None, 600.0))),
            )
        )
    return out


@st.composite
def tenants(draw: st.DrawFn) -> list[Tenant]:
    out = []
    for name in TENANTS[:2]:  # c has no quota: unmanaged, its work reclaimable
        quota = draw(st.integers(4, 8))  # at least the largest job: all admissible some day
        out.append(
            Tenant(
                name,
                quota={"*": quota},
                borrowing_limit=draw(st.sampled_from(({}, {"*": 2}))),
                lending_limit=draw(st.sampled_from(({}, {"*": quota // 2}))),
            )
        )
    return out


def check(s: Scheduler) -> None:
    cluster = s.cluster
    cluster.check_invariants()
    usage: Counter[tuple[str, str]] = Counter()
    holding = [j for j in s.jobs.values() if j.state in (JobState.RUNNING, JobState.STAGING)]
    assert {j.id for j in holding} == {j.id for j in s.running}
    for job in holding:
        assert job.placement is not None
        pool = cluster.pools[job.placement.pool]
        assert job.placement.pool in {o.pool for o in job.options}
        assert pool.model.supports(job.spec.precision), (job.id, pool.model.name)
        if job.spec.dataset_site and job.spec.dataset_gb > 0:
            assert s.links.route(job.spec.dataset_site, pool.site) is not None
        assert (job.state is JobState.STAGING) == (job.staging_route is not None)
        if job.charged is not None:
            usage[job.spec.tenant, job.charged] += job.spec.device_milli
    assert s.links.active == [
        sum(i in (j.staging_route.links if j.staging_route else ()) for j in holding)
        for i in range(len(s.links.links))
    ]
    quota = s.quota
    assert quota is not None
    for (tenant, key), milli in usage.items():
        assert quota.used(tenant, key) == milli
        t = quota.tenants[tenant]
        limit = t.borrowing_limit.get(key)
        if limit is not None:
            assert milli <= (t.quota[key] + limit) * MILLI
    for tenant, used in quota.usage.items():
        assert sum(used.values()) == sum(v for (t, _), v in usage.items() if t == tenant)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(), specs=jobs(), people=tenants(), policy=st.sampled_from(POLICIES))
def test_books_balance_and_every_job_runs_to_completion_once(
    net: Network, specs: list[JobSpec], people: list[Tenant], policy: str
) -> None:
    sim = Simulation(
        net,
        CATALOG,
        make_policy(policy),
        specs,
        tenants=people,
        calendar=Calendar.starting("2024-07-01T00:00:00"),
    )
    s = sim.scheduler
    schedule = s.schedule
    passes = 0

    def checked(now: float, full: bool = False) -> CycleResult:
        nonlocal passes
        result = schedule(now, full)
        passes += 1
        check(s)
        return result

    s.schedule = checked  # type: ignore[method-assign]
    result = sim.run()
    assert passes > 0
    feasible = [j for j in s.jobs.values() if j.options]
    assert result.jobs_finished == len(feasible)
    for job in feasible:
        assert job.state is JobState.SUCCEEDED and job.remaining == 0.0, job.id
    for job in s.jobs.values():
        if not job.options:
            assert job.first_started_at is None
    assert s.running == [] and s.cluster.allocated_milli == 0
    assert s.links.active == [0] * len(s.links.links)
    # energy: per site and per tenant add up to the total; green energy within it
    total = result.energy_kwh
    assert sum(u.energy_kwh for u in result.sites) == pytest.approx(total)
    assert sum(t.energy_kwh for t in result.tenants) == pytest.approx(total)
    if total > 0:
        assert result.green_share is not None and 0.0 <= result.green_share <= 1.0 + 1e-9
        assert result.carbon_kg is not None and result.carbon_kg >= 0.0
    # no job is held past the point where its deadline could still be met by waiting
    for job in s.jobs.values():
        if job.deferred_s and job.spec.deadline_s is not None:
            assert job.deferred_s <= job.spec.deadline_s
    # nor waits for busy pools longer than its profile allows
    placer = make_policy(policy).placer
    limit = placer.weights.max_wait_s if isinstance(placer, ProfilePlacer) else 0.0
    for job in s.jobs.values():
        assert job.site_wait_s <= limit + 1e-6, job.id
        if job.waited_for is None:
            assert job.site_wait_s == 0.0, job.id


def test_deferral_fingerprint_is_deterministic() -> None:
    """Same case twice, arrivals in another order: identical results (the scoring's ties
    and the transfers' heap break the same way)."""
    rng_jobs: list[JobSpec] = [
        JobSpec(
            id=f"j{i}",
            tenant=TENANTS[i % 3],
            work=Work(reference_s=3_600.0 + 600.0 * (i % 5)),
            submit_time=float(300 * i),
            accelerators=1 + i % 2,
            deferrable=i % 2 == 0,
            deadline_s=40_000.0,
            dataset_site=SITES[i % 3],
            dataset_gb=50.0,
        )
        for i in range(30)
    ]
    net = _fixed_network()

    def fingerprint(order: list[JobSpec]) -> Any:
        sim = Simulation(
            net,
            CATALOG,
            make_policy("sjf+backfill+green:carbon=5"),
            order,
            calendar=Calendar.starting("2024-07-01T00:00:00"),
        )
        r = sim.run()
        summary = r.summary()
        del summary["wall_s"]
        return summary, sorted(
            (j.id, j.first_started_at, j.finished_at) for j in sim.scheduler.jobs.values()
        )

    first = fingerprint(rng_jobs)
    assert first == fingerprint(list(reversed(rng_jobs)))
    assert first[0]["deferred_jobs"] > 0 and first[0]["staged_jobs"] > 0


def _fixed_network() -> Network:
    sites = [
        {
            "name": name,
            "pools": [{"name": "p", "accelerator": model, "accelerators_per_node": 4, "nodes": 1}],
            "energy": {
                "grid_kg_per_kwh": grid,
                "green_share": {"hours": [1.0 if lo <= h < lo + 6 else 0.0 for h in range(24)]},
                "price_per_kwh": 0.5,
            },
        }
        for name, model, grid, lo in (
            ("east", "H100", 0.8, 10),
            ("west", "A100", 0.6, 2),
            ("south", "V100", 0.4, 18),
        )
    ]
    links = [
        {"a": "east", "b": "west", "bandwidth_gbps": 10.0},
        {"a": "west", "b": "south", "bandwidth_gbps": 5.0},
    ]
    return Network.from_dict({"name": "fixed", "sites": sites, "links": links})
