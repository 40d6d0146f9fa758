"""Reading Slurm's answers: `scontrol -o show job|node` records, job states, exit codes, GRES.

Pure functions on text (no subprocess), unit-tested on outputs recorded from a real
Slurm 22.05 (tests/fixtures/slurm/). `scontrol -o` prints one record per line as
space-separated `Key=Value` pairs; keys may hold ':' and '/' (`AllocNode:Sid=`,
`CPUs/Task=`), values may hold spaces only in the last few free-text fields, which we do
not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from computenet.backends.base import RunState

__all__ = [
    "GresEntry",
    "SlurmJob",
    "SlurmNode",
    "controller_unreachable",
    "job_outcome",
    "parse_exit_code",
    "parse_gres",
    "parse_jobs",
    "parse_nodes",
    "parse_records",
    "parse_time",
    "pools_from_nodes",
]

_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/.]*)=")

# Slurm job states (JOB_STATE_STRING in slurm.h) -> ours; RUNNING means "not over yet":
# COMPLETING keeps a job RUNNING because its processes may still hold the devices.
_ACTIVE = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "STOPPED",
        "SIGNALING",
        "STAGE_OUT",
        "RESIZING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
        "SPECIAL_EXIT",  # requeued and held by Slurm
    }
)
_TERMINAL: Mapping[str, RunState] = {
    "COMPLETED": RunState.SUCCEEDED,
    "FAILED": RunState.FAILED,
    "OUT_OF_MEMORY": RunState.FAILED,
    "CANCELLED": RunState.CANCELLED,
    "TIMEOUT": RunState.TIMED_OUT,
    "DEADLINE": RunState.TIMED_OUT,
    # the run is gone through no fault of its command: the network decides what next
    "NODE_FAIL": RunState.LOST,
    "BOOT_FAIL": RunState.LOST,
    "PREEMPTED": RunState.LOST,
    "REVOKED": RunState.LOST,
}


# what the commands print when the controller cannot be reached (not a refused request)
_UNREACHABLE = re.compile(
    r"Unable to contact slurm controller|Socket timed out|Connection refused|"
    r"Zero Bytes were transmitted|Communication connection failure",
    re.IGNORECASE,
)


def controller_unreachable(message: str) -> bool:
    """Whether a Slurm command's error says the controller did not answer."""
    return _UNREACHABLE.search(message) is not None


