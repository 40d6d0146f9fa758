"""The ExecutionBackend contract, the same tests for every backend.

Each backend joins through a small harness: how to make a request that ends quickly with a
given exit code or that takes a while, and how to wait for a state (polling real time, or
moving a manual clock). To add a backend (Slurm, Ray), write a harness and add it to
HARNESSES; a test that needs a capability is generated only for backends that have it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from computenet.backends import (
    BackendCapability,
    ExecutionBackend,
    LaunchRequest,
    LocalBackend,
    RunConflict,
    RunState,
    RunStatus,
    SimulatedBackend,
    UnknownRun,
    Unsupported,
)

pytestmark = pytest.mark.integration

Predicate = Callable[[RunStatus], bool]


def terminal(status: RunStatus) -> bool:
    return status.terminal


def started(status: RunStatus) -> bool:
    """Running with the command started (or already over)."""
    return status.terminal or status.started_at is not None


class Harness:
    backend: ExecutionBackend

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        """A run that ends soon with `exit_code` (printing `output`), or, if `long`, one
        that runs far longer than any test."""
        raise NotImplementedError

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        raise NotImplementedError

    def close(self) -> None:
        """Stop whatever is still running."""
        runs = self.backend.runs()
        for run_id, status in self.backend.status(runs).items():
            if not status.terminal:
                self.backend.cancel(run_id)
        for run_id in runs:
            self.wait(run_id)


class SimulatedHarness(Harness):
    STEP_S = 0.1

    def __init__(self, tmp_path: Path) -> None:
        self.now = 0.0
        self.backend = SimulatedBackend(lambda: self.now)

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        env = {
            "COMPUTENET_SIM_DURATION_S": "86400" if long else "0.5",
            "COMPUTENET_SIM_EXIT_CODE": str(exit_code),
        }
        return LaunchRequest(run_id, "job", "simulated", env=env, time_limit_s=time_limit_s)

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        for _ in range(10_000):  # 1000 simulated seconds
            status = self.backend.status([run_id])[run_id]
            if predicate(status):
                return status
            self.now += self.STEP_S
        raise AssertionError(f"timed out waiting; last status {status}")


class LocalHarness(Harness):
    TIMEOUT_S = 5.0

    def __init__(self, tmp_path: Path) -> None:
        self.backend = LocalBackend(tmp_path / "local", grace_s=0.2)

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        command = (
            "sleep 30" if long else f"printf %s {shlex.quote(output)}; sleep 0.05; exit {exit_code}"
        )
        return LaunchRequest(run_id, "job", command, time_limit_s=time_limit_s)

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        deadline = time.monotonic() + self.TIMEOUT_S
        while True:
            status = self.backend.status([run_id])[run_id]
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; last status {status}")
            time.sleep(0.01)


HARNESSES: dict[str, Callable[[Path], Harness]] = {
    "simulated": SimulatedHarness,
    "local": LocalHarness,
}
BACKEND_CLASSES: dict[str, type[ExecutionBackend]] = {
    "simulated": SimulatedBackend,
    "local": LocalBackend,
}


def having(capability: BackendCapability, present: bool = True) -> list[str]:
    """Backends that have (or lack) a capability: tests are generated for exactly those,
    so nothing is skipped at run time."""
    return sorted(
        n for n, cls in BACKEND_CLASSES.items() if (capability in cls.capabilities) == present
    )


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    made = HARNESSES[request.param](tmp_path)
    yield made
    made.close()


# ----------------------------------------------------------------------------- contract


def test_is_an_execution_backend(harness: Harness) -> None:
    assert isinstance(harness.backend, ExecutionBackend)
    assert harness.backend.name


def test_a_run_succeeds_with_exit_code_zero(harness: Harness) -> None:
    launched = harness.backend.launch(harness.request("ok.1"))
    assert launched.run_id == "ok.1"
    status = harness.wait("ok.1")
    assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
    assert status.started_at is not None and status.finished_at is not None
    assert status.started_at <= status.finished_at
    assert harness.backend.status(["ok.1"])["ok.1"] == status  # terminal states are stable


def test_a_non_zero_exit_code_fails(harness: Harness) -> None:
    harness.backend.launch(harness.request("bad.1", exit_code=3))
    status = harness.wait("bad.1")
    assert (status.state, status.exit_code) == (RunState.FAILED, 3)


def test_cancel_while_running(harness: Harness) -> None:
    harness.backend.launch(harness.request("c.1", long=True))
    assert harness.wait("c.1", started).state is RunState.RUNNING
    harness.backend.cancel("c.1")
    status = harness.wait("c.1")
    assert status.state is RunState.CANCELLED
    assert harness.backend.cancel("c.1").state is RunState.CANCELLED  # idempotent


def test_cancel_of_an_unknown_run_raises(harness: Harness) -> None:
    with pytest.raises(UnknownRun):
        harness.backend.cancel("never.1")


def test_runs_lists_the_launched_ids(harness: Harness) -> None:
    assert harness.backend.runs() == []
    harness.backend.launch(harness.request("a.1"))
    harness.backend.launch(harness.request("b.1", long=True))
    assert sorted(harness.backend.runs()) == ["a.1", "b.1"]


def test_status_of_an_unknown_run_is_lost(harness: Harness) -> None:
    harness.backend.launch(harness.request("a.1"))
    statuses = harness.backend.status(["a.1", "never.1"])
    assert statuses["never.1"].state is RunState.LOST
    assert statuses["a.1"].state is not RunState.LOST


def test_launch_is_idempotent(harness: Harness) -> None:
    long = harness.request("l.1", long=True)
    harness.backend.launch(long)
    harness.wait("l.1", started)
    again = harness.backend.launch(long)
    assert again.state is RunState.RUNNING
    assert again.started_at == harness.backend.status(["l.1"])["l.1"].started_at

    short = harness.request("s.1", exit_code=4)
    harness.backend.launch(short)
    done = harness.wait("s.1")
    assert harness.backend.launch(short) == done  # a finished run is not run again
    assert sorted(harness.backend.runs()) == ["l.1", "s.1"]


def test_a_known_run_id_with_another_request_conflicts(harness: Harness) -> None:
    harness.backend.launch(harness.request("x.1"))
    with pytest.raises(RunConflict):
        harness.backend.launch(harness.request("x.1", exit_code=9))


@pytest.mark.parametrize("harness", having(BackendCapability.TIME_LIMITS), indirect=True)
def test_time_limit(harness: Harness) -> None:
    harness.backend.launch(harness.request("t.1", long=True, time_limit_s=0.3))
    assert harness.wait("t.1").state is RunState.TIMED_OUT


@pytest.mark.parametrize("harness", having(BackendCapability.LOGS, present=False), indirect=True)
def test_no_logs_is_said_plainly(harness: Harness) -> None:
    harness.backend.launch(harness.request("nolog.1"))
    with pytest.raises(Unsupported):
        harness.backend.log_paths("nolog.1")


@pytest.mark.parametrize("harness", having(BackendCapability.LOGS), indirect=True)
def test_logs(harness: Harness) -> None:
    harness.backend.launch(harness.request("log.1", output="hello world"))
    harness.wait("log.1")
    stdout, stderr = harness.backend.log_paths("log.1")
    assert stdout.read_text() == "hello world"
    assert stderr.read_text() == ""
