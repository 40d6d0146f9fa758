"""The execution-backend interface: how the service starts, watches and stops runs.

A *run* is one attempt of one job on one backend, named by a `run_id` that is unique per
attempt (e.g. f"{job_id}.{attempt}") and is the idempotency key of `launch`: launching a
run id that the backend already knows starts nothing and returns the run's status. So a
service that restarts can call `launch` again for every run it had asked for and is not
sure about, and `runs()` lists what the backend knows for reconciliation.

States: RUNNING until the run ends, then exactly one terminal state that never changes:
SUCCEEDED (exit code 0), FAILED (non-zero exit code), CANCELLED (`cancel`), TIMED_OUT (the
request's time limit) or LOST (the backend no longer knows the run: the machine rebooted,
the run's supervisor was killed, or the id was never launched).

Exceptions:

BackendError            an operation the backend cannot do
├── UnknownRun          a run id the backend does not know (cancel, log_paths)
├── InvalidRequest      a LaunchRequest that is malformed or that this backend cannot run
├── RunConflict         launch() of a known run id with a different request
└── Unsupported         an operation outside the backend's capabilities (e.g. logs)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Flag, StrEnum, auto
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

# ----------------------------------------------------------------------------- errors


class BackendError(Exception):
    """An operation the backend cannot do."""


class UnknownRun(BackendError, KeyError):
    """A run id the backend does not know."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"unknown run {run_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidRequest(BackendError, ValueError):
    """A launch request that is malformed or that this backend cannot run."""


class RunConflict(BackendError):
    """launch() of a run id that exists with a different request."""


class Unsupported(BackendError):
    """An operation outside the backend's capabilities."""


# ----------------------------------------------------------------------------- values


class RunState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    LOST = "lost"  # the backend no longer knows the run (e.g. the machine rebooted)

    @property
    def terminal(self) -> bool:
        return self is not RunState.RUNNING


RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def is_valid_run_id(run_id: object) -> bool:
    """A run id is a safe file name: letters, digits, '.', '_', '-'; at most 200 characters."""
    return isinstance(run_id, str) and RUN_ID_PATTERN.fullmatch(run_id) is not None


@dataclass(frozen=True)
class LaunchRequest:
    run_id: str  # unique per attempt, e.g. f"{job_id}.{attempt}"; the idempotency key
    job_id: str
    command: str  # run with /bin/sh -c
    workdir: str | None = None  # default: the run's own directory (local backend)
    env: Mapping[str, str] = field(default_factory=dict)
    devices: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (node index, device indexes)
    time_limit_s: float | None = None
    # the catalog model of the devices (e.g. "A100"): a cluster backend asks its scheduler
    # for that type (Slurm: typed GRES; Ray: a custom resource). None: any, or no devices.
    accelerator: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form; `from_dict(to_dict())` gives an equal request."""
        return {
            "run_id": self.run_id,
            "job_id": self.job_id,
            "command": self.command,
            "workdir": self.workdir,
            "env": {k: self.env[k] for k in sorted(self.env)},
            "devices": [[node, list(devs)] for node, devs in self.devices],
            "time_limit_s": self.time_limit_s,
            # only when set: specs stored before the field existed compare equal
            **({"accelerator": self.accelerator} if self.accelerator is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LaunchRequest:
        return cls(
            run_id=data["run_id"],
            job_id=data["job_id"],
            command=data["command"],
            workdir=data.get("workdir"),
            env=dict(data.get("env") or {}),
            devices=tuple(
                (int(n), tuple(int(d) for d in devs)) for n, devs in data.get("devices") or ()
            ),
            time_limit_s=data.get("time_limit_s"),
            accelerator=data.get("accelerator"),
        )


def validate_request(request: LaunchRequest) -> None:
    """Check what every backend needs of a request; raises InvalidRequest."""
    if not is_valid_run_id(request.run_id):
        raise InvalidRequest(
            f"run_id {request.run_id!r} must match {RUN_ID_PATTERN.pattern} (it names files)"
        )
    if not isinstance(request.job_id, str) or not request.job_id:
        raise InvalidRequest(f"run {request.run_id}: job_id must be a non-empty string")
    if not isinstance(request.command, str) or not request.command.strip():
        raise InvalidRequest(f"run {request.run_id}: command must be a non-empty string")
    if "\0" in request.command:
        raise InvalidRequest(f"run {request.run_id}: command contains a NUL character")
    if request.workdir is not None and (
        not isinstance(request.workdir, str) or not request.workdir
    ):
        raise InvalidRequest(f"run {request.run_id}: workdir must be a non-empty string or None")
    for key, value in request.env.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise InvalidRequest(f"run {request.run_id}: bad environment variable name {key!r}")
        if not isinstance(value, str) or "\0" in value:
            raise InvalidRequest(
                f"run {request.run_id}: environment variable {key} must be a string"
            )
    if request.accelerator is not None and (
        not isinstance(request.accelerator, str)
        or not RUN_ID_PATTERN.fullmatch(request.accelerator)
    ):
        raise InvalidRequest(f"run {request.run_id}: bad accelerator name {request.accelerator!r}")
    limit = request.time_limit_s
    if limit is not None and (
        isinstance(limit, bool)
        or not isinstance(limit, int | float)
        or not math.isfinite(limit)
        or limit <= 0
    ):
        raise InvalidRequest(f"run {request.run_id}: time_limit_s must be a positive number")
    nodes: set[int] = set()
    for entry in request.devices:
        try:
            node, devs = entry
            devs = tuple(devs)
        except (TypeError, ValueError):
            raise InvalidRequest(f"run {request.run_id}: bad devices entry {entry!r}") from None
        if not _index(node) or node in nodes:
            raise InvalidRequest(f"run {request.run_id}: bad or repeated node index {node!r}")
        nodes.add(node)
        if not all(_index(d) for d in devs) or len(set(devs)) != len(devs):
            raise InvalidRequest(
                f"run {request.run_id}: bad device indexes {devs!r} on node {node}"
            )


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class RunStatus:
    run_id: str
    state: RunState
    exit_code: int | None = None
    started_at: float | None = None  # when the command started (epoch seconds)
    finished_at: float | None = None
    message: str = ""

    @property
    def terminal(self) -> bool:
        return self.state.terminal


class BackendCapability(Flag):
    NONE = 0
    FRACTIONAL_DEVICES = auto()  # several runs may share one device
    MULTI_NODE = auto()  # a run's placement may span nodes and the backend starts them all
    LOGS = auto()  # log_paths() gives files with the run's stdout and stderr
    TIME_LIMITS = auto()  # time_limit_s is enforced (TIMED_OUT)
    DURABLE = auto()  # runs and their outcomes survive a restart of the service
    # runs may wait in the backend's own queue (RUNNING with started_at None) until its
    # resources are free; a gang waits whole (all nodes or none)
    QUEUES = auto()


# ----------------------------------------------------------------------------- protocol


@runtime_checkable
class ExecutionBackend(Protocol):
    name: str
    capabilities: BackendCapability

    def launch(self, request: LaunchRequest) -> RunStatus:
        """Start a run. Idempotent per run_id: for a run id that exists (running or
        finished) it starts nothing and returns the run's status. Raises InvalidRequest,
        RunConflict (same run id, different request)."""
        ...

    def status(self, run_ids: Iterable[str]) -> dict[str, RunStatus]:
        """The status of each run; unknown ids are LOST."""
        ...

    def cancel(self, run_id: str) -> RunStatus:
        """Stop a run (its whole process tree). Idempotent; a finished run keeps its
        state. May return RUNNING while the processes are stopping: poll status().
        Raises UnknownRun."""
        ...

    def runs(self) -> list[str]:
        """Every run id the backend knows (for reconciliation after a restart)."""
        ...

    def log_paths(self, run_id: str) -> tuple[Path, Path]:
        """(stdout, stderr) files of a run. Raises UnknownRun, Unsupported."""
        ...
