"""Placement across sites by score: speed at the job's precision, data staging, energy,
carbon and price, time-shifting of deferrable jobs, power caps, and the "why here" record.

Networks here are tiny and made up; the calendar starts at a chosen local hour so that the
hourly profiles line up with the test's story.
"""

from typing import Any

import pytest

from computenet.data import load_catalog
from computenet.domain.economics import Calendar
from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.events import EventKind
from computenet.domain.hardware import Precision
from computenet.domain.jobs import JobKind, JobSpec, JobState, PendingReason, Work
from computenet.domain.network import Network
from computenet.scheduling import Scheduler, make_policy
from computenet.scheduling.policies.profiles import ProfilePlacer
from computenet.scheduling.records import JobRecord
from computenet.scheduling.scoring import Weights
from computenet.simulation.engine import Simulation

pytestmark = pytest.mark.unit

CATALOG = load_catalog()
HOUR = 3600.0
SIX_AM = Calendar.starting("2024-05-06T06:00:00")  # time 0 is 06:00 China time


def day_hours(day: float, night: float, lo: int = 10, hi: int = 16) -> list[float]:
    return [day if lo <= h < hi else night for h in range(24)]


def pool(model: str, nodes: int = 1, per_node: int = 8) -> dict[str, Any]:
    return {
        "name": model.lower(),
        "accelerator": model,
        "accelerators_per_node": per_node,
        "nodes": nodes,
    }


def site(name: str, *pools: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "pools": list(pools), **extra}


def energy(grid: float, green: Any = 0.0, price: Any = 0.5) -> dict[str, Any]:
    return {"grid_kg_per_kwh": grid, "green_share": green, "price_per_kwh": price}


def network(*sites: dict[str, Any], links: tuple[dict[str, Any], ...] = ()) -> Network:
    return Network.from_dict({"name": "test", "sites": list(sites), "links": list(links)})


def job(job_id: str, gpus: int = 1, hours: float = 2.0, **kw: Any) -> JobSpec:
    """Work in seconds on an A100 at the job's precision (so A100 run time = hours)."""
    return JobSpec(
        id=job_id,
        tenant=kw.pop("tenant", "t"),
        work=Work(reference_s=hours * HOUR, reference_accelerator="A100"),
        accelerators=gpus,
        submit_time=kw.pop("at", 0.0),
        **kw,
    )


def scheduler(net: Network, policy: str, **kw: Any) -> Scheduler:
    return Scheduler(net, CATALOG, make_policy(policy), calendar=kw.pop("calendar", SIX_AM), **kw)


def site_of(s: Scheduler, j: JobRecord) -> str:
    assert j.placement is not None, f"{j.id} is not placed"
    return s.cluster.pools[j.placement.pool].site


# ------------------------------------------------------------------ time-shifting


# carbon weighs three times a relative slowdown: a 2 h job waits 4 h to run on solar power
GREEN = "fifo+green:carbon=3"


def solar_site() -> Network:
    """One site whose power is all solar 10:00-16:00 and all grid (0.8 kg/kWh) otherwise."""
    return network(site("solar", pool("A100"), energy=energy(0.8, {"hours": day_hours(1.0, 0.0)})))


