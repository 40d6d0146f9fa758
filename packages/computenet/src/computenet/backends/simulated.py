"""SimulatedBackend: runs that take a given time on a given clock, and nothing else.

For the conformance suite and for tests of the service. A run lasts
`request.env["COMPUTENET_SIM_DURATION_S"]` seconds of `clock` (default 0: it has finished
by the time launch() returns) and ends with exit code `COMPUTENET_SIM_EXIT_CODE` (default
0). Time limits and cancel() behave like a real backend's; `lose(run_id)` makes a run LOST
as a machine failure would. State lives in memory: a new object knows no runs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from computenet.backends.base import (
    BackendCapability,
    InvalidRequest,
    LaunchRequest,
    RunConflict,
    RunState,
    RunStatus,
    UnknownRun,
    Unsupported,
    validate_request,
)

__all__ = ["SimulatedBackend"]

DURATION_ENV = "COMPUTENET_SIM_DURATION_S"
EXIT_CODE_ENV = "COMPUTENET_SIM_EXIT_CODE"


@dataclass
class _Run:
    request: LaunchRequest
    started_at: float
    duration: float
    exit_code: int
    cancelled_at: float | None = None
    lost_at: float | None = None


class SimulatedBackend:
    name = "simulated"
    capabilities = (
        BackendCapability.FRACTIONAL_DEVICES
        | BackendCapability.MULTI_NODE
        | BackendCapability.TIME_LIMITS
    )

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def launch(self, request: LaunchRequest) -> RunStatus:
        validate_request(request)
        with self._lock:
            run = self._runs.get(request.run_id)
            if run is not None:
                if run.request.to_dict() != request.to_dict():
                    raise RunConflict(
                        f"run {request.run_id} exists with a different request; "
                        "a new attempt needs a new run id"
                    )
                return self._status(run)
            run = _Run(request, self._clock(), _duration(request), _exit_code(request))
            self._runs[request.run_id] = run
            return self._status(run)

    def status(self, run_ids: Iterable[str]) -> dict[str, RunStatus]:
        with self._lock:
            result = {}
            for run_id in run_ids:
                run = self._runs.get(run_id)
                result[run_id] = (
                    RunStatus(run_id, RunState.LOST, message="unknown run")
                    if run is None
                    else self._status(run)
                )
            return result

    def cancel(self, run_id: str) -> RunStatus:
        with self._lock:
            run = self._get(run_id)
            if not self._status(run).terminal:
                run.cancelled_at = self._clock()
            return self._status(run)

    def runs(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    def log_paths(self, run_id: str) -> tuple[Path, Path]:
        with self._lock:
            self._get(run_id)
        raise Unsupported("the simulated backend keeps no logs")

    def lose(self, run_id: str) -> RunStatus:
        """Make a running run LOST, as a crash of its machine would."""
        with self._lock:
            run = self._get(run_id)
            if not self._status(run).terminal:
                run.lost_at = self._clock()
            return self._status(run)

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRun(run_id)
        return run

    def _status(self, run: _Run) -> RunStatus:
        now = self._clock()
        run_id, start = run.request.run_id, run.started_at
        limit = run.request.time_limit_s
        if run.lost_at is not None:
            return RunStatus(run_id, RunState.LOST, None, start, None, "lost (simulated failure)")
        if run.cancelled_at is not None:
            return RunStatus(run_id, RunState.CANCELLED, None, start, run.cancelled_at, "cancelled")
        if limit is not None and limit < run.duration and now >= start + limit:
            message = f"time limit of {limit} s exceeded"
            return RunStatus(run_id, RunState.TIMED_OUT, None, start, start + limit, message)
        if now >= start + run.duration:
            code = run.exit_code
            state = RunState.SUCCEEDED if code == 0 else RunState.FAILED
            message = "" if code == 0 else f"exit code {code}"
            return RunStatus(run_id, state, code, start, start + run.duration, message)
        return RunStatus(run_id, RunState.RUNNING, None, start)


def _duration(request: LaunchRequest) -> float:
    text = request.env.get(DURATION_ENV, "0")
    try:
        duration = float(text)
    except ValueError:
        duration = math.nan
    if not math.isfinite(duration) or duration < 0:
        raise InvalidRequest(f"run {request.run_id}: {DURATION_ENV}={text!r} is not a duration")
    return duration


def _exit_code(request: LaunchRequest) -> int:
    text = request.env.get(EXIT_CODE_ENV, "0")
    try:
        code = int(text)
    except ValueError:
        code = -1
    if not 0 <= code <= 255:
        raise InvalidRequest(
            f"run {request.run_id}: {EXIT_CODE_ENV}={text!r} is not an exit code 0-255"
        )
    return code
