"""Preemption with checkpoint-aware cost, requeue, and aging against starvation."""

from typing import Any

import pytest

from computenet.data import load_catalog
from computenet.domain.jobs import JobSpec, JobState, Work
from computenet.domain.network import Network, NodePool, NodeShape, Site
from computenet.scheduling import Scheduler, make_policy
from computenet.simulation.engine import Simulation

pytestmark = pytest.mark.unit

CATALOG = load_catalog()


def one_gpu() -> Network:
    return Network("one", (Site("s", (NodePool("p", NodeShape("V100", 1), 1),)),))


def job(job_id: str, duration: float, at: float = 0.0, **kw: Any) -> JobSpec:
    return JobSpec(id=job_id, tenant="t", work=Work(reference_s=duration), submit_time=at, **kw)


def test_a_preemption_loses_the_work_since_the_last_checkpoint() -> None:
    s = Scheduler(one_gpu(), CATALOG, make_policy("fifo"))
    j = s.submit(job("j", 10_000.0, checkpoint_interval_s=600.0), 0.0)
    s.schedule(0.0)
    s.preempt("j", 1_000.0)  # saved at 600 s: 400 s of work lost
    assert j.remaining == pytest.approx(1 - 600 / 10_000)
    assert j.lost_device_s == pytest.approx(400.0)
    assert j.state is JobState.PENDING and j.preemptions == 1
    s.schedule(1_000.0)
    assert j.expected_end == pytest.approx(1_000.0 + 9_400.0)


def test_a_job_that_saves_on_demand_loses_nothing() -> None:
    s = Scheduler(one_gpu(), CATALOG, make_policy("fifo"))
    j = s.submit(job("j", 10_000.0), 0.0)
    s.schedule(0.0)
    s.preempt("j", 1_000.0)
    assert j.remaining == pytest.approx(0.9) and j.lost_device_s == 0.0


def test_priority_preemption_takes_the_victim_that_loses_least() -> None:
    net = Network("two", (Site("s", (NodePool("p", NodeShape("V100", 1), 2),)),))
    s = Scheduler(net, CATALOG, make_policy("priority"))
    hourly = s.submit(job("hourly", 1e6, preemptible=True, checkpoint_interval_s=3600.0), 0.0)
    often = s.submit(job("often", 1e6, preemptible=True, checkpoint_interval_s=600.0), 0.0)
    s.schedule(0.0)
    s.submit(job("urgent", 100.0, at=5_000.0, priority=5), 5_000.0)
    result = s.schedule(5_000.0)
    # at 5,000 s the hourly job would lose 1,400 s, the other 200 s
    assert [v.id for v in result.preempted] == ["often"]
    assert hourly.state is JobState.RUNNING
    assert often.lost_device_s == pytest.approx(200.0)


def test_aging_keeps_a_low_priority_job_from_starving() -> None:
    """A low-priority job waits behind a long first job, while jobs of higher priority
    arrive every 100 s for 5 hours: without aging it waits for the whole stream."""
    jobs = [job("first", 1_000.0, priority=1), job("low", 100.0, at=0.5)]
    jobs += [job(f"high{i}", 100.0, at=1.0 + 100.0 * i, priority=1) for i in range(180)]
    plain = Simulation(one_gpu(), CATALOG, make_policy("priority"), jobs)
    plain.run()
    low = plain.scheduler.jobs["low"].first_started_at
    assert low is not None and low >= 18_000.0  # after the whole stream
    aged = Simulation(one_gpu(), CATALOG, make_policy("priority+aging:hours=0.5"), jobs)
    aged.run()
    low = aged.scheduler.jobs["low"].first_started_at
    # a priority point is worth 30 minutes of waiting: only the high jobs that arrived
    # within 30 minutes of it go first (18 of them, after the first job)
    assert low == pytest.approx(1_000.0 + 18 * 100.0)


def test_an_aged_job_is_not_preempted_by_newcomers() -> None:
    def run(policy: str) -> int:
        s = Scheduler(one_gpu(), CATALOG, make_policy(policy))
        s.submit(job("first", 4_000.0, priority=1), 0.0)
        s.submit(job("low", 10_000.0, at=1.0, preemptible=True), 1.0)
        s.schedule(0.0)
        s.finish("first", 4_000.0)
        s.schedule(4_000.0)  # low starts, having waited ~4,000 s
        s.submit(job("new", 100.0, at=4_100.0, priority=1), 4_100.0)
        return len(s.schedule(4_100.0).preempted)

    assert run("priority") == 1  # plain priority: the newcomer preempts
    assert run("priority+aging:hours=0.5") == 0  # low's 4,000 s of waiting count 2.2 points


def test_sjf_with_aging_lets_a_long_job_through() -> None:
    jobs = [job("first", 500.0), job("long", 50_000.0, at=0.5)]
    jobs += [job(f"short{i}", 100.0, at=1.0 + 100.0 * i) for i in range(300)]
    plain = Simulation(one_gpu(), CATALOG, make_policy("sjf"), jobs)
    plain.run()
    aged = Simulation(one_gpu(), CATALOG, make_policy("sjf+aging:hours=0.1"), jobs)
    aged.run()
    plain_start = plain.scheduler.jobs["long"].first_started_at
    aged_start = aged.scheduler.jobs["long"].first_started_at
    assert plain_start is not None and aged_start is not None
    assert plain_start >= 30_000.0  # after every short job
    assert aged_start < plain_start / 2
