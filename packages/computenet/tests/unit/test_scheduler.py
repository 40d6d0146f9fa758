"""The scheduling core by example: queue orders, backfill, gangs, fractions, heterogeneity,
preemption and the job life cycle. Time is passed in, so every test drives the scheduler
by hand: `submit`, `schedule(now)`, `finish`/`cancel`/`preempt`, `schedule(now)` again.

Tests named `test_bug_*` are regressions for defects of the core found while writing
these tests (each docstring says what went wrong before the fix).
"""

import math
from typing import Any

import pytest

from computenet.data import load_catalog
from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import AcceleratorModel, Catalog, DeviceClass, Precision
from computenet.domain.jobs import MILLI, JobSpec, JobState, PendingReason, Work
from computenet.domain.network import Network, NodePool, NodeShape, Site
from computenet.domain.tenants import Tenant
from computenet.scheduling import Scheduler, make_policy, plugin_names
from computenet.scheduling.cluster import Placement
from computenet.scheduling.records import JobRecord
from computenet.simulation.engine import Simulation

pytestmark = pytest.mark.unit

CATALOG = load_catalog()


# ----------------------------------------------------------------------------- helpers


def pool(name: str, nodes: int, per_node: int = 8, model: str = "V100", cpus: int = 64) -> NodePool:
    return NodePool(name, NodeShape(model, per_node, cpus=cpus), nodes)


def network(*sites: tuple[str, tuple[NodePool, ...]]) -> Network:
    return Network("test", tuple(Site(name, pools) for name, pools in sites))


def one_pool(nodes: int = 1, per_node: int = 8, model: str = "V100", cpus: int = 64) -> Network:
    return network(("s", (pool("p", nodes, per_node, model, cpus),)))


def spec(
    job_id: str,
    gpus: int = 1,
    duration: float = 100.0,
    *,
    tenant: str = "t",
    at: float = 0.0,
    **kw: Any,
) -> JobSpec:
    return JobSpec(
        id=job_id,
        tenant=tenant,
        work=Work(reference_s=duration),
        accelerators=gpus,
        submit_time=at,
        **kw,
    )


def scheduler(net: Network, policy: str = "fifo", catalog: Catalog = CATALOG) -> Scheduler:
    return Scheduler(net, catalog, make_policy(policy))


def submit_all(s: Scheduler, now: float, *specs: JobSpec) -> list[JobRecord]:
    return [s.submit(sp, now) for sp in specs]


def placed(job: JobRecord) -> Placement:
    assert job.placement is not None, f"{job.id} has no placement"
    return job.placement


def devices_of(job: JobRecord) -> list[tuple[int, int]]:
    """(node, device) pairs a running job holds."""
    return sorted((slot.node, d) for slot in placed(job).slots for d in slot.devices)


def ids(jobs: list[JobRecord]) -> list[str]:
    return [j.id for j in jobs]


def pool_name(s: Scheduler, job: JobRecord) -> str:
    return s.cluster.pools[placed(job).pool].name


# ------------------------------------------------------------------- fifo and backfill


def test_fifo_is_strict_a_blocked_head_holds_back_a_smaller_job() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 6), 0.0)
    assert ids(s.schedule(0.0).started) == ["runner"]
    head, small = submit_all(s, 0.0, spec("head", 4), spec("small", 1))
    result = s.schedule(0.0)
    assert result.started == []
    assert result.head is head
    assert small.state is JobState.PENDING  # it would fit in the 2 free devices
    assert s.pending_reason(head) is PendingReason.WAITING_FOR_RESOURCES
    assert s.pending_reason(small) is PendingReason.BLOCKED_BY_HEAD
    assert s.cluster.allocated_milli == 6 * MILLI


def _backfill_setup() -> tuple[Scheduler, JobRecord]:
    """One 8-device node: a 6-device job runs until t=100, an 8-device head waits."""
    s = scheduler(one_pool(1, 8), "backfill")
    s.submit(spec("runner", 6, duration=100.0), 0.0)
    s.schedule(0.0)
    head = s.submit(spec("head", 8, duration=100.0), 0.0)
    result = s.schedule(0.0)
    assert result.head is head
    assert result.reservation is not None
    assert result.reservation.start == pytest.approx(100.0)
    assert s.reserved_start["head"] == pytest.approx(100.0)
    return s, head


def test_backfill_starts_a_short_job_that_ends_before_the_reservation() -> None:
    s, head = _backfill_setup()
    short = s.submit(spec("short", 1, duration=50.0), 10.0)
    result = s.schedule(10.0)
    assert ids(result.started) == ["short"]
    assert short.expected_end == pytest.approx(60.0)
    assert s.pending_reason(head) is PendingReason.WAITING_FOR_RESOURCES
    # the reservation holds: both end by t=100 and the head starts then
    s.finish("short", 60.0)
    s.schedule(60.0)
    s.finish("runner", 100.0)
    assert ids(s.schedule(100.0).started) == ["head"]
    assert head.first_started_at == pytest.approx(100.0)
    assert head.first_started_at <= s.reserved_start["head"] + 1e-6


def test_backfill_refuses_a_long_job_that_would_delay_the_head() -> None:
    s, head = _backfill_setup()
    long = s.submit(spec("long", 1, duration=500.0), 10.0)
    result = s.schedule(10.0)
    assert result.started == []
    assert s.pending_reason(long) is PendingReason.RESERVED_FOR_HEAD
    s.finish("runner", 100.0)
    assert ids(s.schedule(100.0).started) == ["head"]
    assert head.first_started_at == 100.0
    assert long.state is JobState.PENDING