def test_a_deferrable_job_moves_to_the_green_hour_when_allowed() -> None:
    s = scheduler(solar_site(), GREEN)
    j = s.submit(job("train", deferrable=True, deadline_s=12 * HOUR), 0.0)
    result = s.schedule(0.0)
    assert result.started == []
    assert j.state is JobState.PENDING
    assert s.pending_reason(j) is PendingReason.DEFERRED
    assert result.wakeup_at == pytest.approx(4 * HOUR)  # 10:00, when the sun is up
    assert s.schedule(2 * HOUR).started == []  # still held at 08:00
    assert [x.id for x in s.schedule(4 * HOUR).started] == ["train"]
    assert j.deferred_s == pytest.approx(4 * HOUR)
    # the simulator agrees: finished at 12:00, six hours after submission
    sim = Simulation(
        solar_site(),
        CATALOG,
        make_policy(GREEN),
        [job("train", deferrable=True, deadline_s=12 * HOUR)],
        calendar=SIX_AM,
    )
    r = sim.run()
    assert r.avg_jct_s == pytest.approx(6 * HOUR)
    assert r.deferred_jobs == 1 and r.deadline_misses == 0
    assert r.green_share == pytest.approx(1.0)
    assert r.carbon_kg == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("policy", "spec"),
    [
        (GREEN, {"deferrable": False}),  # not deferrable
        (GREEN, {"deferrable": True, "deadline_s": 3 * HOUR}),  # cannot wait till 10:00
        ("fifo+fast", {"deferrable": True, "deadline_s": 12 * HOUR}),  # the profile never shifts
        (GREEN + ",shift=0", {"deferrable": True}),
        (GREEN + ",max_defer_h=2", {"deferrable": True}),
        ("fifo", {"deferrable": True}),  # no profile: no time-shifting
    ],
)
def test_a_deferrable_job_starts_at_once_when_not_allowed_to_wait(
    policy: str, spec: dict[str, Any]
) -> None:
    s = scheduler(solar_site(), policy)
    j = s.submit(job("train", **spec), 0.0)
    assert [x.id for x in s.schedule(0.0).started] == ["train"]
    assert j.deferred_s == 0.0


def test_a_short_job_does_not_wait_hours_for_a_little_carbon() -> None:
    """Time counts relative to the job's own length: four hours' wait is 48 times the run
    of a five-minute job, worth far more than its carbon."""
    s = scheduler(solar_site(), GREEN)
    s.submit(job("short", hours=5 / 60, deferrable=True, deadline_s=12 * HOUR), 0.0)
    assert [x.id for x in s.schedule(0.0).started] == ["short"]


def test_a_held_job_does_not_block_a_strict_queue_and_is_due_without_a_full_pass() -> None:
    s = scheduler(solar_site(), GREEN)
    s.submit(job("held", deferrable=True, deadline_s=12 * HOUR), 0.0)
    s.schedule(0.0)
    s.submit(job("next", at=1.0), 1.0)
    assert [x.id for x in s.schedule(1.0).started] == ["next"]  # passes the held one
    # at 10:00 the held job starts though nothing was released since (an incremental pass)
    assert [x.id for x in s.schedule(4 * HOUR).started] == ["held"]


# ------------------------------------------------------------------ precision


def test_fp64_work_never_lands_on_fp64_poor_chips_whatever_the_profile() -> None:
    """The green, cheap site has only H800s (FP64 cut to ~1 TFLOPS); FP64 work waits for
    the dirty site's A100s rather than go there."""
    net = network(
        site("green", pool("H800"), energy=energy(0.1, 1.0, 0.1)),
        site("dirty", pool("A100", per_node=2), energy=energy(0.9, 0.0, 1.5)),
    )
    for policy in ("fifo+green", "fifo+cheap", "fifo+fast", "fifo", "fifo+best-fit"):
        s = scheduler(net, policy)
        train = s.submit(job("train", precision=Precision.FP16), 0.0)
        hpc = [
            s.submit(job(f"hpc{i}", kind=JobKind.HPC, precision=Precision.FP64, at=0.0), 0.0)
            for i in range(4)
        ]
        s.schedule(0.0)
        running = [h for h in hpc if h.state is JobState.RUNNING]
        # the two A100s (best-fit packs the fp16 job onto one of them)
        assert len(running) == (1 if policy == "fifo+best-fit" else 2), policy
        assert {site_of(s, h) for h in running} == {"dirty"}
        assert all(h.reason is PendingReason.WAITING_FOR_RESOURCES for h in hpc if h not in running)
        if policy in ("fifo+green", "fifo+cheap"):
            assert site_of(s, train) == "green"


# ------------------------------------------------------------------ site choice


