"""Workload readers: the real Philly trace, Alibaba samples, the synthetic generator."""

import gc
import io
import os
import pickle
from collections import Counter
from pathlib import Path

import pytest

from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import Precision
from computenet.domain.jobs import JobKind, JobSpec
from computenet.simulation.traces import (
    FORMATS,
    TraceFormatError,
    load_workload,
    parse_alibaba_nodes,
    parse_philly,
    parse_trace_arg,
    read_alibaba_nodes,
    read_alibaba_pods,
    read_philly,
    synthetic,
)

pytestmark = pytest.mark.unit

SHARED_DATA = Path(
    os.environ.get("SHARED_DATA", Path(__file__).parents[4] / "../shared/data")
).resolve()
PHILLY = SHARED_DATA / "compute" / "philly_jobs.csv"
FIXTURES = Path(__file__).parents[1] / "fixtures"
PODS = FIXTURES / "alibaba_pods_sample.csv"
NODES = FIXTURES / "alibaba_nodes_sample.csv"

PHILLY_HEADER = "timestamp,duration,num_gpus,gpu_time,cluster\n"
POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time\n"
)
NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_sorted_from_zero(jobs: list[JobSpec]) -> None:
    assert jobs[0].submit_time == 0.0
    keys = [(j.submit_time, j.id) for j in jobs]
    assert keys == sorted(keys)
    assert len({j.id for j in jobs}) == len(jobs)


# ------------------------------------------------------------------------- Philly (real)


@pytest.fixture(scope="module")
def philly() -> list[JobSpec]:
    if not PHILLY.exists():
        pytest.fail(f"shared data not found at {PHILLY} (set SHARED_DATA)")
    return read_philly(PHILLY)


def test_philly_counts_and_sizes(philly: list[JobSpec]) -> None:
    assert len(philly) == 82_247
    sizes = Counter(j.accelerators for j in philly)
    # The data README lists these; the file also holds 7 jobs of 12 and 7 of 24 GPUs.
    readme = {1: 76_627, 2: 1_818, 4: 1_870, 8: 1_643, 16: 199, 32: 67, 64: 6, 128: 3}
    assert {k: sizes[k] for k in readme} == readme
    assert sizes == Counter({**readme, 12: 7, 24: 7})


def test_philly_tenants_times_and_work(philly: list[JobSpec]) -> None:
    assert len({j.tenant for j in philly}) == 15
    assert_sorted_from_zero(philly)
    assert all(j.kind is JobKind.TRAINING and j.estimated_s is None for j in philly)
    assert all(j.precision is Precision.FP32 for j in philly)
    assert all(j.work.reference_accelerator == "V100" for j in philly)
    gpu_hours = sum(j.accelerators * (j.work.reference_s or 0.0) for j in philly) / 3600
    assert gpu_hours == pytest.approx(978_000, rel=0.01)  # README: 978k GPU-hours
    # 2017-09-04 10:30:41 to 2017-12-22 08:02:11
    assert philly[-1].submit_time == pytest.approx(108 * 86400 + 21 * 3600 + 31 * 60 + 30)


def test_philly_ids_are_data_rows(philly: list[JobSpec]) -> None:
    by_id = {j.id: j for j in philly}
    first = by_id["philly-1"]  # 2017-10-09 07:01:55,66.0,1,66.0,11cb48
    assert (first.tenant, first.work.reference_s, first.accelerators) == ("11cb48", 66.0, 1)
    assert "philly-82247" in by_id and "philly-82248" not in by_id


# ------------------------------------------------------------------------ Philly (small)


def test_philly_from_stream_keeps_zero_duration_and_skips_blank_lines() -> None:
    text = (
        PHILLY_HEADER + "2017-10-09 07:01:55,66.0,1,66.0,t1\n"
        "2017-10-09 07:00:55,0.0,8.0,0.0,t2\n"
        "\n"
        "2017-10-09 07:00:55,5,2,10,t1\n"
    )
    jobs = parse_philly(io.StringIO(text), reference_accelerator="A100", precision=Precision.BF16)
    assert [(j.id, j.submit_time, j.accelerators) for j in jobs] == [
        ("philly-2", 0.0, 8),
        ("philly-3", 0.0, 2),
        ("philly-1", 60.0, 1),
    ]
    assert jobs[0].work.reference_s == 0.0
    assert jobs[0].work.reference_accelerator == "A100"
    assert jobs[0].precision is Precision.BF16


