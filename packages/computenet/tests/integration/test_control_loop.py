"""The control loop over a real store with the simulated backend and a manual clock:
preemption gives every start a new run, a restart resumes where the store says, and a
profile's wait for a busy but greener site holds in the live loop as in the simulator."""

from pathlib import Path

import pytest

from computenet.backends import SimulatedBackend
from computenet.data import load_catalog
from computenet.domain.jobs import JobSpec, JobState, PendingReason, Work
from computenet.domain.network import Network, NodePool, NodeShape, Site
from computenet.domain.tenants import Tenant
from computenet.scheduling import make_policy
from computenet.service.loop import ControlLoop
from computenet.store.db import default_url, make_engine
from computenet.store.migrate import upgrade
from computenet.store.uow import UnitOfWork

pytestmark = pytest.mark.integration
NET = Network("n", (Site("s", (NodePool("p", NodeShape("V100", 8), 1),)),))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def add(
    engine: object, job_id: str, seconds: float, priority: int = 0, preemptible: bool = False
) -> None:
    spec = JobSpec(
        id=job_id,
        tenant="t",
        work=Work(reference_s=seconds),
        accelerators=8,
        priority=priority,
        preemptible=preemptible,
        command="true",
    )
    with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
        uow.jobs.add(spec, 1_000.0, extra={"env": {"COMPUTENET_SIM_DURATION_S": str(seconds)}})


def test_preempted_job_restarts_under_a_new_run_id_and_finishes(tmp_path: Path) -> None:
    engine = make_engine(default_url(tmp_path))
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.tenants.add(Tenant("t"))
    clock = Clock()
    backend = SimulatedBackend(clock)
    loop = ControlLoop(
        engine, NET, load_catalog(), make_policy("priority"), {"s": backend}, clock=clock
    )
    loop.restore()
    add(engine, "low", 100.0, preemptible=True)
    loop.submitted("low")
    assert loop.tick().started == ["low"]
    clock.now += 10
    add(engine, "high", 5.0, priority=5)
    loop.submitted("high")
    report = loop.tick()
    assert report.preempted == ["low"] and report.started == ["high"]
    for _ in range(40):
        clock.now += 5
        loop.tick()
    with UnitOfWork(engine, read_only=True) as uow:
        low, high = uow.jobs.get("low"), uow.jobs.get("high")
    assert high is not None and high.state is JobState.SUCCEEDED
    assert low is not None and low.state is JobState.SUCCEEDED
    assert (low.attempt, low.run_id) == (2, "low.2")
    assert sorted(backend.runs()) == ["high.1", "low.1", "low.2"]


def test_restart_adopts_running_work_without_running_it_twice(tmp_path: Path) -> None:
    engine = make_engine(default_url(tmp_path))
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.tenants.add(Tenant("t"))
    clock = Clock()
    backend = SimulatedBackend(clock)  # outlives the loop, as real runs outlive the service
    first = ControlLoop(
        engine, NET, load_catalog(), make_policy("fifo"), {"s": backend}, clock=clock
    )
    first.restore()
    for job_id in ("a", "b"):
        add(engine, job_id, 50.0)
        first.submitted(job_id)
    assert first.tick().started == ["a"]
    clock.now += 20
    second = ControlLoop(
        engine, NET, load_catalog(), make_policy("fifo"), {"s": backend}, clock=clock
    )
    second.restore()  # "a" is adopted on its node, "b" waits again
    assert second.tick().started == []
    clock.now += 40
    assert second.tick().started == ["b"]
    with UnitOfWork(engine, read_only=True) as uow:
        a = uow.jobs.get("a")
    assert a is not None and a.state is JobState.SUCCEEDED and a.attempt == 1
    assert sorted(backend.runs()) == ["a.1", "b.1"]


# the same A100 node at a hydro-powered site and at a coal-heavy one
GREEN_NET = Network.from_dict(
    {
        "name": "two",
        "sites": [
            {
                "name": name,
                "pools": [
                    {"name": "a100", "accelerator": "A100", "accelerators_per_node": 8, "nodes": 1}
                ],
                "energy": {"grid_kg_per_kwh": 0.9, "green_share": green, "price_per_kwh": 0.5},
            }
            for name, green in (("hydro", 1.0), ("coal", 0.0))
        ],
    }
)


def add_a100_job(engine: object, job_id: str, seconds: float) -> None:
    spec = JobSpec(
        id=job_id,
        tenant="t",
        work=Work(reference_s=seconds, reference_accelerator="A100"),  # its estimate too
        accelerators=8,
        command="true",
    )
    with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
        uow.jobs.add(spec, 1_000.0, extra={"env": {"COMPUTENET_SIM_DURATION_S": str(seconds)}})


def test_a_job_waits_for_the_busy_green_site_in_the_live_loop(tmp_path: Path) -> None:
    engine = make_engine(default_url(tmp_path))
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.tenants.add(Tenant("t"))
    clock = Clock()
    backends = {"hydro": SimulatedBackend(clock), "coal": SimulatedBackend(clock)}
    loop = ControlLoop(
        engine, GREEN_NET, load_catalog(), make_policy("fifo+green"), backends, clock=clock
    )
    loop.restore()
    add_a100_job(engine, "hot", 600.0)
    loop.submitted("hot")
    assert loop.tick().started == ["hot"]
    clock.now += 1
    add_a100_job(engine, "train", 7_200.0)
    loop.submitted("train")
    assert loop.tick().started == []  # the coal site is free, but the hydro one is better
    assert loop.live_reason("train") is PendingReason.WAITING_FOR_SITE
    with UnitOfWork(engine, read_only=True) as uow:
        stored = uow.jobs.get("train")
    assert stored is not None and stored.pending_reason is PendingReason.WAITING_FOR_SITE
    clock.now += 299
    assert loop.tick().started == []
    clock.now += 300  # `hot` ends at 1,600
    assert loop.tick().started == ["train"]
    with UnitOfWork(engine, read_only=True) as uow:
        hot, train = uow.jobs.get("hot"), uow.jobs.get("train")
    assert hot is not None and hot.placement is not None and hot.placement["site"] == "hydro"
    assert train is not None and train.placement is not None
    assert train.placement["site"] == "hydro"
    why = train.placement["why"]
    assert why["waited_for"] == "hydro/a100" and why["wait_s"] == pytest.approx(599.0)
    assert backends["coal"].runs() == []
    # a fast loop does not wait: `train` goes to the coal site at once
    engine2 = make_engine(default_url(tmp_path / "fast"))
    upgrade(engine2)
    with UnitOfWork(engine2) as uow:
        uow.tenants.add(Tenant("t"))
    fast = ControlLoop(
        engine2,
        GREEN_NET,
        load_catalog(),
        make_policy("fifo+fast"),
        {"hydro": SimulatedBackend(clock), "coal": SimulatedBackend(clock)},
        clock=clock,
    )
    fast.restore()
    for job_id, seconds in (("hot", 600.0), ("train", 7_200.0)):
        add_a100_job(engine2, job_id, seconds)
        fast.submitted(job_id)
    assert fast.tick().started == ["hot", "train"]