def test_the_profile_weights_decide_between_a_fast_dirty_and_a_slow_green_site() -> None:
    """H100 runs fp16 work 3.2x faster than an A100, but at a coal-heavy site; the A100
    site is green. Saving 90 % of the carbon is worth the slowdown at carbon weight 3, not
    at the `green` profile's 1, nor at 0.1."""
    net = network(
        site("coal", pool("H100"), energy=energy(0.9, 0.0, 0.6)),
        site("hydro", pool("A100"), energy=energy(0.9, 0.95, 0.6)),
    )
    picks = {}
    for policy in (
        "fifo+fast",
        "fifo+green:carbon=3",
        "fifo+green",
        "fifo+score:carbon=0.1",
        "fifo",
    ):
        s = scheduler(net, policy)
        j = s.submit(job("j", precision=Precision.FP16), 0.0)
        s.schedule(0.0)
        picks[policy] = site_of(s, j)
    assert picks == {
        "fifo+fast": "coal",
        "fifo+green:carbon=3": "hydro",
        "fifo+green": "coal",  # too little weight to pay a 3.2x slowdown
        "fifo+score:carbon=0.1": "coal",
        "fifo": "coal",  # the fastest placer
    }


def test_every_placement_records_why_here() -> None:
    net = network(
        site("coal", pool("H100"), energy=energy(0.9, 0.0, 0.6)),
        site("hydro", pool("A100"), energy=energy(0.9, 0.95, 0.6)),
    )
    s = scheduler(net, "fifo+green:carbon=3", record_events=True)
    j = s.submit(job("j", precision=Precision.FP16), 0.0)
    s.schedule(0.0)
    why = j.why
    assert why is not None
    assert (why.site, why.accelerator, why.profile) == ("hydro", "A100", "green:carbon=3")
    assert why.runtime_s == pytest.approx(2 * HOUR)
    assert why.energy_kwh == pytest.approx(0.4 * 1.3 * 2)  # 400 W x PUE 1.3 x 2 h
    assert why.carbon_kg == pytest.approx(why.energy_kwh * 0.05 * 0.9)
    assert set(why.terms) == {"time", "energy", "carbon", "cost"}
    assert why.score == pytest.approx(sum(why.terms.values()))
    assert why.alternatives[0][0] == "coal/h100" and why.alternatives[0][1] > why.score
    data = why.to_dict()
    assert data["site"] == "hydro" and data["alternatives"][0]["where"] == "coal/h100"
    started = [e for e in s.events or [] if e.kind is EventKind.STARTED]
    assert "score" in started[0].detail and "next best coal/h100" in started[0].detail
    # the service records events: its default placer explains itself too
    s2 = scheduler(net, "backfill", record_events=True)
    j2 = s2.submit(job("j", precision=Precision.FP16), 0.0)
    s2.schedule(0.0)
    assert j2.why is not None and j2.why.site == "coal" and j2.why.profile == "fastest"


# ------------------------------------------------------------------ data locality


def data_network(bandwidth_gbps: float = 10.0) -> Network:
    return network(
        site("home", pool("A100")),
        site("far", pool("H100")),
        links=({"a": "home", "b": "far", "bandwidth_gbps": bandwidth_gbps, "latency_ms": 10},),
    )


def test_staging_time_is_charged_and_the_staging_state_is_visible() -> None:
    spec = job("j", dataset_site="home", dataset_gb=100.0, accelerator_types=frozenset({"H100"}))
    s = scheduler(data_network(), "fifo", stage_data=True)
    j = s.submit(spec, 0.0)
    s.schedule(0.0)
    assert j.state is JobState.STAGING and site_of(s, j) == "far"
    assert j.expected_end == pytest.approx(80.01 + 2 * HOUR * 312 / 989.5)
    assert s.links.active == [1]
    s.staged("j", 80.01)
    assert j.state is JobState.RUNNING and j.staged_s == pytest.approx(80.01)
    assert s.links.active == [0]
    # in the simulator: 100 GB over 10 Gbit/s is 80 s, plus 10 ms latency, before the run
    run = Simulation(data_network(), CATALOG, make_policy("fifo"), [spec]).run()
    assert run.staged_jobs == 1
    assert run.avg_staging_s == pytest.approx(80.01)
    assert run.avg_jct_s == pytest.approx(80.01 + 2 * HOUR * 312 / 989.5)
    assert run.moved_gb == pytest.approx(100.0)


