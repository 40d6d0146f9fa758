"""Workload readers: trace files (and a synthetic generator) turned into `JobSpec` lists.

Every reader returns jobs sorted by (submit_time, id), with submit_time in seconds after
the first arrival, so the first job arrives at 0.0. The `parse_*` functions work on any
iterable of text lines (an open file, a `StringIO`, a list); the `read_*` functions are
thin wrappers that open a path. Bad input raises `TraceFormatError` naming the file, the
physical line (header = line 1) and the field, never a bare KeyError or ValueError.

Formats:
    philly        Microsoft Philly jobs as released with the Pollux/Sia artifacts:
                  timestamp,duration,num_gpus,gpu_time,cluster
    alibaba-pods  Alibaba cluster-trace-gpu-v2023 ("openb") pod list
    synthetic     Poisson arrivals with a Philly-like mix, see `synthetic`
"""

import csv
import functools
import gc
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from computenet.domain.errors import DomainError, UnknownNameError
from computenet.domain.hardware import Precision
from computenet.domain.jobs import MILLI, JobKind, JobSpec, Work
from computenet.domain.network import Network, NodePool, NodeShape, Site

if TYPE_CHECKING:
    from _csv import Reader as CsvReader  # csv.reader's type, only public in the stubs

__all__ = [
    "DEFAULT_SIZES",
    "FORMATS",
    "TraceFormatError",
    "load_workload",
    "parse_alibaba_nodes",
    "parse_alibaba_pods",
    "parse_philly",
    "parse_trace_arg",
    "read_alibaba_nodes",
    "read_alibaba_pods",
    "read_philly",
    "synthetic",
]

FORMATS = ("alibaba-pods", "philly", "synthetic")

# Columns each format needs; extra columns are ignored. Also used to tell the user which
# format a mismatching header looks like.
_PHILLY_COLUMNS = ("timestamp", "duration", "num_gpus", "cluster")
_POD_COLUMNS = (
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
_NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
_KNOWN_HEADERS = {
    "philly": _PHILLY_COLUMNS,
    "alibaba-pods": _POD_COLUMNS,
    "alibaba-nodes": _NODE_COLUMNS,
}


class TraceFormatError(DomainError):
    """A trace file that does not parse: names the file, the line and the field.

    `row` is the physical line number in the file (the header is line 1), so an editor's
    "go to line" lands on it; None when the problem is not tied to one line.
    """

    def __init__(self, path: str, row: int | None, field: str | None, reason: str) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.reason = reason
        where = Path(path).name or path
        if row is not None:
            where += f" line {row}"
        if field is not None:
            where += f", field {field!r}" if row is not None else f" field {field!r}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(
        self,
    ) -> tuple[type["TraceFormatError"], tuple[str, int | None, str | None, str]]:
        # The default rebuilds from args (the message alone), which __init__ rejects;
        # pickling matters when simulations run in worker processes.
        return type(self), (self.path, self.row, self.field, self.reason)


# --------------------------------------------------------------------------- CSV plumbing


