"""Kueue-style quotas: nominal quota, borrowing idle quota within a cohort, borrowing and
lending limits, and reclaiming lent quota by preemption when its owner comes back."""

from typing import Any

import pytest

from computenet.data import load_catalog
from computenet.domain.errors import DomainError
from computenet.domain.jobs import JobSpec, JobState, PendingReason, Work
from computenet.domain.network import Network, NodePool, NodeShape, Site
from computenet.domain.tenants import Tenant
from computenet.scheduling import Scheduler, make_policy
from computenet.scheduling.records import JobRecord
from computenet.simulation.engine import Simulation

pytestmark = pytest.mark.unit

CATALOG = load_catalog()


def net(gpus: int = 16, model: str = "V100", *extra: NodePool) -> Network:
    return Network("q", (Site("s", (NodePool("p", NodeShape(model, 8), gpus // 8), *extra)),))


def job(
    job_id: str, tenant: str, gpus: int = 1, duration: float = 1000.0, at: float = 0.0, **kw: Any
) -> JobSpec:
    return JobSpec(
        id=job_id,
        tenant=tenant,
        work=Work(reference_s=duration),
        accelerators=gpus,
        submit_time=at,
        **kw,
    )


def pair(**b: Any) -> list[Tenant]:
    """Tenants a and b, eight GPUs of nominal quota each, in one cohort."""
    return [Tenant("a", quota={"*": 8}), Tenant("b", quota={"*": 8}, **b)]


def flood(s: Scheduler, tenant: str, n: int, now: float = 0.0, **kw: Any) -> list[JobRecord]:
    jobs = [s.submit(job(f"{tenant}{i}", tenant, at=now, **kw), now) for i in range(n)]
    s.schedule(now)
    return jobs


def running(jobs: list[JobRecord]) -> int:
    return sum(j.state is JobState.RUNNING for j in jobs)


def test_a_tenant_borrows_idle_quota_and_waits_for_quota_beyond_it() -> None:
    s = Scheduler(net(24), CATALOG, make_policy("fifo"), pair())
    b = flood(s, "b", 20)
    assert running(b) == 16  # its 8 plus a's idle 8, though 24 GPUs exist
    assert s.pending_reason(b[16]) is PendingReason.WAITING_FOR_QUOTA
    assert s.cluster.free_milli == 8000


@pytest.mark.parametrize(
    ("tenants", "cap"),
    [
        (pair(borrowing_limit={"*": 4}), 12),  # b may borrow 4 at most
        ([Tenant("a", quota={"*": 8}, lending_limit={"*": 2}), Tenant("b", quota={"*": 8})], 10),
        ([Tenant("a", quota={"*": 8}, cohort="x"), Tenant("b", quota={"*": 8}, cohort="y")], 8),
    ],
    ids=["borrowing-limit", "lending-limit", "other-cohort"],
)
def test_borrowing_stops_at_the_limits(tenants: list[Tenant], cap: int) -> None:
    s = Scheduler(net(24), CATALOG, make_policy("fifo"), tenants)
    assert running(flood(s, "b", 20)) == cap


def test_waiting_for_quota_never_blocks_a_strict_queue() -> None:
    s = Scheduler(net(24), CATALOG, make_policy("fifo"), pair())
    flood(s, "b", 20)  # b's last four wait for quota at the head of the queue
    a = s.submit(job("a0", "a", at=1.0), 1.0)
    s.schedule(1.0)
    assert a.state is JobState.RUNNING


def test_a_tenant_under_its_quota_is_never_starved() -> None:
    """b took all 16 GPUs, 8 of them a's idle quota, with work queued behind. When a comes
    back within its nominal quota it reclaims at once: b's borrowed jobs give way."""
    s = Scheduler(net(16), CATALOG, make_policy("fifo"), pair())
    b = flood(s, "b", 24, duration=10_000.0)
    assert running(b) == 16
    a = [s.submit(job(f"a{i}", "a", gpus=2, at=100.0), 100.0) for i in range(4)]
    result = s.schedule(100.0)
    assert running(a) == 4  # all 8 of its GPUs, at once
    assert len(result.preempted) == 8 and all(v.spec.tenant == "b" for v in result.preempted)
    assert all(v.reason is PendingReason.PREEMPTED for v in result.preempted)
    assert s.quota is not None and s.quota.reclaims == 8
    assert s.quota.used("b", "*") == 8000  # back to its nominal quota, not below
    # a fifth job of a's would exceed its quota while b sits at its own: no reclaim
    extra = s.submit(job("a4", "a", at=200.0), 200.0)
    assert s.schedule(200.0).preempted == []
    assert extra.state is JobState.PENDING
    s.cluster.check_invariants()


def test_reclaim_takes_the_job_that_loses_the_least_work() -> None:
    """Two reclaimable jobs: one saves every hour (1,400 s lost at t=5,000), one every ten
    minutes (400 s lost). The reclaim takes the second and keeps its saved work."""
    s = Scheduler(net(8), CATALOG, make_policy("fifo"), [Tenant("a", quota={"*": 8})])
    # an unmanaged tenant uses the whole pool: everything it runs is reclaimable
    hourly = s.submit(
        job("hourly", "free", gpus=4, duration=1e6, checkpoint_interval_s=3600.0), 0.0
    )
    s.schedule(0.0)
    often = s.submit(
        job("often", "free", gpus=4, duration=1e6, checkpoint_interval_s=600.0), 1000.0
    )
    s.schedule(1000.0)
    a = s.submit(job("a", "a", gpus=4, at=5000.0), 5000.0)
    result = s.schedule(5000.0)
    assert [v.id for v in result.preempted] == ["often"]  # loses 400 s, not 1,400 s
    assert a.state is JobState.RUNNING and hourly.state is JobState.RUNNING
    assert often.lost_device_s == pytest.approx(4 * 400.0)
    runtime = 1e6
    assert often.remaining == pytest.approx(1 - 3600.0 / runtime)


def test_quota_keys_pick_hardware_and_a_missing_key_forbids_it() -> None:
    network = net(8, "V100", NodePool("h", NodeShape("H100", 8), 1))
    tenants = [Tenant("a", quota={"V100": 8})]
    s = Scheduler(network, CATALOG, make_policy("fifo"), tenants)
    j = s.submit(job("j", "a"), 0.0)
    s.schedule(0.0)
    assert j.placement is not None and s.cluster.pools[j.placement.pool].model.name == "V100"
    h = s.submit(job("h", "a", accelerator_types=frozenset({"H100"})), 0.0)
    s.schedule(0.0)
    assert s.pending_reason(h) is PendingReason.WAITING_FOR_QUOTA
    assert Tenant("x", quota={"gpu": 4}).quota_key("V100", "gpu") == "gpu"
    assert Tenant("x", quota={"V100": 1, "*": 4}).quota_key("V100", "gpu") == "V100"
    assert Tenant("x", quota={"npu": 4}).quota_key("V100", "gpu") is None


def test_tenant_quota_validation() -> None:
    with pytest.raises(DomainError, match="borrowing_limit for"):
        Tenant("x", quota={"*": 1}, borrowing_limit={"H100": 1})
    with pytest.raises(DomainError, match="exceeds its quota"):
        Tenant("x", quota={"*": 1}, lending_limit={"*": 2})
    with pytest.raises(DomainError, match="must be >= 0"):
        Tenant("x", quota={"*": -1})


def test_in_simulation_jobs_within_nominal_quota_never_wait() -> None:
    """b floods the network all along; every job of a that fits a's nominal quota starts
    the moment it arrives (its wait is zero), by reclaim where need be."""
    b_jobs = [
        job(f"b{i}", "b", gpus=1 + i % 4, duration=3000.0 + 97 * (i % 13), at=10.0 * i)
        for i in range(400)
    ]
    a_jobs = [job(f"a{i}", "a", gpus=2, duration=500.0, at=250.0 + 700.0 * i) for i in range(5)]
    sim = Simulation(net(16), CATALOG, make_policy("fifo"), b_jobs + a_jobs, tenants=pair())
    result = sim.run()
    assert result.jobs_finished == 405
    records = sim.scheduler.jobs
    for i in range(5):
        a = records[f"a{i}"]
        assert a.first_started_at == a.spec.submit_time, a.id
    assert result.quota_reclaims > 0


def test_tenants_set_while_jobs_run_are_charged_and_enforced() -> None:
    """The service changes tenants while work runs: running jobs are charged against the
    new quotas at once, so the owner of idle quota reclaims what an unmanaged tenant took."""
    s = Scheduler(net(16), CATALOG, make_policy("fifo"), [])
    b = flood(s, "b", 20, duration=10_000.0)
    assert running(b) == 16 and s.quota is None
    s.set_tenants(pair())
    assert s.quota is not None and s.quota.used("b", "*") == 16_000  # 8 of them borrowed
    assert s.tenant_weights["b"] == 1.0
    s.schedule(10.0)
    assert running(b) == 16  # nothing to reclaim for: a is idle
    a = s.submit(job("a0", "a", gpus=4, at=20.0), 20.0)
    result = s.schedule(20.0)
    assert a.state is JobState.RUNNING
    assert len(result.preempted) == 4 and all(v.spec.tenant == "b" for v in result.preempted)
    assert s.quota.used("b", "*") == 12_000
    # b's quota grows to cover everything; a's lending shrinks: the ledger is rebuilt
    s.set_tenants([Tenant("a", 3.0, quota={"*": 4}), Tenant("b", quota={"*": 12})])
    assert s.tenant_weights["a"] == 3.0
    assert s.quota.used("b", "*") == 12_000 and s.quota.used("a", "*") == 4_000
    s.finish("a0", 30.0)
    s.schedule(30.0)
    assert running(b) == 16  # 12 own, 4 borrowed from a's idle quota
    s.set_tenants([])  # no quotas at all: unmanaged again, nothing charged
    assert s.quota is None and all(j.charged is None for j in s.running)
    for j in list(s.running):
        s.finish(j.id, 40.0)
    s.cluster.check_invariants()
