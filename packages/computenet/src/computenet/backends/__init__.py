"""Execution backends: one interface (`ExecutionBackend`) to start, watch and stop runs.

    backend = LocalBackend(Path("/var/lib/computenet/local"))
    backend.launch(LaunchRequest(run_id="job-1.1", job_id="job-1", command="python train.py"))
    backend.status(["job-1.1"])   # {"job-1.1": RunStatus(state=RunState.RUNNING, ...)}
    backend.cancel("job-1.1")

LocalBackend runs real processes on this machine and survives a kill -9 of the service;
SlurmBackend submits Slurm batch jobs (`sbatch`, `scontrol`, `scancel`); RayBackend runs
on a Ray cluster through a driver process (Ray is imported there only); SimulatedBackend
runs nothing (durations on a given clock) for tests. See `base` for the contract and the
exceptions:

BackendError            an operation the backend cannot do
├── UnknownRun          a run id the backend does not know (cancel, log_paths)
├── InvalidRequest      a LaunchRequest that is malformed or that this backend cannot run
├── RunConflict         launch() of a known run id with a different request
└── Unsupported         an operation outside the backend's capabilities (e.g. logs)
"""

from computenet.backends.base import (
    BackendCapability,
    BackendError,
    ExecutionBackend,
    InvalidRequest,
    LaunchRequest,
    RunConflict,
    RunState,
    RunStatus,
    UnknownRun,
    Unsupported,
    is_valid_run_id,
    validate_request,
)
from computenet.backends.local import LocalBackend
from computenet.backends.ray import RayBackend
from computenet.backends.simulated import SimulatedBackend
from computenet.backends.slurm import SlurmBackend

__all__ = [
    "BackendCapability",
    "BackendError",
    "ExecutionBackend",
    "InvalidRequest",
    "LaunchRequest",
    "LocalBackend",
    "RayBackend",
    "RunConflict",
    "RunState",
    "RunStatus",
    "SimulatedBackend",
    "SlurmBackend",
    "UnknownRun",
    "Unsupported",
    "is_valid_run_id",
    "validate_request",
]