def test_philly_header_only_and_bom(tmp_path: Path) -> None:
    assert read_philly(write(tmp_path, "h.csv", PHILLY_HEADER)) == []
    path = tmp_path / "bom.csv"
    path.write_text(PHILLY_HEADER + "2017-10-09 07:01:55,1,1,1,t\n", encoding="utf-8-sig")
    assert len(read_philly(path)) == 1


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("2017-10-09 07:01:55,66.0,x,66.0,t", "num_gpus", "expected a whole number, got 'x'"),
        ("2017-10-09 07:01:55,66.0,1.5,66.0,t", "num_gpus", "expected a whole number"),
        ("2017-10-09 07:01:55,66.0,0,0,t", "num_gpus", "at least one GPU"),
        ("2017-10-09 07:01:55,66.0,-2,0,t", "num_gpus", "at least one GPU"),
        ("2017-10-09 07:01:55,-1,1,0,t", "duration", "expected seconds >= 0"),
        ("2017-10-09 07:01:55,nan,1,0,t", "duration", "expected seconds >= 0"),
        ("2017-10-09 07:01:55,soon,1,0,t", "duration", "got 'soon'"),
        ("09/10/2017,66.0,1,66.0,t", "timestamp", "expected a date-time"),
        ("2017-10-09 07:01:55,66.0,1,66.0,", "cluster", "empty tenant"),
    ],
)
def test_philly_bad_values_name_line_and_field(
    tmp_path: Path, row: str, field: str, reason: str
) -> None:
    good = "2017-10-09 07:01:55,66.0,1,66.0,t\n"
    path = write(tmp_path, "philly_jobs.csv", PHILLY_HEADER + good + good + row + "\n")
    with pytest.raises(TraceFormatError) as info:
        read_philly(path)
    err = info.value
    assert (err.row, err.field, err.path) == (4, field, str(path))
    assert str(err).startswith(f"philly_jobs.csv line 4, field {field!r}: ")
    assert reason in str(err)


def test_philly_error_message_format(tmp_path: Path) -> None:
    lines = [PHILLY_HEADER] + ["2017-10-09 07:01:55,66.0,1,66.0,t\n"] * 15
    lines.append("2017-10-09 07:01:55,66.0,x,66.0,t\n")
    with pytest.raises(TraceFormatError) as info:
        read_philly(write(tmp_path, "philly_jobs.csv", "".join(lines)))
    assert str(info.value) == (
        "philly_jobs.csv line 17, field 'num_gpus': expected a whole number, got 'x'"
    )


def test_philly_wrong_width_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match=r"t\.csv line 2: expected 5 fields, got 3"):
        read_philly(write(tmp_path, "t.csv", PHILLY_HEADER + "2017-10-09 07:01:55,1,1\n"))
    with pytest.raises(TraceFormatError, match="empty file") as info:
        read_philly(write(tmp_path, "e.csv", ""))
    assert info.value.row is None


def test_alibaba_file_given_as_philly_is_a_clear_error() -> None:
    with pytest.raises(TraceFormatError) as info:
        read_philly(PODS)
    err = info.value
    assert (err.row, err.field) == (1, "timestamp")
    assert "missing column(s) 'timestamp', 'duration', 'num_gpus', 'cluster'" in str(err)
    assert "looks like an alibaba-pods file" in str(err)
    assert not isinstance(err, KeyError)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "timestamp,duration,gpu_time,cluster\n")
    with pytest.raises(TraceFormatError, match=r"missing column.*'num_gpus'") as info:
        read_philly(path)
    assert info.value.field == "num_gpus"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(PHILLY_HEADER.encode() + b"\xff\xfe\x00garbage\n")
    with pytest.raises(TraceFormatError, match="not a UTF-8 text file"):
        read_philly(path)


def test_error_pickles_and_gc_is_restored(tmp_path: Path) -> None:
    assert gc.isenabled()
    with pytest.raises(TraceFormatError) as info:
        read_philly(write(tmp_path, "x.csv", PHILLY_HEADER + "bad,1,1,1,t\n"))
    assert gc.isenabled()
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.row, copy.field) == (str(info.value), 2, "timestamp")


# ------------------------------------------------------------------------ Alibaba pods


@pytest.fixture(scope="module")
def pods() -> dict[str, JobSpec]:
    jobs = read_alibaba_pods(PODS)
    assert_sorted_from_zero(jobs)
    return {j.id: j for j in jobs}