def test_backfill_admits_a_long_job_on_devices_the_head_does_not_need() -> None:
    # 2 nodes of 8: the head (8) is promised node 0 at t=100; node 1 is not reserved.
    # The long job needs 3 devices, so the placer puts it on node 1 (node 0 has 2 free).
    s = scheduler(one_pool(2, 8), "backfill")
    submit_all(s, 0.0, spec("runner0", 6, duration=100.0), spec("runner1", 4, duration=1000.0))
    s.schedule(0.0)
    s.submit(spec("head", 8), 0.0)
    assert s.schedule(0.0).reservation is not None
    long = s.submit(spec("long", 3, duration=5000.0), 1.0)
    assert ids(s.schedule(1.0).started) == ["long"]
    assert {slot.node for slot in placed(long).slots} == {placed(s.jobs["runner1"]).nodes[0]}


def test_fifo_without_backfill_never_passes_the_head() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 6, duration=100.0), 0.0)
    s.schedule(0.0)
    submit_all(s, 0.0, spec("head", 8), spec("short", 1, duration=1.0))
    assert s.schedule(0.0).started == []
    assert s.schedule(5.0).started == []
    assert s.pending_reason(s.jobs["short"]) is PendingReason.BLOCKED_BY_HEAD


# ----------------------------------------------------------------------------- gangs


def test_gang_of_16_takes_exactly_two_whole_nodes() -> None:
    s = scheduler(one_pool(3, 8), "fifo")
    job = s.submit(spec("gang", 16, cpu_milli=16_000), 0.0)
    assert ids(s.schedule(0.0).started) == ["gang"]
    slots = placed(job).slots
    assert len(slots) == 2
    assert len({slot.node for slot in slots}) == 2
    for slot in slots:
        assert slot.devices == tuple(range(8))
        assert slot.milli == MILLI
        assert slot.cpu_milli == 8_000
    assert s.cluster.allocated_milli == 16 * MILLI
    s.cluster.check_invariants()


def test_gang_of_12_takes_one_whole_node_and_four_on_the_tightest_other() -> None:
    s = scheduler(one_pool(3, 8), "fifo")
    four = s.submit(spec("four", 4), 0.0)
    s.schedule(0.0)
    gang = s.submit(spec("gang", 12, cpu_milli=12_000), 0.0)
    assert ids(s.schedule(0.0).started) == ["gang"]
    sizes = sorted((len(slot.devices), slot.cpu_milli) for slot in placed(gang).slots)
    assert sizes == [(4, 4_000), (8, 8_000)]
    # the remainder goes to the half-used node, so the third node stays whole
    (rest,) = [slot for slot in placed(gang).slots if len(slot.devices) == 4]
    assert rest.node == placed(four).nodes[0]
    assert sum(1 for node in s.cluster.nodes if node.free_whole == 8) == 1
    assert not set(devices_of(gang)) & set(devices_of(four))


def test_gang_never_starts_partially_even_when_enough_devices_are_free() -> None:
    # fill 3 nodes with 24 single-device jobs, then end 5 on each node: 15 devices are
    # free (>= 12), but no node is whole, so a 12-device gang must wait
    s = scheduler(one_pool(3, 8), "fifo")
    singles = submit_all(s, 0.0, *(spec(f"one{i}", 1, duration=1000.0) for i in range(24)))
    assert len(s.schedule(0.0).started) == 24
    node_of = {j.id: placed(j).nodes[0] for j in singles}
    for node in range(3):
        on_node = [j for j in singles if node_of[j.id] == node]
        assert len(on_node) == 8
        for job in on_node[:5]:
            s.finish(job.id, 10.0)
    s.schedule(10.0)
    assert s.cluster.free_milli == 15 * MILLI
    gang = s.submit(spec("gang", 12), 10.0)
    result = s.schedule(10.0)
    assert result.started == []
    assert gang.placement is None
    assert s.cluster.allocated_milli == 9 * MILLI
    assert s.pending_reason(gang) is PendingReason.WAITING_FOR_RESOURCES
    s.cluster.check_invariants()
    # one more node emptied: 8 whole + 4 elsewhere is enough
    for job in [j for j in singles if node_of[j.id] == 0 and j.state is JobState.RUNNING]:
        s.finish(job.id, 20.0)
    assert ids(s.schedule(20.0).started) == ["gang"]
    assert sorted(len(slot.devices) for slot in placed(gang).slots) == [4, 8]


def test_gang_never_spans_sites() -> None:
    net = network(("a", (pool("p", 1, 8),)), ("b", (pool("p", 1, 8),)))
    s = scheduler(net, "fifo")
    gang, after = submit_all(s, 0.0, spec("gang", 16), spec("after", 8))
    result = s.schedule(0.0)
    assert s.pending_reason(gang) is PendingReason.EXCEEDS_CAPACITY
    assert gang.options == ()
    assert ids(result.started) == ["after"]
    assert after.state is JobState.RUNNING


def test_gang_never_spans_pools_even_when_together_they_have_room() -> None:
    # two pools (A100 and A800 run at the same speed) of 2 nodes; a pinned 1-device job
    # in each leaves one whole node per pool: 16 whole devices, but in two pools
    net = network(("a", (pool("a100", 2, 8, "A100"),)), ("b", (pool("a800", 2, 8, "A800"),)))
    s = scheduler(net, "fifo")
    submit_all(
        s,
        0.0,
        spec("pin_a", 1, duration=100.0, accelerator_types=frozenset({"A100"})),
        spec("pin_b", 1, duration=200.0, accelerator_types=frozenset({"A800"})),
    )
    assert len(s.schedule(0.0).started) == 2
    gang = s.submit(spec("gang", 16), 0.0)
    assert s.schedule(0.0).started == []
    assert len(gang.options) == 2
    assert s.pending_reason(gang) is PendingReason.WAITING_FOR_RESOURCES
    assert s.cluster.allocated_milli == 2 * MILLI
    s.finish("pin_a", 100.0)
    assert ids(s.schedule(100.0).started) == ["gang"]
    assert pool_name(s, gang) == "a100"
    assert {s.cluster.nodes[n].pool for n in placed(gang).nodes} == {placed(gang).pool}
    assert [len(slot.devices) for slot in placed(gang).slots] == [8, 8]