def test_concurrent_transfers_share_the_link() -> None:
    specs = [
        job(f"j{i}", dataset_site="home", dataset_gb=100.0, accelerator_types=frozenset({"H100"}))
        for i in range(2)
    ]
    run = Simulation(data_network(), CATALOG, make_policy("fifo"), specs).run()
    assert run.staged_jobs == 2
    assert run.avg_staging_s == pytest.approx(160.01)  # each at 5 Gbit/s


def test_local_data_wins_when_staging_outweighs_the_faster_chip() -> None:
    """On a 1 Gbit/s link, 1 TB takes 8,000 s: the 2 h job is done sooner at home on the
    A100 than on the far H100. A small dataset makes the H100 worth it."""
    for gb, fast_site in ((1000.0, "home"), (1.0, "far")):
        s = scheduler(data_network(bandwidth_gbps=1.0), "fifo+fast")
        j = s.submit(job("j", precision=Precision.FP16, dataset_site="home", dataset_gb=gb), 0.0)
        s.schedule(0.0)
        assert site_of(s, j) == fast_site, gb
    s = scheduler(data_network(bandwidth_gbps=1.0), "fifo")  # the fastest chip regardless
    j = s.submit(job("j", precision=Precision.FP16, dataset_site="home", dataset_gb=1000.0), 0.0)
    s.schedule(0.0)
    assert site_of(s, j) == "far"


def test_data_that_cannot_reach_a_site_keeps_the_job_off_it() -> None:
    net = network(site("home", pool("A100")), site("island", pool("H100")))  # no link
    s = scheduler(net, "fifo")
    j = s.submit(
        job("j", dataset_site="home", dataset_gb=10.0, accelerator_types=frozenset({"H100"})), 0.0
    )
    assert s.pending_reason(j) is PendingReason.NO_MATCHING_ACCELERATOR


# ------------------------------------------------------------------ power caps


def test_a_site_at_its_power_cap_takes_no_more_work() -> None:
    """8 A100s at 400 W and PUE 1.25 draw 4 kW; the 5 kW cap leaves room for two more."""
    net = network(site("s", pool("A100", nodes=2), pue=1.25, power_cap_kw=5.0))
    s = scheduler(net, "fifo")
    big = s.submit(job("big", gpus=8), 0.0)
    small = [s.submit(job(f"small{i}", gpus=1), 0.0) for i in range(3)]
    s.schedule(0.0)
    assert big.state is JobState.RUNNING
    assert [j.state for j in small] == [JobState.RUNNING, JobState.RUNNING, JobState.PENDING]
    assert s.cluster.free_milli == 6 * 1000  # devices are free, power is not
    s.cluster.check_invariants()
    s.finish("big", 10.0)
    s.schedule(10.0)
    assert small[2].state is JobState.RUNNING
    s.cluster.check_invariants()
    too_big = s.submit(job("too-big", gpus=16), 10.0)
    assert s.pending_reason(too_big) is PendingReason.EXCEEDS_CAPACITY


# ------------------------------------------------------------------ the registry