def parse_records(text: str) -> list[dict[str, str]]:
    """One dict per non-empty line of `scontrol -o show ...` output."""
    records = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or "=" not in line:
            continue
        keys = list(_KEY.finditer(line))
        record = {}
        for i, match in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(line)
            record[match.group(1)] = line[match.end() : end].strip()
        records.append(record)
    return records


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of a Slurm timestamp (`2026-11-24T21:44:41`, local time); None for
    `Unknown`, `None`, `N/A` or empty."""
    if not text or text in ("Unknown", "None", "N/A", "(null)"):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def parse_exit_code(text: str | None) -> int | None:
    """`ExitCode=3:0` -> 3; killed by signal N (`0:9`) -> 128 + N, as a shell reports it."""
    if not text:
        return None
    code, _, sig = text.partition(":")
    try:
        status, signal = int(code), int(sig or 0)
    except ValueError:
        return None
    return 128 + signal if signal else status


@dataclass(frozen=True, slots=True)
class SlurmJob:
    job_id: str
    name: str
    state: str  # e.g. RUNNING, COMPLETED; flags stripped
    reason: str
    exit_code: int | None
    started_at: float | None
    finished_at: float | None
    nodes: str

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> SlurmJob:
        state = record.get("JobState", "").split()[0] if record.get("JobState") else ""
        running = state in _ACTIVE
        return cls(
            job_id=record.get("JobId", ""),
            name=record.get("JobName", ""),
            state=state,
            reason=record.get("Reason", ""),
            exit_code=None if running else parse_exit_code(record.get("ExitCode")),
            # a pending job's StartTime is Slurm's *expected* start: not a start
            started_at=None if state == "PENDING" else parse_time(record.get("StartTime")),
            finished_at=None if running else parse_time(record.get("EndTime")),
            nodes=record.get("NodeList", ""),
        )


def parse_jobs(text: str) -> dict[str, SlurmJob]:
    """`scontrol -o show job` output -> jobs by Slurm job id."""
    jobs = (SlurmJob.from_record(r) for r in parse_records(text))
    return {job.job_id: job for job in jobs if job.job_id}


def job_outcome(job: SlurmJob) -> tuple[RunState, str]:
    """Our state of a Slurm job and a message that says why (pending reason, failure)."""
    if job.state in _ACTIVE:
        if job.state == "PENDING":
            return RunState.RUNNING, f"pending in Slurm ({job.reason or 'queued'})"
        if job.state == "COMPLETING":
            return RunState.RUNNING, "completing in Slurm (processes ending)"
        return RunState.RUNNING, "" if job.state == "RUNNING" else f"{job.state.lower()} in Slurm"
    state = _TERMINAL.get(job.state)
    if state is None:
        return RunState.LOST, f"unknown Slurm job state {job.state!r}"
    if state is RunState.SUCCEEDED and job.exit_code not in (0, None):
        state = RunState.FAILED  # COMPLETED with a non-zero code does not happen; be safe
    if state is RunState.SUCCEEDED:
        return state, ""
    if state is RunState.FAILED:
        detail = "out of memory" if job.state == "OUT_OF_MEMORY" else f"exit code {job.exit_code}"
        return state, detail
    return state, f"Slurm job {job.job_id} {job.state}" + (
        f" ({job.reason})" if job.reason and job.reason != "None" else ""
    )


# ----------------------------------------------------------------------------- nodes


@dataclass(frozen=True, slots=True)
class GresEntry:
    name: str  # e.g. "gpu"
    type: str | None  # e.g. "a100"; None when untyped
    count: int


def parse_gres(text: str | None) -> list[GresEntry]:
    """`gpu:a100:2(S:0),gpu:v100:1,nic:1` -> entries; `(null)` or empty -> []."""
    if not text or text in ("(null)", "N/A"):
        return []
    entries = []
    # commas also separate socket lists inside parentheses: drop those first
    for part in re.sub(r"\([^)]*\)", "", text).split(","):
        fields = part.strip().split(":")
        if not fields[0]:
            continue
        count_text = fields[-1] if len(fields) > 1 else "1"
        count = int(count_text) if count_text.isdigit() else 1
        gres_type = fields[1] if len(fields) == 3 else None
        if len(fields) == 2 and not fields[1].isdigit():
            gres_type, count = fields[1], 1
        entries.append(GresEntry(fields[0], gres_type, count))
    return entries


@dataclass(frozen=True, slots=True)
class SlurmNode:
    name: str
    cpus: int
    memory_mib: int
    gpus: tuple[GresEntry, ...]
    state: str
    partitions: tuple[str, ...]

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> SlurmNode:
        return cls(
            name=record.get("NodeName", ""),
            cpus=_int(record.get("CPUTot")),
            memory_mib=_int(record.get("RealMemory")),
            gpus=tuple(g for g in parse_gres(record.get("Gres")) if g.name == "gpu"),
            state=record.get("State", ""),
            partitions=tuple(p for p in record.get("Partitions", "").split(",") if p),
        )


def parse_nodes(text: str) -> list[SlurmNode]:
    """`scontrol -o show node` output -> nodes."""
    return [SlurmNode.from_record(r) for r in parse_records(text) if r.get("NodeName")]


def pools_from_nodes(
    nodes: Iterable[SlurmNode],
    accelerator_for: Callable[[str], str],
    *,
    partition: str | None = None,
) -> list[dict[str, Any]]:
    """Pools (the network YAML's form) of identical GPU nodes: same GPU type and count,
    CPUs and memory. `accelerator_for` names the catalog model of a GRES type (raises for
    a type it does not know). Nodes without typed GPUs, outside `partition`, or drained
    or down are left out."""
    shapes: dict[tuple[str, int, int, int], list[str]] = {}
    for node in nodes:
        if partition and partition not in node.partitions:
            continue
        if any(flag in node.state for flag in ("DOWN", "DRAIN", "FAIL", "NOT_RESPONDING")):
            continue
        typed = [g for g in node.gpus if g.type]
        if len(typed) != 1:  # one GPU model per node; mixed nodes are not a pool shape
            continue
        gpu = typed[0]
        assert gpu.type is not None
        key = (gpu.type, gpu.count, node.cpus, node.memory_mib)
        shapes.setdefault(key, []).append(node.name)
    pools: list[dict[str, Any]] = []
    for (gres_type, count, cpus, memory_mib), names in sorted(shapes.items()):
        name = f"{gres_type}-x{count}"
        if any(p["name"] == name for p in pools):  # same GPUs, other CPUs or memory
            name = f"{name}-{len(pools) + 1}"
        pools.append(
            {
                "name": name,
                "accelerator": accelerator_for(gres_type),
                "accelerators_per_node": count,
                "cpus_per_node": cpus,
                "memory_gib_per_node": max(1, memory_mib // 1024),
                "nodes": len(names),
                "slurm_nodes": sorted(names),
            }
        )
    return pools


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