# ------------------------------------------------------------------------- fractions


def test_four_quarter_jobs_share_one_device() -> None:
    s = scheduler(one_pool(1, 2), "fifo")
    quarters = submit_all(s, 0.0, *(spec(f"q{i}", 1, accelerator_milli=250) for i in range(4)))
    assert ids(s.schedule(0.0).started) == ["q0", "q1", "q2", "q3"]
    assert {tuple(devices_of(q)) for q in quarters} == {((0, 0),)}
    assert all(placed(q).slots[0].milli == 250 for q in quarters)
    assert s.cluster.allocated_milli == MILLI
    assert s.cluster.nodes[0].free == [0, MILLI]  # the other device stays whole
    s.cluster.check_invariants()


def test_a_fifth_quarter_waits_until_a_share_is_released() -> None:
    s = scheduler(one_pool(1, 1), "fifo")
    submit_all(s, 0.0, *(spec(f"q{i}", 1, accelerator_milli=250) for i in range(5)))
    started = s.schedule(0.0).started
    assert len(started) == 4
    fifth = s.jobs["q4"]
    assert s.pending_reason(fifth) is PendingReason.WAITING_FOR_RESOURCES
    s.finish("q0", 10.0)
    assert ids(s.schedule(10.0).started) == ["q4"]
    assert s.cluster.allocated_milli == MILLI


def test_best_fit_puts_a_half_on_a_partly_used_device_before_a_fresh_one() -> None:
    # two single-device pools: pool 0 gets a whole job, pool 1 a half
    net = network(("s", (pool("p0", 1, 1), pool("p1", 1, 1))))
    s = scheduler(net, "best-fit")
    whole = s.submit(spec("whole", 1, duration=10.0), 0.0)
    s.schedule(0.0)
    half = s.submit(spec("half", 1, accelerator_milli=500), 0.0)
    s.schedule(0.0)
    assert placed(whole).pool == 0
    assert placed(half).pool == 1
    s.finish("whole", 10.0)
    s.schedule(10.0)
    # pool 0 is fresh again; best fit still prefers the partly used device of pool 1
    other = s.submit(spec("other", 1, accelerator_milli=500), 10.0)
    assert ids(s.schedule(10.0).started) == ["other"]
    assert devices_of(other) == devices_of(half)
    assert s.cluster.pools[0].free_milli == MILLI
    assert s.cluster.pools[1].free_milli == 0


def test_fastest_placer_takes_the_first_pool_for_a_half_where_best_fit_would_not() -> None:
    net = network(("s", (pool("p0", 1, 1), pool("p1", 1, 1))))
    s = scheduler(net, "fifo")  # placer: fastest (equal speeds: pool order)
    s.submit(spec("whole", 1, duration=10.0), 0.0)
    s.schedule(0.0)
    half = s.submit(spec("half", 1, accelerator_milli=500), 0.0)
    s.schedule(0.0)
    assert placed(half).pool == 1
    s.finish("whole", 10.0)
    s.schedule(10.0)
    other = s.submit(spec("other", 1, accelerator_milli=500), 10.0)
    s.schedule(10.0)
    assert placed(other).pool == 0


def test_best_fit_half_on_the_partly_used_device_within_one_node() -> None:
    s = scheduler(one_pool(1, 2), "best-fit")
    a, b = submit_all(
        s,
        0.0,
        spec("a", 1, accelerator_milli=500),
        spec("b", 1, accelerator_milli=500),
    )
    s.schedule(0.0)
    assert devices_of(a) == devices_of(b)
    assert s.cluster.nodes[0].free_whole == 1


def test_fractional_share_must_be_on_one_device() -> None:
    with pytest.raises(DomainError, match="exactly one accelerator"):
        spec("bad", 2, accelerator_milli=500)


# ------------------------------------------------------------------- heterogeneity


def _v100_h100() -> Network:
    return network(("s", (pool("v100", 1, 8, "V100"), pool("h100", 1, 8, "H100"))))


def test_fp16_runtime_on_h100_is_shorter_by_the_ratio_of_peaks() -> None:
    s = scheduler(_v100_h100(), "fifo")
    job = s.submit(spec("fp16", 8, duration=1000.0, precision=Precision.FP16), 0.0)
    v100, h100 = CATALOG.get("V100"), CATALOG.get("H100")
    by_pool = {s.cluster.pools[o.pool].name: o for o in job.options}
    assert by_pool["v100"].runtime_s == pytest.approx(1000.0)
    ratio = v100.peak(Precision.FP16) / h100.peak(Precision.FP16)
    assert by_pool["h100"].runtime_s == pytest.approx(1000.0 * ratio)
    assert by_pool["h100"].runtime_s < by_pool["v100"].runtime_s
    assert by_pool["h100"].speed == pytest.approx(1 / ratio)
    # fastest first
    assert s.cluster.pools[job.options[0].pool].name == "h100"


def test_fastest_placer_puts_the_first_job_on_h100_and_the_next_on_v100() -> None:
    s = scheduler(_v100_h100(), "fifo")
    first, second = submit_all(s, 0.0, spec("first", 8), spec("second", 8))
    s.schedule(0.0)
    assert pool_name(s, first) == "h100"
    assert pool_name(s, second) == "v100"
    assert first.expected_end < second.expected_end