def test_pods_parse_all_rows(pods: dict[str, JobSpec]) -> None:
    assert len(pods) == 14
    assert {j.tenant for j in pods.values()} == {"LS", "Burstable", "BE"}
    assert all(j.labels["qos"] == j.tenant for j in pods.values())
    first = pods["sample-pod-0001"]
    assert first.submit_time == 0.0
    assert first.work.reference_s == 12_902_960 - 1000
    assert (first.cpu_milli, first.memory_mib) == (12_000, 16_384)


def test_pods_fractional_and_whole(pods: dict[str, JobSpec]) -> None:
    frac = pods["sample-pod-0002"]
    assert (frac.accelerators, frac.accelerator_milli, frac.device_milli) == (1, 460, 460)
    assert pods["sample-pod-0014"].accelerator_milli == 250
    multi = pods["sample-pod-0003"]
    assert (multi.accelerators, multi.accelerator_milli) == (8, 1000)
    zero_milli = pods["sample-pod-0013"]  # num_gpu 8, gpu_milli 0: whole GPUs
    assert (zero_milli.accelerators, zero_milli.accelerator_milli) == (8, 1000)


def test_pods_cpu_only_types_and_qos(pods: dict[str, JobSpec]) -> None:
    cpu = pods["sample-pod-0005"]
    assert (cpu.accelerators, cpu.cpu_milli) == (0, 32_000)
    assert pods["sample-pod-0004"].accelerator_types == frozenset({"V100M16", "V100M32"})
    assert pods["sample-pod-0009"].accelerator_types == frozenset({"T4"})
    assert pods["sample-pod-0001"].accelerator_types == frozenset()
    be, ls, burst = pods["sample-pod-0007"], pods["sample-pod-0001"], pods["sample-pod-0003"]
    assert be.preemptible and not ls.preemptible and not burst.preemptible
    assert be.priority < burst.priority < ls.priority
    assert ls.kind is JobKind.INFERENCE and burst.kind is JobKind.TRAINING


def test_pods_durations(pods: dict[str, JobSpec]) -> None:
    assert pods["sample-pod-0003"].work.reference_s == 86_400 - 2_600  # from scheduling
    assert pods["sample-pod-0006"].work.reference_s == 600  # never scheduled: from creation
    assert pods["sample-pod-0012"].work.reference_s == 3_000  # scheduled_time 0: creation
    unknown = pods["sample-pod-0008"]  # no deletion_time
    assert unknown.work.reference_s == 0.0
    assert unknown.labels["duration_known"] == "false"
    assert "duration_known" not in pods["sample-pod-0001"].labels
    assert pods["sample-pod-0006"].labels["pod_phase"] == "Pending"


def test_pods_ties_sorted_by_id(pods: dict[str, JobSpec]) -> None:
    order = [j.id for j in sorted(pods.values(), key=lambda j: (j.submit_time, j.id))]
    assert order.index("sample-pod-0003") + 1 == order.index("sample-pod-0004")
    assert pods["sample-pod-0003"].submit_time == pods["sample-pod-0004"].submit_time == 1000.0


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("p,1000,10,2,500,,LS,Running,0,10,0", "gpu_milli", "needs exactly one GPU"),
        ("p,1000,10,1,1500,,LS,Running,0,10,0", "gpu_milli", "needs exactly one GPU"),
        ("p,0,10,0,0,,LS,Running,0,10,0", "cpu_milli", "CPU-only pod"),
        ("p,1000,10,0,300,,LS,Running,0,10,0", "gpu_milli", "num_gpu 0"),
        ("p,abc,10,1,1000,,LS,Running,0,10,0", "cpu_milli", "expected a whole number"),
        ("p,1000,10,-1,1000,,LS,Running,0,10,0", "num_gpu", "expected >= 0"),
        ("p,1000,10,1,1000,,,Running,0,10,0", "qos", "empty QoS"),
        ("p,1000,10,1,1000,,LS,Running,,10,0", "creation_time", "expected seconds"),
        ("p,1000,10,1,1000,,LS,Running,0,10,later", "scheduled_time", "got 'later'"),
        ("p,1000,10,1,1000,,LS,Running,0,5,8", "deletion_time", "before the pod started"),
        ("ok,1000,10,1,1000,,LS,Running,0,10,0", "name", "duplicate pod name"),
        (",1000,10,1,1000,,LS,Running,0,10,0", "name", "empty pod name"),
    ],
)
def test_pods_bad_rows(tmp_path: Path, row: str, field: str, reason: str) -> None:
    path = write(tmp_path, "pods.csv", POD_HEADER + "ok,1000,10,1,1000,,LS,Running,0,10,0\n" + row)
    with pytest.raises(TraceFormatError) as info:
        read_alibaba_pods(path)
    assert (info.value.row, info.value.field) == (3, field)
    assert str(info.value).startswith(f"pods.csv line 3, field {field!r}: ")
    assert reason in str(info.value)