def test_profiles_are_plugins_with_inline_weights() -> None:
    p = make_policy("sjf+backfill+green:carbon=8,max_defer_h=6")
    assert p.name == "sjf+backfill+green:carbon=8,max_defer_h=6"
    assert p.backfill and p.placer.scores
    assert isinstance(p.placer, ProfilePlacer)
    weights = p.placer.weights
    assert weights == Weights(carbon=8.0, shift=True, max_defer_s=6 * HOUR, max_wait_s=2 * HOUR)
    assert p.shifter is not None
    assert make_policy("fast").shifter is None
    # how long a job may wait for a busy pool: 2 h for green, cheap, balanced; fast never
    waits = {
        name: weights_of(name).max_wait_s
        for name in ("green", "cheap", "balanced", "fast", "score", "green:max_wait=600")
    }
    assert waits == {
        "green": 2 * HOUR,
        "cheap": 2 * HOUR,
        "balanced": 2 * HOUR,
        "fast": 0.0,
        "score": 0.0,
        "green:max_wait=600": 600.0,
    }
    assert weights_of("score:max_wait_h=1.5").max_wait_s == 1.5 * HOUR
    assert not make_policy("fast").placer.waits and make_policy("green").placer.waits
    assert not make_policy("fifo").placer.scores
    custom = make_policy("drf+mine", {"mine": Weights(cost=2.0)})
    assert isinstance(custom.placer, ProfilePlacer) and custom.placer.weights.cost == 2.0
    with pytest.raises(UnknownNameError) as info:
        make_policy("fifo+greener")
    assert "green" in info.value.valid and "fast" in info.value.valid
    for bad in (
        "fifo+green:colour=blue",
        "fifo+green:carbon=x",
        "fifo:x=1",
        "green+fast",
        "fifo+green:carbon",
        "fifo+green:max_wait=-1",
        "fifo+green:max_wait=inf",
        "fifo+green:max_wait_h=x",
    ):
        with pytest.raises(DomainError):
            make_policy(bad)


def weights_of(profile: str) -> Weights:
    placer = make_policy(profile).placer
    assert isinstance(placer, ProfilePlacer)
    return placer.weights


# ------------------------------------------------------------------ waiting for a busy site


def two_sites() -> Network:
    """The same A100 node at a site powered by hydro (no carbon) and at a coal-heavy one:
    for `green` (carbon 1) the dirty site scores 3.0 (time 1, carbon 2: twice the network's
    mean intensity), the green one 1.0, plus the wait over the job's own length."""
    return network(
        site("hydro", pool("A100"), energy=energy(0.9, 1.0, 0.5)),
        site("coal", pool("A100"), energy=energy(0.9, 0.0, 0.5)),
    )


def busy_hydro(policy: str, busy_gpus: int = 8, **spec: Any) -> tuple[Scheduler, JobRecord]:
    """`hot` holds `busy_gpus` of the hydro node for ten minutes; then `train` (8 GPUs,
    2 h) arrives: it fits now only at the coal site."""
    s = scheduler(two_sites(), policy)
    hot = s.submit(job("hot", gpus=busy_gpus, hours=10 / 60), 0.0)
    s.schedule(0.0)
    assert site_of(s, hot) == "hydro"
    train = s.submit(job("train", gpus=8, **spec), 0.0)
    return s, train


@pytest.mark.parametrize(
    ("policy", "spec", "look_again"),
    [
        ("fifo+green", {}, 2 * HOUR),  # the default limit
        ("sjf+backfill+green", {}, 2 * HOUR),
        ("fifo+green:max_wait=600", {}, 600.0),  # exactly long enough
        ("fifo+cheap:cost=0,carbon=1", {}, 2 * HOUR),
        # the latest start that meets the deadline: 3 h - 2 h
        ("fifo+green", {"deferrable": True, "deadline_s": 3 * HOUR}, HOUR),
        ("fifo+score:carbon=1,max_wait=3600", {}, HOUR),
    ],
)
def test_a_job_waits_for_a_busy_green_site_that_frees_in_ten_minutes(
    policy: str, spec: dict[str, Any], look_again: float
) -> None:
    s, train = busy_hydro(policy, **spec)
    result = s.schedule(0.0)
    assert result.started == []  # not on the coal site
    assert s.pending_reason(train) is PendingReason.WAITING_FOR_SITE
    assert train.waiting_for is not None and s.cluster.pools[train.waiting_for].site == "hydro"
    assert result.wakeup_at == pytest.approx(look_again)
    s.finish("hot", 600.0)
    assert [j.id for j in s.schedule(600.0).started] == ["train"]
    assert site_of(s, train) == "hydro"
    why = train.why
    assert why is not None
    assert why.waited_for == "hydro/a100" and why.wait_s == pytest.approx(600.0)
    assert why.to_dict()["waited_for"] == "hydro/a100"
    assert "waited 0.17 h for hydro/a100" in why.summary()
    assert train.site_wait_s == pytest.approx(600.0)