def test_simulated_run_time_follows_the_accelerator() -> None:
    jobs = [spec("first", 8, duration=1000.0), spec("second", 8, duration=1000.0)]
    sim = Simulation(_v100_h100(), CATALOG, make_policy("fifo"), jobs)
    result = sim.run()
    assert result.jobs_finished == 2
    ratio = CATALOG.get("V100").peak(Precision.FP16) / CATALOG.get("H100").peak(Precision.FP16)
    finished = sorted(j.finished_at or math.nan for j in sim.scheduler.jobs.values())
    assert finished == pytest.approx([1000.0 * ratio, 1000.0])


def test_fp64_never_lands_on_t4_or_ascend() -> None:
    net = network(("s", (pool("t4", 2, 8, "T4"), pool("ascend", 2, 8, "Ascend910B"))))
    s = scheduler(net, "fifo")
    fp64, fp16 = submit_all(
        s,
        0.0,
        spec("fp64", 1, precision=Precision.FP64),
        spec("fp16", 1, precision=Precision.FP16),
    )
    result = s.schedule(0.0)
    assert ids(result.started) == ["fp16"]  # the FP64 job does not block the queue
    assert fp64.options == ()
    assert s.pending_reason(fp64) is PendingReason.NO_MATCHING_ACCELERATOR
    assert fp16.state is JobState.RUNNING


def test_fp64_waits_for_a_v100_rather_than_taking_a_free_t4() -> None:
    net = network(("s", (pool("t4", 1, 8, "T4"), pool("v100", 1, 8, "V100"))))
    s = scheduler(net, "backfill")
    s.submit(spec("busy", 8, duration=100.0, accelerator_types=frozenset({"V100"})), 0.0)
    s.schedule(0.0)
    fp64 = s.submit(spec("fp64", 1, precision=Precision.FP64), 0.0)
    assert s.schedule(0.0).started == []
    assert [s.cluster.pools[o.pool].name for o in fp64.options] == ["v100"]
    assert s.pending_reason(fp64) is PendingReason.WAITING_FOR_RESOURCES
    s.finish("busy", 100.0)
    s.schedule(100.0)
    assert pool_name(s, fp64) == "v100"


def test_accelerator_types_restricts_pools() -> None:
    s = scheduler(_v100_h100(), "fifo")
    job = s.submit(spec("v100-only", 1, accelerator_types=frozenset({"v100"})), 0.0)
    s.schedule(0.0)
    assert [s.cluster.pools[o.pool].name for o in job.options] == ["v100"]
    assert pool_name(s, job) == "v100"
    missing = s.submit(spec("a100-only", 1, accelerator_types=frozenset({"A100"})), 0.0)
    s.schedule(0.0)
    assert s.pending_reason(missing) is PendingReason.NO_MATCHING_ACCELERATOR


def test_in_test_catalog_drives_speed() -> None:
    slow = AcceleratorModel("Slow", "x", DeviceClass.GPU, 16, 100, {Precision.FP32: 10.0})
    fast = AcceleratorModel("Fast", "x", DeviceClass.GPU, 16, 100, {Precision.FP32: 40.0})
    catalog = Catalog({"Slow": slow, "Fast": fast})
    net = network(("s", (pool("slow", 1, 4, "Slow"), pool("fast", 1, 4, "Fast"))))
    s = scheduler(net, "fifo", catalog)
    job = s.submit(
        JobSpec(
            id="j",
            tenant="t",
            work=Work(reference_s=400.0, reference_accelerator="Slow"),
            accelerators=4,
            precision=Precision.FP32,
        ),
        0.0,
    )
    s.schedule(0.0)
    assert pool_name(s, job) == "fast"
    assert job.expected_end == pytest.approx(100.0)
    assert {s.cluster.pools[o.pool].name: o.runtime_s for o in job.options} == {
        "fast": pytest.approx(100.0),
        "slow": pytest.approx(400.0),
    }


# ------------------------------------------------------------------------ life cycle


def test_completion_releases_and_the_pass_at_the_same_instant_starts_the_next() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    first, second = submit_all(s, 0.0, spec("first", 8, duration=100.0), spec("second", 8))
    s.schedule(0.0)
    assert second.state is JobState.PENDING
    s.finish("first", 100.0)
    assert first.state is JobState.SUCCEEDED
    assert first.finished_at == 100.0
    assert first.placement is None
    assert s.cluster.allocated_milli == 0
    result = s.schedule(100.0)
    assert ids(result.started) == ["second"]
    assert second.first_started_at == 100.0
    assert s.cluster.allocated_milli == 8 * MILLI


def test_a_failed_job_also_releases() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("a", 8), 0.0)
    s.schedule(0.0)
    job = s.finish("a", 5.0, JobState.FAILED)
    assert job.state is JobState.FAILED
    assert s.cluster.allocated_milli == 0


def test_cancel_a_pending_job() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 8, duration=100.0), 0.0)
    s.schedule(0.0)
    waiting = s.submit(spec("waiting", 8), 0.0)
    s.schedule(0.0)
    s.cancel("waiting", 10.0)
    assert waiting.state is JobState.CANCELLED
    assert waiting.finished_at == 10.0
    assert s.pending_count == 0
    assert s.pending_reason(waiting) is PendingReason.NONE
    s.finish("runner", 100.0)
    assert s.schedule(100.0).started == []
    assert waiting.first_started_at is None
    assert s.cancel("waiting", 20.0) is waiting  # cancelling again is a no-op


def test_cancel_a_running_job_releases_and_the_next_starts() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    runner, waiting = submit_all(s, 0.0, spec("runner", 8, duration=100.0), spec("waiting", 8))
    s.schedule(0.0)
    s.cancel("runner", 30.0)
    assert runner.state is JobState.CANCELLED
    assert runner.placement is None
    assert s.cluster.allocated_milli == 0
    assert ids(s.schedule(30.0).started) == ["waiting"]
    assert waiting.first_started_at == 30.0