def test_wrong_files_for_pods_and_nodes() -> None:
    with pytest.raises(TraceFormatError, match="looks like an alibaba-nodes file"):
        read_alibaba_pods(NODES)
    with pytest.raises(TraceFormatError, match=r"missing column.*'sn'"):
        read_alibaba_nodes(PODS)


# ----------------------------------------------------------------------- Alibaba nodes


def test_nodes_grouped_into_pools() -> None:
    network = read_alibaba_nodes(NODES, site="openb")
    (site,) = network.sites
    assert (network.name, site.name) == ("openb", "openb")
    pools = {p.name: p for p in site.pools}
    assert {name: p.nodes for name, p in pools.items()} == {
        "A10-1x-128c": 1,
        "CPU-0x-32c": 1,
        "CPU-0x-96c": 2,
        "G2-8x-96c-384g": 1,  # same model/GPUs/cores as the next: memory tells them apart
        "G2-8x-96c-768g": 3,
        "P100-2x-64c": 1,
        "T4-2x-64c": 1,
        "V100M16-4x-32c": 2,
        "V100M32-8x-96c": 1,
    }
    assert sum(p.nodes for p in site.pools) == 13
    assert network.accelerators == 8 * 5 + 4 * 2 + 2 + 2 + 1
    g2 = pools["G2-8x-96c-768g"].shape
    assert (g2.accelerator, g2.accelerators, g2.cpus, g2.memory_gib) == ("G2", 8, 96, 768)
    assert pools["CPU-0x-96c"].shape.accelerator == "CPU"


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("n2,96000,1024,8,", "model", "empty GPU model"),
        ("n2,96000,1024,two,G2", "gpu", "expected a whole number"),
        ("n2,96000,-1,0,", "memory_mib", "expected >= 0"),
        ("n1,96000,1024,0,", "sn", "duplicate node"),
    ],
)
def test_nodes_bad_rows(tmp_path: Path, row: str, field: str, reason: str) -> None:
    path = write(tmp_path, "nodes.csv", NODE_HEADER + "n1,96000,1024,0,\n" + row + "\n")
    with pytest.raises(TraceFormatError) as info:
        read_alibaba_nodes(path)
    assert (info.value.row, info.value.field) == (3, field)
    assert reason in str(info.value)


def test_nodes_without_rows() -> None:
    with pytest.raises(TraceFormatError, match="no nodes"):
        parse_alibaba_nodes(io.StringIO(NODE_HEADER))


# --------------------------------------------------------------------------- synthetic


def offered_load(jobs: list[JobSpec], capacity: int) -> float:
    work = sum(j.device_milli / 1000 * (j.work.reference_s or 0.0) for j in jobs)
    return work / (capacity * jobs[-1].submit_time)


def test_synthetic_deterministic() -> None:
    a = synthetic(jobs=500, seed=3, fractional_share=0.2)
    assert a == synthetic(jobs=500, seed=3, fractional_share=0.2)
    assert a != synthetic(jobs=500, seed=4, fractional_share=0.2)
    assert_sorted_from_zero(a)
    assert all(j.labels["synthetic"] == "true" for j in a)


@pytest.mark.parametrize(("load", "capacity"), [(0.8, 256), (0.5, 64), (1.2, 1024)])
def test_synthetic_offered_load(load: float, capacity: int) -> None:
    jobs = synthetic(jobs=5_000, load=load, capacity=capacity, seed=1)
    assert offered_load(jobs, capacity) == pytest.approx(load, rel=0.2)