def _source_name(lines: Iterable[str], source: str | None) -> str:
    if source is not None:
        return source
    name = getattr(lines, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _open_table(
    lines: Iterable[str], source: str, fmt: str, required: Sequence[str]
) -> tuple[dict[str, int], int, "CsvReader"]:
    """Read the header and check the required columns.

    Returns (column index, width, csv reader positioned after the header); the reader's
    `line_num` is the physical line of the row it returned last.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise TraceFormatError(source, None, None, f"empty file, expected a {fmt} header")
    columns = [c.strip() for c in header]
    index = {c: i for i, c in enumerate(columns)}
    missing = [c for c in required if c not in index]
    if missing:
        found = ", ".join(columns) or "nothing"
        reason = f"missing column(s) {', '.join(map(repr, missing))} for a {fmt} trace"
        others = [
            other
            for other, cols in _KNOWN_HEADERS.items()
            if other != fmt and all(c in index for c in cols)
        ]
        hint = f" (the header looks like an {others[0]} file)" if others else ""
        raise TraceFormatError(
            source, reader.line_num, missing[0], f"{reason}; header has: {found}{hint}"
        )
    return index, len(columns), reader


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _gc_paused(parse: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `parse` with the cyclic garbage collector paused.

    A big trace allocates hundreds of thousands of acyclic containers (rows, tuples,
    jobs); each allocation burst triggers collector passes over the growing heap that
    find nothing and cost a third of the parse time. Reference counting still frees
    everything; the collector is restored (if it was on) however `parse` ends.
    """

    @functools.wraps(parse)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return parse(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


def _width_error(source: str, line: int, width: int, row: list[str]) -> TraceFormatError:
    return TraceFormatError(source, line, None, f"expected {width} fields, got {len(row)}")


def _rows(reader: "CsvReader", width: int, source: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line, fields) per record. Blank lines are not records (trailing ones are
    common) and are dropped; a row of the wrong width is an error."""
    for row in reader:
        if len(row) != width:
            if not row:
                continue
            raise _width_error(source, reader.line_num, width, row)
        yield reader.line_num, row


def _whole(source: str, line: int, field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if value.is_integer():  # "8.0" from tools that write every number as a float
        return int(value)
    raise TraceFormatError(source, line, field, f"expected a whole number, got {text!r}")


def _unique_id(source: str, line: int, field: str, text: str, seen: set[str], *, what: str) -> str:
    """A non-empty identifier not seen before in this file."""
    value = text.strip()
    if not value:
        raise TraceFormatError(source, line, field, f"empty {what}")
    if value in seen:
        raise TraceFormatError(source, line, field, f"duplicate {what} {value!r}")
    seen.add(value)
    return value


def _seconds(source: str, line: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise TraceFormatError(source, line, field, f"expected seconds, got {text!r}")
    return value


def _sorted_relative(records: list[tuple[float, str, dict[str, Any]]]) -> list[JobSpec]:
    """Build jobs from (absolute time, id, JobSpec keywords), sorted, times from 0."""
    if not records:
        return []
    first = min(r[0] for r in records)
    records.sort(key=lambda r: (r[0], r[1]))
    return [JobSpec(id=i, submit_time=t - first, **kw) for t, i, kw in records]


def _read_path(path: str | Path, parse: Callable[[Iterable[str], str], Any]) -> Any:
    p = Path(path)
    # utf-8-sig: spreadsheet exports often start with a BOM that would glue onto the
    # first column name and make it "missing".
    with p.open(encoding="utf-8-sig", newline="") as stream:
        try:
            return parse(stream, str(p))
        except UnicodeDecodeError as exc:
            raise TraceFormatError(str(p), None, None, f"not a UTF-8 text file ({exc})") from exc


# --------------------------------------------------------------------------------- Philly

_PHILLY_LABELS: Mapping[str, str] = MappingProxyType({"trace": "philly"})


@_gc_paused
def parse_philly(
    lines: Iterable[str],
    source: str | None = None,
    *,
    reference_accelerator: str = "V100",
    precision: Precision = Precision.FP32,
    preemptible: bool = True,
) -> list[JobSpec]:
    """Philly jobs from CSV text (see `read_philly`)."""
    src = _source_name(lines, source)
    index, width, reader = _open_table(lines, src, "philly", _PHILLY_COLUMNS)
    i_ts, i_dur = index["timestamp"], index["duration"]
    i_gpus, i_tenant = index["num_gpus"], index["cluster"]
    # Rows are parsed first and jobs built once, in order, when the first arrival is known.
    records: list[tuple[float, str, str, Work, int]] = []
    # Many jobs share a duration; Work is immutable, so one instance per value is safe
    # and saves a validated construction per row.
    works: dict[float, Work] = {}
    # Timestamps are wall-clock local time without a zone: differences between naive
    # datetimes ignore a daylight-saving change, an error of one hour at most.
    origin = datetime(2017, 1, 1)
    fromiso, inf = datetime.fromisoformat, math.inf
    n = 0
    # The hot loop of the biggest trace: checks are inlined, the helpers and the line
    # number are only touched on the error paths.
    for row in reader:
        if len(row) != width:
            if not row:
                continue
            raise _width_error(src, reader.line_num, width, row)
        n += 1
        ts = row[i_ts]
        try:
            t = (fromiso(ts.strip()) - origin).total_seconds()
        except ValueError:
            raise TraceFormatError(
                src,
                reader.line_num,
                "timestamp",
                f"expected a date-time like 2017-10-09 07:01:55, got {ts!r}",
            ) from None
        try:
            duration = float(row[i_dur])
        except ValueError:
            duration = math.nan
        if not 0.0 <= duration < inf:  # also false for NaN
            raise TraceFormatError(
                src, reader.line_num, "duration", f"expected seconds >= 0, got {row[i_dur]!r}"
            )
        try:
            gpus = int(row[i_gpus])
        except ValueError:
            gpus = _whole(src, reader.line_num, "num_gpus", row[i_gpus])
        if gpus <= 0:
            raise TraceFormatError(
                src,
                reader.line_num,
                "num_gpus",
                f"a GPU trace job needs at least one GPU, got {gpus}",
            )
        tenant = row[i_tenant].strip()
        if not tenant:
            raise TraceFormatError(
                src, reader.line_num, "cluster", "empty tenant (virtual cluster) id"
            )
        work = works.get(duration)
        if work is None:
            work = works[duration] = Work(
                reference_s=duration, reference_accelerator=reference_accelerator
            )
        records.append((t, f"philly-{n}", tenant, work, gpus))
    if not records:
        return []
    first = min(r[0] for r in records)
    records.sort()  # by (time, id): ids are unique, so later fields never compare
    training = JobKind.TRAINING
    # the wall-clock time of the first arrival: scenarios map time 0 to it (energy hours)
    labels = MappingProxyType(
        {**_PHILLY_LABELS, "start": (origin + timedelta(seconds=first)).isoformat()}
    )
    return [
        JobSpec(
            id=job_id,
            tenant=tenant,
            work=work,
            kind=training,
            submit_time=t - first,
            accelerators=gpus,
            precision=precision,
            preemptible=preemptible,
            labels=labels,
        )
        for t, job_id, tenant, work, gpus in records
    ]


def read_philly(
    path: str | Path,
    *,
    reference_accelerator: str = "V100",
    precision: Precision = Precision.FP32,
    preemptible: bool = True,
) -> list[JobSpec]:
    """Microsoft Philly jobs (2017) as training jobs.

    Columns `timestamp,duration,num_gpus,gpu_time,cluster`: the submission wall-clock
    time, run seconds (taken as the work on `reference_accelerator`; Philly ran mostly
    P100/P40 and the common reference is V100), GPUs (a gang), and the virtual cluster,
    which is the tenant. Job ids are `philly-<n>` with n the 1-based data row. No
    estimates are given (estimated_s=None): policies that need one use the work itself.
    Jobs are preemptible by default: deep-learning training checkpoints, the assumption
    Tiresias and its successors make on this trace.
    """
    result: list[JobSpec] = _read_path(
        path,
        lambda s, src: parse_philly(
            s,
            src,
            reference_accelerator=reference_accelerator,
            precision=precision,
            preemptible=preemptible,
        ),
    )
    return result


# -------------------------------------------------------------------------------- Alibaba

# Alibaba's QoS classes, highest priority first. BE (best effort) pods are the ones the
# production scheduler evicts, hence preemptible.
_QOS_PRIORITY = {"LS": 2, "Guaranteed": 1, "Burstable": 0, "BE": -1}


@_gc_paused
def parse_alibaba_pods(
    lines: Iterable[str],
    source: str | None = None,
    *,
    reference_accelerator: str = "V100",
    precision: Precision = Precision.FP16,
) -> list[JobSpec]:
    """Alibaba GPU pods from CSV text (see `read_alibaba_pods`)."""
    src = _source_name(lines, source)
    index, width, reader = _open_table(lines, src, "alibaba-pods", _POD_COLUMNS)
    col = {c: index[c] for c in _POD_COLUMNS}
    phase_col = index.get("pod_phase")
    records: list[tuple[float, str, dict[str, Any]]] = []
    seen: set[str] = set()
    for line, row in _rows(reader, width, src):
        name = _unique_id(src, line, "name", row[col["name"]], seen, what="pod name")
        cpu = _whole(src, line, "cpu_milli", row[col["cpu_milli"]])
        mem = _whole(src, line, "memory_mib", row[col["memory_mib"]])
        for field, value in (("cpu_milli", cpu), ("memory_mib", mem)):
            if value < 0:
                raise TraceFormatError(src, line, field, f"expected >= 0, got {value}")
        gpus = _whole(src, line, "num_gpu", row[col["num_gpu"]])
        gpu_milli = _whole(src, line, "gpu_milli", row[col["gpu_milli"]])
        accelerators, share = _pod_accelerators(src, line, gpus, gpu_milli, cpu)

        qos = row[col["qos"]].strip()
        if not qos:
            raise TraceFormatError(src, line, "qos", "empty QoS class (it names the tenant)")
        created = _seconds(src, line, "creation_time", row[col["creation_time"]])
        deleted_text = row[col["deletion_time"]].strip()
        scheduled_text = row[col["scheduled_time"]].strip()
        # Empty for pods that never ran; 0 in rows that mean "at trace start" or "never".
        scheduled = _seconds(src, line, "scheduled_time", scheduled_text) if scheduled_text else 0.0
        labels = {"trace": "alibaba", "qos": qos}
        if phase_col is not None and row[phase_col].strip():
            labels["pod_phase"] = row[phase_col].strip()
        if deleted_text:
            deleted = _seconds(src, line, "deletion_time", deleted_text)
            start = scheduled if scheduled > 0 else created
            duration = deleted - start
            if duration < 0:
                raise TraceFormatError(
                    src,
                    line,
                    "deletion_time",
                    f"{deleted_text} is before the pod started ({start:g})",
                )
        else:
            duration = 0.0
            labels["duration_known"] = "false"

        types = frozenset(t.strip() for t in row[col["gpu_spec"]].split("|") if t.strip())
        records.append(
            (
                created,
                name,
                {
                    "tenant": qos,
                    "work": Work(reference_s=duration, reference_accelerator=reference_accelerator),
                    # LS pods are the latency-sensitive services; the trace has no job kind.
                    "kind": JobKind.INFERENCE if qos == "LS" else JobKind.TRAINING,
                    "accelerators": accelerators,
                    "accelerator_milli": share,
                    "accelerator_types": types,
                    "precision": precision,
                    "cpu_milli": cpu,
                    "memory_mib": mem,
                    "priority": _QOS_PRIORITY.get(qos, 0),
                    "preemptible": qos == "BE",
                    "labels": labels,
                },
            )
        )
    return _sorted_relative(records)


def _pod_accelerators(
    src: str, line: int, gpus: int, gpu_milli: int, cpu_milli: int
) -> tuple[int, int]:
    """(accelerators, accelerator_milli) for one pod row."""
    if gpus < 0:
        raise TraceFormatError(src, line, "num_gpu", f"expected >= 0, got {gpus}")
    if gpus == 0:
        if gpu_milli != 0:
            raise TraceFormatError(src, line, "gpu_milli", f"{gpu_milli} on a pod with num_gpu 0")
        if cpu_milli <= 0:
            raise TraceFormatError(
                src, line, "cpu_milli", "a CPU-only pod (num_gpu 0) needs cpu_milli > 0"
            )
        return 0, MILLI
    # gpu_milli is per GPU; 0 and the total (gpus * 1000) are also seen for whole GPUs.
    if gpu_milli in (0, MILLI, gpus * MILLI):
        return gpus, MILLI
    if gpus == 1 and 0 < gpu_milli < MILLI:
        return 1, gpu_milli
    raise TraceFormatError(
        src,
        line,
        "gpu_milli",
        f"{gpu_milli} with num_gpu {gpus}: a GPU share (1..999) needs exactly one GPU",
    )


def read_alibaba_pods(
    path: str | Path,
    *,
    reference_accelerator: str = "V100",
    precision: Precision = Precision.FP16,
) -> list[JobSpec]:
    """Pods of the Alibaba cluster-trace-gpu-v2023 ("openb") pod list.

    - `num_gpu` whole GPUs; `gpu_milli` thousandths of one GPU: a pod with num_gpu 1 and
      gpu_milli in 1..999 shares a GPU (accelerator_milli = gpu_milli); gpu_milli 0 or
      1000 means whole GPUs; num_gpu 0 is a CPU-only pod (needs cpu_milli > 0).
    - `gpu_spec`: accepted GPU models separated by `|` (empty = any).
    - `qos` (LS, Burstable, BE, ...): the trace has no user column, so the QoS class is
      the tenant; also labels["qos"]; BE pods are preemptible with the lowest priority,
      LS pods are inference (latency-sensitive services), the rest training.
    - submit_time from `creation_time`; the work is deletion_time minus scheduled_time,
      or minus creation_time when scheduled_time is empty (never scheduled) or 0.
    - A pod without deletion_time has an unknown duration: it is kept, with work 0 s and
      labels["duration_known"] = "false", for packing experiments, which ignore
      durations; time-driven simulations should drop such pods.
    """
    result: list[JobSpec] = _read_path(
        path,
        lambda s, src: parse_alibaba_pods(
            s,
            src,
            reference_accelerator=reference_accelerator,
            precision=precision,
        ),
    )
    return result


@_gc_paused
def parse_alibaba_nodes(
    lines: Iterable[str], source: str | None = None, *, site: str = "alibaba"
) -> Network:
    """An Alibaba node list from CSV text (see `read_alibaba_nodes`)."""
    src = _source_name(lines, source)
    index, width, reader = _open_table(lines, src, "alibaba-nodes", _NODE_COLUMNS)
    col = {c: index[c] for c in _NODE_COLUMNS}
    shapes: Counter[NodeShape] = Counter()
    seen: set[str] = set()
    for line, row in _rows(reader, width, src):
        _unique_id(src, line, "sn", row[col["sn"]], seen, what="node")
        cpu = _whole(src, line, "cpu_milli", row[col["cpu_milli"]])
        mem = _whole(src, line, "memory_mib", row[col["memory_mib"]])
        gpus = _whole(src, line, "gpu", row[col["gpu"]])
        for field, value in (("cpu_milli", cpu), ("memory_mib", mem), ("gpu", gpus)):
            if value < 0:
                raise TraceFormatError(src, line, field, f"expected >= 0, got {value}")
        model = row[col["model"]].strip()
        if gpus == 0:
            model = "CPU"  # CPU nodes leave the model empty
        elif not model:
            raise TraceFormatError(
                src, line, "model", f"empty GPU model on a node with {gpus} GPUs"
            )
        shapes[
            NodeShape(
                accelerator=model, accelerators=gpus, cpus=cpu // 1000, memory_gib=mem // 1024
            )
        ] += 1
    if not shapes:
        raise TraceFormatError(src, None, None, "no nodes")
    return Network(name=site, sites=(Site(name=site, pools=_pools(shapes)),))


def _pools(shapes: Counter[NodeShape]) -> tuple[NodePool, ...]:
    """One pool per distinct node shape, named <model>-<gpus>x-<cpus>c.

    Shapes that differ only in memory would share that name; all of them then get a
    -<memory>g suffix so names stay unique and readable.
    """

    def base(s: NodeShape) -> str:
        return f"{s.accelerator}-{s.accelerators}x-{s.cpus}c"

    clashes = Counter(base(s) for s in shapes)
    pools = [
        NodePool(base(s) if clashes[base(s)] == 1 else f"{base(s)}-{s.memory_gib}g", s, count)
        for s, count in shapes.items()
    ]
    return tuple(sorted(pools, key=lambda p: p.name))


def read_alibaba_nodes(path: str | Path, *, site: str = "alibaba") -> Network:
    """The node list of Alibaba cluster-trace-gpu-v2023 as a one-site Network.

    Columns `sn,cpu_milli,memory_mib,gpu,model`. Nodes with the same (model, GPUs, cores,
    GiB) become one pool, so ~1,500 nodes collapse into a few dozen pools. GPU models are
    the trace's names (G2, V100M16, T4, ...), not checked against a catalog here; nodes
    without GPUs get the model name "CPU".
    """
    result: Network = _read_path(path, lambda s, src: parse_alibaba_nodes(s, src, site=site))
    return result


# ------------------------------------------------------------------------------ synthetic

# GPUs per job, close to Philly's mix (93% one GPU there; fewer here so that short runs
# still see gangs): mostly 1, some 2/4/8, rare 16-64.
DEFAULT_SIZES: Mapping[int, float] = MappingProxyType(
    {1: 0.86, 2: 0.05, 4: 0.045, 8: 0.035, 16: 0.007, 32: 0.0025, 64: 0.0005}
)
_DURATION_SIGMA = 1.5  # lognormal shape: a heavy tail, as in production GPU traces
_DURATION_CAP = 50.0  # longest job, in mean durations; cuts < 0.1% of the draws
_ZIPF_EXPONENT = 1.0  # tenant k submits ~1/(k+1) as much as tenant-0


@_gc_paused
def synthetic(
    *,
    jobs: int = 1000,
    tenants: int = 4,
    load: float = 0.8,
    capacity: int = 256,
    seed: int = 0,
    mean_duration_s: float = 3600.0,
    sizes: Mapping[int, float] = DEFAULT_SIZES,
    fractional_share: float = 0.0,
) -> list[JobSpec]:
    """A synthetic workload with a target offered load on `capacity` GPUs.

    Durations are lognormal (mean `mean_duration_s`, capped at 50x the mean, at least
    1 s); GPU counts are drawn from `sizes` (count -> weight; counts above `capacity`
    are dropped so every job fits); tenants tenant-0..tenant-<n-1> have Zipf-like
    activity and each submits at least one job when jobs >= tenants. A share
    `fractional_share` of the jobs are single-GPU inference jobs using 250 or 500
    thousandths of a GPU. Arrivals are a Poisson process whose window is scaled so that
    sum(GPU-seconds) / (capacity * last arrival) equals `load`. Same seed, same list.
    """
    _check_synthetic(
        jobs=jobs,
        tenants=tenants,
        load=load,
        capacity=capacity,
        mean_duration_s=mean_duration_s,
        fractional_share=fractional_share,
    )
    if any(int(k) != k or k < 1 for k in sizes):
        raise DomainError(f"synthetic: sizes must be whole GPU counts >= 1, got {dict(sizes)}")
    fitting = {int(k): float(w) for k, w in sizes.items() if k <= capacity}
    if any(w < 0 or not math.isfinite(w) for w in fitting.values()) or sum(fitting.values()) <= 0:
        raise DomainError(
            f"synthetic: sizes need positive weights for GPU counts in 1..{capacity}, got "
            f"{dict(sizes)}"
        )
    rng = np.random.default_rng(seed)

    counts = np.array(sorted(fitting), dtype=np.int64)
    weights = np.array([fitting[int(c)] for c in counts])
    gpus = rng.choice(counts, size=jobs, p=weights / weights.sum())

    mu = math.log(mean_duration_s) - _DURATION_SIGMA**2 / 2  # so that E[duration] = mean
    durations = np.clip(
        rng.lognormal(mu, _DURATION_SIGMA, size=jobs), 1.0, _DURATION_CAP * mean_duration_s
    )

    fractional = rng.random(jobs) < fractional_share
    milli = np.where(fractional, rng.choice(np.array([250, 500]), size=jobs), MILLI)
    gpus = np.where(fractional, 1, gpus)

    ranks = np.arange(1, tenants + 1, dtype=float) ** -_ZIPF_EXPONENT
    if jobs >= tenants:  # every tenant present, the rest drawn by activity
        owners = rng.permutation(
            np.concatenate(
                [
                    np.arange(tenants),
                    rng.choice(tenants, size=jobs - tenants, p=ranks / ranks.sum()),
                ]
            )
        )
    else:
        owners = rng.choice(tenants, size=jobs, p=ranks / ranks.sum())

    gpu_seconds = float(np.sum(gpus * (milli / MILLI) * durations))
    span = gpu_seconds / (load * capacity)
    gaps = rng.exponential(1.0, size=jobs)
    gaps[0] = 0.0
    arrivals = np.cumsum(gaps)
    if arrivals[-1] > 0:  # scaling a Poisson process keeps it Poisson: only the rate changes
        arrivals *= span / arrivals[-1]

    width = len(str(jobs - 1))
    labels: Mapping[str, str] = MappingProxyType({"synthetic": "true"})
    out = []
    for i in range(jobs):
        frac = bool(fractional[i])
        out.append(
            JobSpec(
                id=f"syn-{i:0{width}d}",
                tenant=f"tenant-{int(owners[i])}",
                work=Work(reference_s=float(durations[i])),
                kind=JobKind.INFERENCE if frac else JobKind.TRAINING,
                submit_time=float(arrivals[i]),
                accelerators=int(gpus[i]),
                accelerator_milli=int(milli[i]),
                labels=labels,
            )
        )
    return out  # arrivals are non-decreasing and ids zero-padded: already sorted


def _check_synthetic(
    *,
    jobs: int,
    tenants: int,
    load: float,
    capacity: int,
    mean_duration_s: float,
    fractional_share: float,
) -> None:
    problems = [
        (jobs >= 1, f"jobs must be >= 1, got {jobs}"),
        (tenants >= 1, f"tenants must be >= 1, got {tenants}"),
        (load > 0 and math.isfinite(load), f"load must be > 0, got {load}"),
        (capacity >= 1, f"capacity must be >= 1, got {capacity}"),
        (
            mean_duration_s > 0 and math.isfinite(mean_duration_s),
            f"mean_duration_s must be > 0, got {mean_duration_s}",
        ),
        (0 <= fractional_share <= 1, f"fractional_share must be in [0, 1], got {fractional_share}"),
    ]
    for ok, message in problems:
        if not ok:
            raise DomainError(f"synthetic: {message}")


# ---------------------------------------------------------------------------- CLI values


def parse_trace_arg(arg: str) -> tuple[str, str, dict[str, str]]:
    """Split a CLI workload value into (format, path, params).

    `philly:PATH` and `alibaba-pods:PATH` -> (format, PATH, {}); everything after the
    first colon is the path. `synthetic:jobs=10000,load=0.9` -> ("synthetic", "",
    {"jobs": "10000", "load": "0.9"}); `synthetic:` and `synthetic` use the defaults.
    """
    fmt, sep, rest = arg.partition(":")
    fmt = fmt.strip()
    if fmt not in FORMATS:
        raise UnknownNameError("trace format", fmt, FORMATS)
    if fmt != "synthetic":
        path = rest.strip()
        if not sep or not path:
            raise DomainError(f"trace {arg!r}: give a file, as {fmt}:PATH")
        return fmt, path, {}
    params: dict[str, str] = {}
    for item in rest.split(","):
        if not item.strip():
            continue  # tolerate "synthetic:" and trailing commas
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise DomainError(f"trace {arg!r}: synthetic parameter {item!r} is not NAME=VALUE")
        if key in params:
            raise DomainError(f"trace {arg!r}: synthetic parameter {key!r} given twice")
        params[key] = value.strip()
    return fmt, "", params


def _parse_sizes(text: str) -> Mapping[int, float]:
    """`1:0.8/2:0.1/8:0.1` -> {1: 0.8, 2: 0.1, 8: 0.1} (commas separate parameters)."""
    sizes: dict[int, float] = {}
    for item in text.split("/"):
        count, colon, weight = item.partition(":")
        if not colon:
            raise ValueError(item)
        sizes[int(count)] = float(weight)
    return sizes


# Each synthetic keyword, its parser and what the user is told a value should look like.
_SYNTHETIC_PARAMS: dict[str, tuple[Callable[[str], Any], str]] = {
    "jobs": (int, "a whole number"),
    "tenants": (int, "a whole number"),
    "load": (float, "a number"),
    "capacity": (int, "a whole number"),
    "seed": (int, "a whole number"),
    "mean_duration_s": (float, "a number"),
    "sizes": (_parse_sizes, "GPUS:WEIGHT pairs separated by '/', e.g. 1:0.9/8:0.1"),
    "fractional_share": (float, "a number in [0, 1]"),
}


def load_workload(arg: str) -> list[JobSpec]:
    """The jobs a CLI workload value names (see `parse_trace_arg`)."""
    fmt, path, params = parse_trace_arg(arg)
    if fmt == "philly":
        return read_philly(Path(path).expanduser())
    if fmt == "alibaba-pods":
        return read_alibaba_pods(Path(path).expanduser())
    kwargs: dict[str, Any] = {}
    for key, text in params.items():
        if key not in _SYNTHETIC_PARAMS:
            raise DomainError(
                f"synthetic: unknown parameter {key!r}; valid: {', '.join(_SYNTHETIC_PARAMS)}"
            )
        convert, expected = _SYNTHETIC_PARAMS[key]
        try:
            kwargs[key] = convert(text)
        except ValueError:
            raise DomainError(
                f"synthetic: parameter {key!r} must be {expected}, got {text!r}"
            ) from None
    return synthetic(**kwargs)