def test_cancelling_the_blocked_head_lets_the_next_job_start_at_once() -> None:
    """Cancelling a pending head returns no capacity, but the next pass must still
    reconsider the job it held back (not only new arrivals around the gone head)."""
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 6, duration=1000.0), 0.0)
    s.schedule(0.0)
    submit_all(s, 0.0, spec("head", 4), spec("small", 1))
    s.schedule(0.0)
    s.cancel("head", 1.0)
    result = s.schedule(1.0)
    assert ids(result.started) == ["small"]


def test_finish_of_a_job_that_is_not_running_raises() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 8), 0.0)
    s.schedule(0.0)
    s.submit(spec("pending", 8), 0.0)
    s.schedule(0.0)
    with pytest.raises(DomainError, match="not running"):
        s.finish("pending", 1.0)
    s.finish("runner", 100.0)
    with pytest.raises(DomainError, match="not running"):
        s.finish("runner", 101.0)
    with pytest.raises(DomainError, match="unknown job"):
        s.finish("nope", 1.0)
    with pytest.raises(DomainError, match="succeeded or failed"):
        s.finish("pending", 1.0, JobState.CANCELLED)
    with pytest.raises(DomainError, match="already submitted"):
        s.submit(spec("pending", 1), 1.0)
    # a job that ended may come back (a requeue): it is a new pending record
    again = s.submit(spec("runner", 1), 101.0)
    assert again.state is JobState.PENDING and s.jobs["runner"] is again


# ----------------------------------------------------------------------- queue orders


def _blocked_then(policy: str, *waiting: JobSpec) -> tuple[Scheduler, list[str]]:
    """Fill the node, queue `waiting`, free the node: the order in which they start."""
    s = scheduler(one_pool(1, 8), policy)
    s.submit(spec("blocker", 8, duration=10.0), 0.0)
    s.schedule(0.0)
    submit_all(s, 1.0, *waiting)
    s.schedule(1.0)
    order: list[str] = []
    now = 10.0
    s.finish("blocker", now)
    while True:
        started = s.schedule(now).started
        if not started:
            break
        order += ids(started)
        (job,) = started
        now = job.expected_end
        s.finish(job.id, now)
    return s, order


def test_sjf_orders_by_estimate() -> None:
    jobs = (
        spec("long", 8, duration=1000.0, at=1.0),
        spec("short", 8, duration=10.0, at=1.0),
        spec("mid", 8, duration=100.0, at=1.0),
    )
    assert _blocked_then("fifo", *jobs)[1] == ["long", "short", "mid"]
    assert _blocked_then("sjf", *jobs)[1] == ["short", "mid", "long"]


def test_sjf_uses_the_declared_estimate_over_the_work() -> None:
    jobs = (
        spec("claims_short", 8, duration=1000.0, estimated_s=5.0, at=1.0),
        spec("claims_long", 8, duration=10.0, estimated_s=5000.0, at=1.0),
    )
    assert _blocked_then("sjf", *jobs)[1] == ["claims_short", "claims_long"]


def test_sjf_weighs_the_estimate_by_devices() -> None:
    # 8 devices x 100 s = 800 device-s is more work than 1 device x 500 s
    s = scheduler(one_pool(1, 8), "sjf")
    s.submit(spec("blocker", 8, duration=10.0), 0.0)
    s.schedule(0.0)
    submit_all(s, 1.0, spec("wide", 8, duration=100.0), spec("narrow", 1, duration=500.0))
    s.schedule(1.0)
    assert ids(s.pending) == ["narrow", "wide"]


def test_priority_orders_by_priority() -> None:
    jobs = (
        spec("low", 8, priority=0, at=1.0),
        spec("high", 8, priority=10, at=1.0),
        spec("mid", 8, priority=5, at=1.0),
    )
    assert _blocked_then("priority", *jobs)[1] == ["high", "mid", "low"]
    assert _blocked_then("fifo", *jobs)[1] == ["low", "high", "mid"]


def test_priority_preempts_only_preemptible_lower_priority_jobs() -> None:
    s = scheduler(one_pool(1, 8), "priority")
    s.submit(spec("low", 8, duration=1000.0, priority=0, preemptible=True), 1.0)
    s.schedule(1.0)
    high = s.submit(spec("high", 8, priority=5), 2.0)
    result = s.schedule(2.0)
    assert ids(result.preempted) == ["low"]
    assert ids(result.started) == ["high"]
    assert high.state is JobState.RUNNING
    s2 = scheduler(one_pool(1, 8), "priority")
    s2.submit(spec("low", 8, duration=1000.0, priority=0, preemptible=False), 1.0)
    s2.schedule(1.0)
    s2.submit(spec("high", 8, priority=5), 2.0)
    assert s2.schedule(2.0).preempted == []


def test_drf_alternates_tenants_when_one_floods_the_queue_first() -> None:
    def starts(policy: str) -> list[str]:
        s = scheduler(one_pool(2, 8), policy)
        flood = [spec(f"a{i}", 1, tenant="alice") for i in range(16)]
        late = [spec(f"b{i}", 1, tenant="bob") for i in range(16)]
        submit_all(s, 0.0, *flood, *late)  # alice's jobs are all older
        return [j.spec.tenant for j in s.schedule(0.0).started]

    fifo = starts("fifo")
    assert fifo == ["alice"] * 16  # first come, first served: bob gets nothing
    drf = starts("drf")
    assert len(drf) == 16
    assert drf.count("bob") == 8
    for a, b in zip(drf[::2], drf[1::2], strict=True):
        assert {a, b} == {"alice", "bob"}