def test_synthetic_tenants_and_sizes() -> None:
    jobs = synthetic(jobs=5_000, tenants=8, seed=2)
    counts = Counter(j.tenant for j in jobs)
    assert set(counts) == {f"tenant-{i}" for i in range(8)}
    assert counts["tenant-0"] > 3 * counts["tenant-7"]  # skewed activity
    sizes = Counter(j.accelerators for j in jobs)
    assert sizes[1] > 0.75 * len(jobs)
    assert {2, 4, 8} <= set(sizes)
    assert max(sizes) <= 64
    durations = sorted(j.work.reference_s or 0.0 for j in jobs)
    assert durations[-1] > 10 * durations[len(durations) // 2]  # heavy tail
    assert durations[-1] <= 50 * 3600.0


def test_synthetic_every_tenant_even_with_few_jobs() -> None:
    assert len({j.tenant for j in synthetic(jobs=8, tenants=8)}) == 8


def test_synthetic_fractional_share() -> None:
    jobs = synthetic(jobs=2_000, fractional_share=0.3, seed=5)
    frac = [j for j in jobs if j.accelerator_milli < 1000]
    assert 0.25 * len(jobs) < len(frac) < 0.35 * len(jobs)
    assert {j.accelerator_milli for j in frac} == {250, 500}
    assert all(j.accelerators == 1 and j.kind is JobKind.INFERENCE for j in frac)
    assert not any(j.accelerator_milli < 1000 for j in synthetic(jobs=500))


def test_synthetic_sizes_respect_capacity() -> None:
    jobs = synthetic(jobs=1_000, capacity=8, sizes={1: 1.0, 8: 1.0, 64: 5.0})
    assert {j.accelerators for j in jobs} == {1, 8}
    with pytest.raises(DomainError, match="sizes"):
        synthetic(capacity=8, sizes={64: 1.0})
    with pytest.raises(DomainError, match="whole GPU counts"):
        synthetic(sizes={0: 1.0})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jobs": 0}, "jobs must be >= 1"),
        ({"tenants": 0}, "tenants must be >= 1"),
        ({"load": 0.0}, "load must be > 0"),
        ({"capacity": 0}, "capacity must be >= 1"),
        ({"mean_duration_s": -1.0}, "mean_duration_s must be > 0"),
        ({"fractional_share": 1.5}, "fractional_share must be in"),
    ],
)
def test_synthetic_rejects_bad_parameters(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        synthetic(**kwargs)  # type: ignore[arg-type]


def test_synthetic_single_job() -> None:
    (job,) = synthetic(jobs=1)
    assert job.submit_time == 0.0


# ------------------------------------------------------------------------ CLI values


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("philly:/data/philly.csv", ("philly", "/data/philly.csv", {})),
        ("alibaba-pods:pods.csv", ("alibaba-pods", "pods.csv", {})),
        ("philly:C:/odd:name.csv", ("philly", "C:/odd:name.csv", {})),
        (
            "synthetic:jobs=10000,tenants=8,load=0.9",
            ("synthetic", "", {"jobs": "10000", "tenants": "8", "load": "0.9"}),
        ),
        ("synthetic:", ("synthetic", "", {})),
        ("synthetic", ("synthetic", "", {})),
        ("synthetic: jobs = 5 ,", ("synthetic", "", {"jobs": "5"})),
    ],
)
def test_parse_trace_arg(arg: str, expected: tuple[str, str, dict[str, str]]) -> None:
    assert parse_trace_arg(arg) == expected


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("philly", "give a file"),
        ("philly:", "give a file"),
        ("synthetic:jobs", "'jobs' is not NAME=VALUE"),
        ("synthetic:=5", "is not NAME=VALUE"),
        ("synthetic:jobs=1,jobs=2", "'jobs' given twice"),
    ],
)
def test_parse_trace_arg_errors(arg: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        parse_trace_arg(arg)


def test_unknown_format_lists_valid_ones() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_workload("google:trace.csv")
    assert info.value.valid == sorted(FORMATS)
    assert "unknown trace format 'google'; valid: alibaba-pods, philly, synthetic" in str(
        info.value
    )


def test_load_workload_dispatch() -> None:
    jobs = load_workload("synthetic:jobs=50,tenants=3,load=0.5,seed=7,sizes=1:0.5/4:0.5")
    assert jobs == synthetic(jobs=50, tenants=3, load=0.5, seed=7, sizes={1: 0.5, 4: 0.5})
    assert len(load_workload("synthetic:")) == 1000
    assert load_workload(f"alibaba-pods:{PODS}") == read_alibaba_pods(PODS)
    with pytest.raises(FileNotFoundError):
        load_workload("philly:/nonexistent/philly.csv")


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("synthetic:job=5", "unknown parameter 'job'; valid: jobs, tenants, load"),
        ("synthetic:jobs=many", "parameter 'jobs' must be a whole number, got 'many'"),
        ("synthetic:load=high", "parameter 'load' must be a number"),
        ("synthetic:sizes=1-0.5", "parameter 'sizes' must be GPUS:WEIGHT pairs"),
        ("synthetic:jobs=0", "jobs must be >= 1"),
    ],
)
def test_load_workload_synthetic_param_errors(arg: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        load_workload(arg)