@pytest.mark.parametrize(
    ("policy", "spec"),
    [
        ("fifo+green:max_wait=599", {}),  # the wait is longer than allowed
        ("fifo+green", {"deferrable": True, "deadline_s": 2 * HOUR + 300}),  # would be late
        ("fifo+green:max_wait=0", {}),
        ("fifo+fast", {}),  # fast never waits
        ("fifo+fast:carbon=1", {}),
        ("fifo+score:carbon=1", {}),  # score: no wait unless asked
        ("fifo", {}),  # no profile
        ("backfill", {}),
    ],
)
def test_a_job_starts_at_once_when_it_may_not_wait_that_long(
    policy: str, spec: dict[str, Any]
) -> None:
    s, train = busy_hydro(policy, **spec)
    assert [j.id for j in s.schedule(0.0).started] == ["train"]
    assert site_of(s, train) == "coal"
    assert train.site_wait_s == 0.0 and train.waited_for is None
    if train.why is not None:
        assert train.why.waited_for is None and train.why.wait_s == 0.0


def test_a_job_does_not_wait_for_a_site_that_is_not_better() -> None:
    """Swap the sites' power: the busy site is the coal one; nothing is worth waiting for."""
    net = network(
        site("coal", pool("A100"), energy=energy(0.9, 0.0, 0.5)),
        site("hydro", pool("A100"), energy=energy(0.9, 1.0, 0.5)),
    )
    s = scheduler(net, "fifo+fast")  # puts `hot` on the first site, the coal one
    s.submit(job("hot", gpus=8, hours=10 / 60), 0.0)
    s.schedule(0.0)
    s.policy = make_policy("fifo+green")
    train = s.submit(job("train", gpus=8), 0.0)
    assert [j.id for j in s.schedule(0.0).started] == ["train"]
    assert site_of(s, train) == "hydro" and train.waited_for is None


def test_a_job_stops_waiting_when_its_limit_is_reached() -> None:
    """The busy site's job runs past its estimate: at the wait limit the job goes to the
    site where it fits, without any job ending."""
    s, train = busy_hydro("fifo+green:max_wait=1200")
    result = s.schedule(0.0)
    assert result.started == [] and result.wakeup_at == pytest.approx(1200.0)
    assert s.schedule(600.0, full=True).started == []  # `hot` overruns: still waits
    assert [j.id for j in s.schedule(1200.0).started] == ["train"]  # the limit
    assert site_of(s, train) == "coal"
    assert train.site_wait_s == pytest.approx(1200.0)
    assert train.why is not None and train.why.waited_for == "hydro/a100"


def test_the_held_site_lets_small_jobs_backfill_without_delaying_the_waiting_job() -> None:
    """`hot` holds half the hydro node for ten minutes; `train` needs all of it and waits.
    A one-GPU job that ends before then runs there; one that would still hold a device
    when `train` is due goes to the coal site instead."""
    s, train = busy_hydro("fifo+green", busy_gpus=4)
    assert s.schedule(0.0).started == []
    held = train.waiting_for
    assert held is not None
    short = s.submit(job("short", gpus=1, hours=5 / 60, at=60.0), 60.0)
    long = s.submit(job("long", gpus=1, hours=1.0, at=60.0), 60.0)
    started = s.schedule(60.0).started
    assert {j.id for j in started} == {"short", "long"}
    assert site_of(s, short) == "hydro"  # ends at 360 s, before `train` is due
    assert site_of(s, long) == "coal"  # would delay `train`
    assert s.pending_reason(train) is PendingReason.WAITING_FOR_SITE
    s.finish("short", 360.0)
    s.schedule(360.0)
    # `hot` still runs; `long` took a coal GPU, so `train` fits nowhere now: it waits in
    # the queue like any job (no longer by choice)
    assert train.state is JobState.PENDING and train.waiting_for is None
    assert s.pending_reason(train) is PendingReason.WAITING_FOR_RESOURCES
    s.finish("hot", 600.0)
    assert [j.id for j in s.schedule(600.0).started] == ["train"]
    assert site_of(s, train) == "hydro" and train.site_wait_s == pytest.approx(360.0)
    s.cluster.check_invariants()