def test_drf_respects_tenant_weights() -> None:
    s = Scheduler(
        one_pool(1, 8),
        CATALOG,
        make_policy("drf"),
        tenants=[Tenant("big", 3.0)],
    )
    submit_all(
        s,
        0.0,
        *(spec(f"s{i}", 1, tenant="small") for i in range(8)),
        *(spec(f"b{i}", 1, tenant="big") for i in range(8)),
    )
    started = [j.spec.tenant for j in s.schedule(0.0).started]
    assert started.count("big") == 6
    assert started.count("small") == 2


def test_las_preempts_the_more_served_job_for_a_new_one() -> None:
    s = scheduler(one_pool(1, 8), "las")
    old = s.submit(spec("old", 8, duration=100_000.0, preemptible=True), 1.0)
    s.schedule(1.0)
    # by t=1001 the old job has 8 x 1000 device-s, past the first LAS threshold
    new = s.submit(spec("new", 8, duration=50.0, preemptible=True), 1001.0)
    result = s.schedule(1001.0)
    assert ids(result.preempted) == ["old"]
    assert ids(result.started) == ["new"]
    assert new.state is JobState.RUNNING
    assert old.state is JobState.PENDING
    assert old.preemptions == 1
    assert old.attained == pytest.approx(8_000.0)
    assert old.remaining == pytest.approx(1.0 - 1000.0 / 100_000.0)
    s.cluster.check_invariants()
    s.finish("new", 1051.0)
    assert ids(s.schedule(1051.0).started) == ["old"]
    assert old.first_started_at == 1.0
    assert old.run_started_at == 1051.0


def test_las_never_preempts_non_preemptible_jobs() -> None:
    s = scheduler(one_pool(1, 8), "las")
    s.submit(spec("old", 8, duration=100_000.0, preemptible=False), 1.0)
    s.schedule(1.0)
    new = s.submit(spec("new", 8, duration=50.0, preemptible=True), 1001.0)
    result = s.schedule(1001.0)
    assert result.preempted == []
    assert result.started == []
    assert s.pending_reason(new) is PendingReason.WAITING_FOR_RESOURCES


def test_las_does_not_preempt_a_job_in_the_same_queue() -> None:
    s = scheduler(one_pool(1, 8), "las")
    s.submit(spec("old", 8, duration=100_000.0, preemptible=True), 1.0)
    s.schedule(1.0)
    # 8 x 100 s = 800 device-s: still in the first LAS queue
    s.submit(spec("new", 8, duration=50.0, preemptible=True), 101.0)
    assert s.schedule(101.0).preempted == []


def test_las_wakes_up_when_a_running_job_crosses_a_threshold() -> None:
    s = scheduler(one_pool(1, 8), "las")
    s.submit(spec("old", 8, duration=100_000.0, preemptible=True), 1.0)
    s.schedule(1.0)
    s.submit(spec("new", 8, duration=50.0, preemptible=True), 101.0)
    result = s.schedule(101.0)
    # 3600 device-s at 8 devices: 450 s after the start
    assert result.wakeup_at == pytest.approx(451.0)
    assert ids(s.schedule(451.0, full=True).preempted) == ["old"]


# ------------------------------------------------------------------------- infeasible


@pytest.mark.parametrize("policy", ["fifo", "backfill", "sjf", "priority", "las", "best-fit"])
def test_infeasible_jobs_get_exceeds_capacity_and_do_not_block(policy: str) -> None:
    s = scheduler(one_pool(2, 8), policy)
    huge, small = submit_all(s, 0.0, spec("huge", 24), spec("small", 1))
    result = s.schedule(0.0)
    assert ids(result.started) == ["small"]
    assert small.state is JobState.RUNNING
    assert result.head is None
    assert s.pending_reason(huge) is PendingReason.EXCEEDS_CAPACITY
    assert huge.state is JobState.PENDING
    assert huge.options == ()


def test_cpu_request_larger_than_a_node_exceeds_capacity() -> None:
    s = scheduler(one_pool(2, 8, cpus=16), "fifo")
    # 8 devices on one node need all 64 cores: the node has 16
    job = s.submit(spec("cpu", 8, cpu_milli=64_000), 0.0)
    s.schedule(0.0)
    assert s.pending_reason(job) is PendingReason.EXCEEDS_CAPACITY


def test_cpu_limits_hold_back_a_job_whose_devices_are_free() -> None:
    s = scheduler(one_pool(1, 8, cpus=16), "fifo")
    s.submit(spec("cpu_hog", 1, duration=100.0, cpu_milli=12_000), 0.0)
    s.schedule(0.0)
    job = s.submit(spec("needs_cpu", 1, cpu_milli=8_000), 0.0)
    assert s.schedule(0.0).started == []
    assert s.pending_reason(job) is PendingReason.WAITING_FOR_RESOURCES
    assert s.cluster.free_milli == 7 * MILLI


# ---------------------------------------------------------------------------- policies


def test_make_policy_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        make_policy("sjf+warp-drive")
    message = str(info.value)
    assert "warp-drive" in message
    for name in ("fifo", "sjf", "las", "drf", "priority", "best-fit", "fgd", "backfill"):
        assert name in message
    assert set(plugin_names()) <= set(info.value.valid)


@pytest.mark.parametrize("name", ["", "+", "fifo+sjf", "best-fit+fgd"])
def test_make_policy_rejects_empty_and_conflicting_names(name: str) -> None:
    with pytest.raises(DomainError):
        make_policy(name)


def test_make_policy_combinations() -> None:
    p = make_policy("SJF + Backfill")
    assert p.name == "sjf+backfill"
    assert p.backfill
    assert p.queue.name == "sjf"
    assert p.placer.name == "fastest"
    assert p.preemptor is None
    assert make_policy("las").preemptor is not None
    assert make_policy("las+no-preempt").preemptor is None
    assert make_policy("fifo+preempt").preemptor is not None
    assert make_policy("drf+best-fit").placer.name == "best-fit"
    assert make_policy("fgd").queue.name == "fifo"


# ------------------------------------------------------------------------------- bugs


