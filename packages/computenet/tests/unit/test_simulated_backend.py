"""SimulatedBackend: durations and exit codes from the request's environment, on a clock
that the test moves by hand."""

from __future__ import annotations

import pytest

from computenet.backends import (
    BackendCapability,
    ExecutionBackend,
    InvalidRequest,
    LaunchRequest,
    RunConflict,
    RunState,
    RunStatus,
    SimulatedBackend,
    UnknownRun,
    Unsupported,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def req(
    run_id: str,
    duration: float | None = None,
    exit_code: int | None = None,
    time_limit_s: float | None = None,
) -> LaunchRequest:
    env = {}
    if duration is not None:
        env["COMPUTENET_SIM_DURATION_S"] = str(duration)
    if exit_code is not None:
        env["COMPUTENET_SIM_EXIT_CODE"] = str(exit_code)
    return LaunchRequest(run_id, "job", "simulated", env=env, time_limit_s=time_limit_s)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> SimulatedBackend:
    return SimulatedBackend(clock)


def test_is_an_execution_backend(sim: SimulatedBackend) -> None:
    assert isinstance(sim, ExecutionBackend)
    assert BackendCapability.LOGS not in sim.capabilities
    assert BackendCapability.TIME_LIMITS in sim.capabilities


def test_default_run_finishes_at_once_with_exit_code_zero(sim: SimulatedBackend) -> None:
    status = sim.launch(req("a.1"))
    assert status == RunStatus("a.1", RunState.SUCCEEDED, 0, 1000.0, 1000.0)


def test_run_lasts_its_duration_and_ends_with_its_exit_code(
    sim: SimulatedBackend, clock: Clock
) -> None:
    assert sim.launch(req("a.1", duration=30, exit_code=2)).state is RunState.RUNNING
    clock.now += 29.9
    assert sim.status(["a.1"])["a.1"].state is RunState.RUNNING
    clock.now += 0.1
    status = sim.status(["a.1"])["a.1"]
    assert status == RunStatus("a.1", RunState.FAILED, 2, 1000.0, 1030.0, "exit code 2")


def test_time_limit(sim: SimulatedBackend, clock: Clock) -> None:
    sim.launch(req("a.1", duration=100, time_limit_s=10))
    sim.launch(req("a.2", duration=5, time_limit_s=10))
    clock.now += 50
    statuses = sim.status(["a.1", "a.2"])
    assert statuses["a.1"].state is RunState.TIMED_OUT
    assert statuses["a.1"].finished_at == 1010.0
    assert statuses["a.2"].state is RunState.SUCCEEDED


def test_cancel(sim: SimulatedBackend, clock: Clock) -> None:
    sim.launch(req("a.1", duration=100))
    clock.now += 5
    cancelled = sim.cancel("a.1")
    assert (cancelled.state, cancelled.finished_at) == (RunState.CANCELLED, 1005.0)
    clock.now += 500
    assert sim.cancel("a.1") == cancelled == sim.status(["a.1"])["a.1"]
    done = sim.launch(req("a.2"))
    assert sim.cancel("a.2") == done  # a finished run keeps its state
    with pytest.raises(UnknownRun):
        sim.cancel("nope")


def test_lose(sim: SimulatedBackend, clock: Clock) -> None:
    sim.launch(req("a.1", duration=100))
    assert sim.lose("a.1").state is RunState.LOST
    assert sim.launch(req("a.1", duration=100)).state is RunState.LOST  # never runs again
    assert sim.runs() == ["a.1"]


def test_idempotent_launch_and_conflicts(sim: SimulatedBackend, clock: Clock) -> None:
    first = sim.launch(req("a.1", duration=10))
    clock.now += 3
    assert sim.launch(req("a.1", duration=10)) == first
    assert sim.runs() == ["a.1"]
    with pytest.raises(RunConflict):
        sim.launch(req("a.1", duration=11))


def test_unknown_runs_and_logs(sim: SimulatedBackend) -> None:
    assert sim.status(["x"])["x"].state is RunState.LOST
    with pytest.raises(UnknownRun):
        sim.log_paths("x")
    sim.launch(req("a.1"))
    with pytest.raises(Unsupported):
        sim.log_paths("a.1")


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"COMPUTENET_SIM_DURATION_S": "soon"}, "DURATION"),
        ({"COMPUTENET_SIM_DURATION_S": "-1"}, "DURATION"),
        ({"COMPUTENET_SIM_DURATION_S": "inf"}, "DURATION"),
        ({"COMPUTENET_SIM_EXIT_CODE": "256"}, "EXIT_CODE"),
        ({"COMPUTENET_SIM_EXIT_CODE": "x"}, "EXIT_CODE"),
    ],
)
def test_invalid_simulation_parameters(
    sim: SimulatedBackend, env: dict[str, str], match: str
) -> None:
    with pytest.raises(InvalidRequest, match=match):
        sim.launch(LaunchRequest("a.1", "job", "simulated", env=env))
    assert sim.runs() == []


@pytest.mark.parametrize(
    "request_",
    [
        LaunchRequest("", "job", "x"),
        LaunchRequest("../a", "job", "x"),
        LaunchRequest("a.1", "", "x"),
        LaunchRequest("a.1", "job", "  "),
        LaunchRequest("a.1", "job", "x", time_limit_s=-1),
        LaunchRequest("a.1", "job", "x", env={"A=B": "1"}),
        LaunchRequest("a.1", "job", "x", devices=((0, (1, 1)),)),
        LaunchRequest("a.1", "job", "x", devices=((0, (1,)), (0, (2,)))),
    ],
)
def test_invalid_requests(sim: SimulatedBackend, request_: LaunchRequest) -> None:
    with pytest.raises(InvalidRequest):
        sim.launch(request_)


def test_request_round_trips_through_a_dict() -> None:
    request = LaunchRequest(
        "a.1",
        "job",
        "echo",
        workdir="/tmp",
        env={"B": "2", "A": "1"},
        devices=((1, (0, 2)),),
        time_limit_s=5.0,
    )
    assert LaunchRequest.from_dict(request.to_dict()) == request