def test_a_second_job_does_not_wait_for_a_site_already_held() -> None:
    s, train = busy_hydro("fifo+green")
    other = s.submit(job("other", gpus=8), 0.0)
    started = s.schedule(0.0).started
    assert [j.id for j in started] == ["other"]
    assert site_of(s, other) == "coal"
    assert s.pending_reason(train) is PendingReason.WAITING_FOR_SITE


def test_a_cancelled_waiting_job_gives_its_site_back() -> None:
    s, train = busy_hydro("fifo+green", busy_gpus=4)
    s.schedule(0.0)
    assert train.waiting_for is not None
    s.cancel("train", 30.0)
    long = s.submit(job("long", gpus=1, hours=1.0, at=60.0), 60.0)
    s.schedule(60.0)
    assert site_of(s, long) == "hydro"  # nothing held there any more


def test_the_simulator_waits_for_the_green_site_and_fast_does_not() -> None:
    jobs = [job("hot", gpus=8, hours=10 / 60), job("train", gpus=8, at=1.0)]
    runs = {
        policy: Simulation(two_sites(), CATALOG, make_policy(policy), jobs, calendar=SIX_AM).run()
        for policy in ("fifo+green", "fifo+fast", "fifo+green:max_wait=300")
    }
    green = runs["fifo+green"]
    assert green.site_waits == 1 and green.avg_site_wait_s == pytest.approx(599.0)
    assert green.carbon_kg == pytest.approx(0.0)  # both ran on hydro power
    assert green.avg_jct_s == pytest.approx((600.0 + 599.0 + 2 * HOUR) / 2)
    for policy in ("fifo+fast", "fifo+green:max_wait=300"):
        r = runs[policy]
        assert r.site_waits == 0, policy
        assert r.carbon_kg is not None and r.carbon_kg > 0  # `train` on coal
        assert r.avg_jct_s == pytest.approx((600.0 + 2 * HOUR) / 2)
    assert green.summary()["site_waits"] == 1


@pytest.mark.parametrize("profile", ["green:carbon=3", "cheap", "balanced", "fast"])
def test_the_floor_under_a_busy_pool_is_below_its_score_at_any_start_in_the_window(
    profile: str,
) -> None:
    """`Scorer.floors` lets the placer skip pools: it must never be above the real score
    of a start inside the window (here across the solar site's sunrise and sunset)."""
    net = network(
        site("solar", pool("A100"), energy=energy(0.8, {"hours": day_hours(1.0, 0.0)})),
        site("tou", pool("H100"), energy=energy(0.5, 0.2, {"hours": day_hours(1.2, 0.3, 8, 22)})),
    )
    s = scheduler(net, f"fifo+{profile}")
    j = s.submit(job("j", gpus=8, hours=3.0, precision=Precision.FP16), 0.0)
    weights = weights_of(profile)
    scorer = s.scorer
    latest = 12 * HOUR
    floors = {p: f for f, p in scorer.floors(j, [0, 1], 0.0, latest, weights, below=1e9)}
    assert set(floors) == {0, 1}
    for pool_id, floor in floors.items():
        starts = [k * 600.0 for k in range(int(latest // 600) + 1)]
        scores = [scorer.score(j, pool_id, t, 0.0, weights).score for t in starts]
        assert floor <= min(scores) + 1e-9
    # and pools whose floor is not below the bar are left out
    assert scorer.floors(j, [0, 1], 0.0, latest, weights, below=min(floors.values())) == []