def test_bug_drf_infeasible_job_blocks_its_tenant_forever() -> None:
    """Under `drf` (no backfill) a job that can never run (ExceedsCapacity) was yielded
    as 'blocked' and stopped its tenant's queue: the tenant's later jobs never started."""
    s = scheduler(one_pool(1, 8), "drf")
    huge, small = submit_all(s, 0.0, spec("huge", 16), spec("small", 1))
    s.schedule(0.0)
    assert s.pending_reason(huge) is PendingReason.EXCEEDS_CAPACITY
    assert small.state is JobState.RUNNING


def test_bug_drf_infeasible_job_holds_back_its_tenants_arrivals() -> None:
    """The same defect on the incremental pass (arrivals only): `_tenant_waiting` counted
    the never-runnable job as an older waiting job of its tenant, so a new job of that
    tenant was not even considered although devices were free."""
    s = scheduler(one_pool(1, 8), "drf")
    submit_all(
        s,
        0.0,
        spec("runner", 6, duration=1000.0, tenant="b"),
        spec("head", 4, tenant="b"),
        spec("huge", 16, tenant="a"),
    )
    s.schedule(0.0)
    assert s.jobs["head"].state is JobState.PENDING
    late = s.submit(spec("late", 1, tenant="a"), 1.0)
    s.schedule(1.0)
    assert late.state is JobState.RUNNING


@pytest.mark.parametrize("policy", ["drf", "drf+backfill"])
def test_bug_drf_incremental_pass_survives_a_new_tenants_infeasible_job(policy: str) -> None:
    """Regression of the fix above (open): jobs without options are no longer counted in
    `_tenant_waiting`, but `_incremental_stream` still reads `older[tenant]` for every
    arrival, so an arrivals-only pass raises KeyError when a tenant that has nothing
    else waiting submits a job that can never run."""
    s = scheduler(one_pool(1, 8), policy)
    submit_all(s, 0.0, spec("runner", 6, tenant="b"), spec("head", 4, tenant="b"))
    s.schedule(0.0)
    huge = s.submit(spec("huge", 16, tenant="a"), 1.0)
    assert s.schedule(1.0).started == []  # KeyError: 'a'
    assert s.pending_reason(huge) is PendingReason.EXCEEDS_CAPACITY


def test_bug_drf_simulation_finishes_every_feasible_job() -> None:
    jobs = [spec("huge", 16), spec("small", 1, at=1.0)]
    result = Simulation(one_pool(1, 8), CATALOG, make_policy("drf"), jobs).run()
    assert result.jobs_finished == 1


def test_bug_preemption_keeps_the_progress_of_a_job_started_at_time_zero() -> None:
    """`_evict` computed progress from `run_started_at or now`: a run that started at
    t=0.0 (falsy) counted as no progress at all and the job restarted from scratch."""
    s = scheduler(one_pool(1, 8), "fifo")
    job = s.submit(spec("job", 8, duration=1000.0, preemptible=True), 0.0)
    s.schedule(0.0)
    s.preempt("job", 500.0)
    assert job.attained == pytest.approx(4000.0)
    assert job.remaining == pytest.approx(0.5)  # was 1.0


@pytest.mark.parametrize("policy", ["fifo+preempt", "sjf+preempt", "drf+preempt"])
def test_bug_a_job_started_in_a_pass_is_not_its_victim_in_the_same_pass(policy: str) -> None:
    """With the `preempt` modifier on a queue that does not order by priority, a job
    started earlier in a pass could be evicted later in the same pass for a
    higher-priority job: it was then in both `started` and `preempted` (state pending,
    first_started_at set, preemptions=1 though it never ran), and `Simulation.run`
    crashed with KeyError in `run_start.pop(victim.seq)`."""
    s = scheduler(one_pool(1, 1), policy)
    low, high = submit_all(
        s,
        0.0,
        spec("low", 1, duration=10.0, preemptible=True, tenant="a"),
        spec("high", 1, duration=100.0, priority=1, tenant="b"),
    )
    result = s.schedule(0.0)
    started, preempted = set(ids(result.started)), set(ids(result.preempted))
    assert not started & preempted
    for job in (low, high):
        assert (job.state is JobState.RUNNING) == (job.id in started), job.id
        if job.state is JobState.PENDING:
            assert job.first_started_at is None, job.id


def test_bug_preempt_modifier_simulation_does_not_crash() -> None:
    jobs = [
        spec("a_low", 1, duration=10.0, preemptible=True),
        spec("b_high", 1, duration=100.0, priority=1),
    ]
    result = Simulation(one_pool(1, 1), CATALOG, make_policy("fifo+preempt"), jobs).run()
    assert result.jobs_finished == 2


def test_preempt_by_hand_requeues_and_keeps_progress() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    job = s.submit(spec("job", 8, duration=1000.0), 100.0)
    s.schedule(100.0)
    s.preempt("job", 600.0)
    assert job.state is JobState.PENDING
    assert job.remaining == pytest.approx(0.5)
    assert job.preemptions == 1
    assert s.cluster.allocated_milli == 0
    assert ids(s.schedule(600.0).started) == ["job"]
    assert job.expected_end == pytest.approx(1100.0)
    s.finish("job", 1100.0)
    assert job.state is JobState.SUCCEEDED


def test_preempt_of_a_pending_job_raises() -> None:
    s = scheduler(one_pool(1, 8), "fifo")
    s.submit(spec("runner", 8), 0.0)
    s.schedule(0.0)
    s.submit(spec("pending", 8), 0.0)
    with pytest.raises(DomainError, match="not running"):
        s.preempt("pending", 1.0)


def test_bug_a_preempted_job_reports_preempted() -> None:
    """The victim's reason was set to Preempted, but `pending_reason` answered
    BlockedByHeadOfQueue because the victim was not visited in the pass that evicted it."""
    s = scheduler(one_pool(1, 8), "las")
    old = s.submit(spec("old", 8, duration=100_000.0, preemptible=True), 1.0)
    s.schedule(1.0)
    s.submit(spec("new", 8, preemptible=True), 1001.0)
    assert ids(s.schedule(1001.0).preempted) == ["old"]
    assert s.pending_reason(old) is PendingReason.PREEMPTED


def test_recorded_history_tells_each_jobs_story() -> None:
    from computenet.domain.events import EventKind

    catalog = load_catalog()
    net = Network("n", (Site("s", (NodePool("p", NodeShape("V100", 8), 1),)),))
    sched = Scheduler(net, catalog, make_policy("las"), record_events=True)
    old = JobSpec(
        id="old", tenant="a", work=Work(reference_s=100_000.0), accelerators=8, preemptible=True
    )
    sched.submit(old, 0.0)
    sched.schedule(0.0)
    new = JobSpec(
        id="new", tenant="b", work=Work(reference_s=10.0), accelerators=8, submit_time=5_000.0
    )
    sched.submit(new, 5_000.0)
    sched.schedule(5_000.0)
    sched.finish("new", 5_010.0)
    sched.schedule(5_010.0)
    assert sched.events is not None
    story = [(e.job_id, e.kind) for e in sched.events]
    assert story == [
        ("old", EventKind.SUBMITTED),
        ("old", EventKind.STARTED),
        ("new", EventKind.SUBMITTED),
        ("old", EventKind.PREEMPTED),
        ("new", EventKind.STARTED),
        ("new", EventKind.SUCCEEDED),
        ("old", EventKind.STARTED),
    ]
    assert "V100" in sched.events[1].detail
    # without record_events the scheduler keeps no history
    assert Scheduler(net, catalog, make_policy("fifo")).events is None


def test_backfill_places_a_long_job_around_the_heads_reserved_node() -> None:
    net = Network("n", (Site("s", (NodePool("p", NodeShape("V100", 8), 2),)),))
    sched = Scheduler(net, load_catalog(), make_policy("backfill"))

    def job(name: str, gpus: int, seconds: float) -> JobSpec:
        return JobSpec(id=name, tenant="t", work=Work(reference_s=seconds), accelerators=gpus)

    for spec in (job("r1", 6, 100.0), job("r2", 4, 1_000.0)):
        sched.submit(spec, 0.0)
        sched.schedule(0.0)
    r1, r2 = sched.jobs["r1"], sched.jobs["r2"]
    assert r1.placement is not None and r2.placement is not None
    assert r1.placement.nodes != r2.placement.nodes
    sched.submit(job("head", 8, 10.0), 0.0)
    sched.submit(job("long", 2, 5_000.0), 0.0)
    result = sched.schedule(0.0)
    assert result.reservation is not None and result.reservation.start == 100.0
    # the tightest node for "long" is r1's (2 free), reserved for the head at t=100;
    # r2's node has room and is not reserved, so "long" starts there at once
    long_job = sched.jobs["long"]
    assert [j.id for j in result.started] == ["long"]
    assert long_job.placement is not None
    assert long_job.placement.nodes == r2.placement.nodes
    sched.finish("r1", 100.0)
    assert [j.id for j in sched.schedule(100.0).started] == ["head"]


def test_adopt_books_a_running_job_and_refuses_double_booking() -> None:
    net = Network("n", (Site("s", (NodePool("p", NodeShape("V100", 8), 1),)),))
    first = Scheduler(net, load_catalog(), make_policy("fifo"))
    spec = JobSpec(id="a", tenant="t", work=Work(reference_s=100.0), accelerators=6)
    first.submit(spec, 0.0)
    first.schedule(0.0)
    placement = first.jobs["a"].placement
    assert placement is not None
    # a restarted service: a new core adopts the running job at its stored placement
    again = Scheduler(net, load_catalog(), make_policy("fifo"))
    job = again.adopt(spec, placement, started_at=0.0)
    assert job.state is JobState.RUNNING
    assert again.cluster.allocated_milli == 6 * MILLI
    other = JobSpec(id="b", tenant="t", work=Work(reference_s=1.0), accelerators=6)
    with pytest.raises(DomainError, match="not free"):
        again.adopt(other, placement, started_at=0.0)
    assert again.cluster.allocated_milli == 6 * MILLI
    again.cluster.check_invariants()
    again.submit(other, 1.0)
    assert again.schedule(1.0).started == []  # only 2 devices are free
    again.finish("a", 100.0)
    assert [j.id for j in again.schedule(100.0).started] == ["b"]


def test_a_new_site_takes_jobs_that_matched_nothing_before() -> None:
    net = Network("n", (Site("old", (NodePool("p", NodeShape("V100", 8), 1),)),))
    sched = Scheduler(net, load_catalog(), make_policy("fifo"))
    h100 = JobSpec(
        id="h",
        tenant="t",
        work=Work(reference_s=10.0),
        accelerators=8,
        accelerator_types=frozenset({"H100"}),
    )
    v100 = JobSpec(id="v", tenant="t", work=Work(reference_s=10.0), accelerators=8)
    sched.submit(h100, 0.0)
    sched.submit(v100, 0.0)
    assert [j.id for j in sched.schedule(0.0).started] == ["v"]
    assert sched.pending_reason(sched.jobs["h"]) is PendingReason.NO_MATCHING_ACCELERATOR
    sched.add_site(Site("new", (NodePool("hopper", NodeShape("H100", 8), 1),)))
    started = sched.schedule(1.0).started
    assert [j.id for j in started] == ["h"]
    assert started[0].placement is not None
    assert sched.cluster.pools[started[0].placement.pool].site == "new"
    sched.cluster.check_invariants()
