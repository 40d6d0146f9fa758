"""The ExecutionBackend contract, the same tests for every backend.

Each backend joins through a small harness: how to make a request that ends quickly with a
given exit code or that takes a while, how to wait for a state (polling real time, or
moving a manual clock), and, for backends that hold resources, how many devices are in use
and how to restart the backend's controller. To add a backend, write a harness and add it
to HARNESSES; a test that needs a capability is generated only for backends that have it.

Slurm and Ray run on real clusters started once per session by the fixtures of conftest.py
(a slurmctld + two slurmd with fake GPUs; a Ray head in a private network namespace).
"""

from __future__ import annotations

import contextlib
import os
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
from computenet.backends.ray import RayBackend
from computenet.backends.slurm import SlurmBackend
from testkit.ray import RayCluster
from testkit.slurm import SlurmCluster

pytestmark = pytest.mark.integration

Predicate = Callable[[RunStatus], bool]


def terminal(status: RunStatus) -> bool:
    return status.terminal


def started(status: RunStatus) -> bool:
    """Running with the command started (or already over)."""
    return status.terminal or status.started_at is not None


class Harness:
    backend: ExecutionBackend
    nodes = 1  # the cluster's nodes and devices per node, as a gang can ask for them
    per_node = 4
    gang_accelerator: str | None = None  # the accelerator a gang asks for
    backend_picks_devices = False  # the backend, not the request, decides the device ids
    survives_controller_restart = True  # False: runs are LOST when the controller restarts
    TIMEOUT_S = 5.0

    def in_use(self) -> int:
        """Devices held by runs right now, as the backend's cluster sees it."""
        raise NotImplementedError

    def restart_controller(self) -> None:
        raise NotImplementedError

    def devices_request(
        self, run_id: str, per_node: tuple[int, ...], *, command: str, nodes: int = 1
    ) -> LaunchRequest:
        """A run of `command` on `nodes` nodes with the given device indexes on each."""
        devices = tuple((node, per_node) for node in range(nodes))
        return LaunchRequest(
            run_id, "job", command, devices=devices, accelerator=self.gang_accelerator
        )

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


def _poll(harness: Harness, run_id: str, predicate: Predicate) -> RunStatus:
    deadline = time.monotonic() + harness.TIMEOUT_S
    while True:
        status = harness.backend.status([run_id])[run_id]
        if predicate(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last status {status}")
        time.sleep(0.02)


def _quick(output: str, exit_code: int) -> str:
    return f"printf %s {shlex.quote(output)}; sleep 0.05; exit {exit_code}"


class LocalHarness(Harness):
    TIMEOUT_S = 5.0

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "local"
        self.backend = LocalBackend(self.root, grace_s=0.2)

    def in_use(self) -> int:
        """Devices of the runs that still have a live process (each process of a run
        carries the run's id and devices in its environment)."""
        marker = str(self.root / "runs") + "/"
        devices: dict[bytes, int] = {}
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):
                if not (os.readlink(f"/proc/{pid}/cwd") + "/").startswith(marker):
                    continue
                env = dict(
                    entry.partition(b"=")[::2]
                    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                )
                if b"COMPUTENET_RUN_ID" in env:
                    used = env.get(b"COMPUTENET_DEVICES", b"")
                    devices[env[b"COMPUTENET_RUN_ID"]] = len(used.split(b",")) if used else 0
        return sum(devices.values())

    def restart_controller(self) -> None:
        """The local backend's controller is the service: a new backend on the same root."""
        self.backend = LocalBackend(self.root, grace_s=0.2)

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        command = "sleep 30" if long else _quick(output, exit_code)
        return LaunchRequest(run_id, "job", command, time_limit_s=time_limit_s)

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        return _poll(self, run_id, predicate)


class SlurmHarness(Harness):
    """Two nodes of two fake GPUs each (a100 on tk1, v100 on tk2); gangs ask for untyped
    GPUs so that they may span both."""

    TIMEOUT_S = 30.0
    nodes = 2
    per_node = 2
    backend_picks_devices = True

    def __init__(self, tmp_path: Path, cluster: SlurmCluster) -> None:
        self.cluster = cluster
        self.root = tmp_path / "slurm"
        self.backend = self._make()

    def _make(self) -> SlurmBackend:
        return SlurmBackend(
            self.root, conf=self.cluster.conf, poll_interval_s=0.1, retry_after_s=0.5
        )

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        command = "sleep 300" if long else _quick(output, exit_code)
        return LaunchRequest(run_id, "job", command, time_limit_s=time_limit_s)

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        return _poll(self, run_id, predicate)

    def in_use(self) -> int:
        assert isinstance(self.backend, SlurmBackend)
        return sum(self.backend.gpus_in_use().values())

    def restart_controller(self) -> None:
        self.cluster.restart_controller()

    def close(self) -> None:
        super().close()
        _wait_for(lambda: self.in_use() == 0, self.TIMEOUT_S)


class RayHarness(Harness):
    """One Ray node with 4 fake A100 (a custom resource); a gang's bundles share it."""

    TIMEOUT_S = 60.0
    nodes = 2
    per_node = 2
    gang_accelerator = "A100"
    survives_controller_restart = False  # no GCS fault tolerance: the head forgets all

    def __init__(self, tmp_path: Path, cluster: RayCluster) -> None:
        self.cluster = cluster
        self.backend = RayBackend(
            tmp_path / "ray",
            address=cluster.address,
            driver_prefix=cluster.prefix,
            grace_s=0.5,
            poll_interval_s=0.05,
        )

    def request(
        self,
        run_id: str,
        *,
        exit_code: int = 0,
        long: bool = False,
        output: str = "",
        time_limit_s: float | None = None,
    ) -> LaunchRequest:
        command = "sleep 300" if long else _quick(output, exit_code)
        return LaunchRequest(run_id, "job", command, time_limit_s=time_limit_s)

    def wait(self, run_id: str, predicate: Predicate = terminal) -> RunStatus:
        return _poll(self, run_id, predicate)

    def in_use(self) -> int:
        assert isinstance(self.backend, RayBackend)
        view = self.backend.cluster_resources()
        return round(view["total"].get("A100", 0) - view["available"].get("A100", 0))

    def restart_controller(self) -> None:
        self.cluster.restart_head()

    def close(self) -> None:
        super().close()
        _wait_for(lambda: self.in_use() == 0, self.TIMEOUT_S)


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


HARNESSES: dict[str, Callable[[Path, pytest.FixtureRequest], Harness]] = {
    "simulated": lambda tmp, _: SimulatedHarness(tmp),
    "local": lambda tmp, _: LocalHarness(tmp),
    "slurm": lambda tmp, req: SlurmHarness(tmp, req.getfixturevalue("slurm_cluster")),
    "ray": lambda tmp, req: RayHarness(tmp, req.getfixturevalue("ray_cluster")),
}
BACKEND_CLASSES: dict[str, type[ExecutionBackend]] = {
    "simulated": SimulatedBackend,
    "local": LocalBackend,
    "slurm": SlurmBackend,
    "ray": RayBackend,
}
# backends whose cluster tells which devices runs hold, and whose controller can restart
WITH_RESOURCES = ["local", "ray", "slurm"]


def having(capability: BackendCapability, present: bool = True) -> list[str]:
    """Backends that have (or lack) a capability: tests are generated for exactly those,
    so nothing is skipped at run time."""
    return sorted(
        n for n, cls in BACKEND_CLASSES.items() if (capability in cls.capabilities) == present
    )


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    made = HARNESSES[request.param](tmp_path, request)
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


@pytest.mark.parametrize("harness", having(BackendCapability.QUEUES), indirect=True)
def test_cancel_while_pending(harness: Harness) -> None:
    everything = tuple(range(harness.per_node))
    harness.backend.launch(
        harness.devices_request("all.1", everything, command="sleep 300", nodes=harness.nodes)
    )
    harness.wait("all.1", started)
    harness.backend.launch(harness.devices_request("w.1", (0,), command="echo ran"))
    time.sleep(1.5)  # a backend that ignored the shortage would have started it by now
    waiting = harness.backend.status(["w.1"])["w.1"]
    assert (waiting.state, waiting.started_at) == (RunState.RUNNING, None), waiting
    harness.backend.cancel("w.1")
    status = harness.wait("w.1")
    assert (status.state, status.started_at) == (RunState.CANCELLED, None), status
    stdout, _ = harness.backend.log_paths("w.1")
    assert not stdout.exists() or stdout.read_text() == ""  # it never ran


@pytest.mark.parametrize(
    "harness", having(BackendCapability.QUEUES | BackendCapability.MULTI_NODE), indirect=True
)
def test_a_gang_starts_whole_or_not_at_all(harness: Harness) -> None:
    harness.backend.launch(harness.devices_request("one.1", (0,), command="sleep 300"))
    harness.wait("one.1", started)
    _wait_for(lambda: harness.in_use() == 1, harness.TIMEOUT_S)
    gang = harness.devices_request(
        "gang.1", tuple(range(harness.per_node)), command="echo part", nodes=harness.nodes
    )
    harness.backend.launch(gang)
    time.sleep(1.5)
    assert harness.backend.status(["gang.1"])["gang.1"].started_at is None
    assert harness.in_use() == 1  # no part of the gang holds a device while it waits
    harness.backend.cancel("one.1")
    status = harness.wait("gang.1")
    assert status.state is RunState.SUCCEEDED, status
    stdout, _ = harness.backend.log_paths("gang.1")
    assert stdout.read_text().split() == ["part"] * harness.nodes  # every node ran it


@pytest.mark.parametrize("harness", having(BackendCapability.LOGS), indirect=True)
def test_the_run_sees_its_devices(harness: Harness) -> None:
    wanted = (1, 0) if harness.per_node > 2 else (0, 1)
    command = 'echo "$COMPUTENET_DEVICES/$CUDA_VISIBLE_DEVICES"'
    harness.backend.launch(harness.devices_request("dev.1", wanted, command=command))
    assert harness.wait("dev.1").state is RunState.SUCCEEDED
    seen, cuda = harness.backend.log_paths("dev.1")[0].read_text().strip().split("/")
    assert seen == cuda
    devices = [int(d) for d in seen.split(",")]
    assert len(set(devices)) == len(wanted)
    assert all(0 <= d < harness.per_node for d in devices)
    if not harness.backend_picks_devices:
        assert devices == list(wanted)


@pytest.mark.parametrize("harness", WITH_RESOURCES, indirect=True)
def test_devices_are_released(harness: Harness) -> None:
    assert harness.in_use() == 0
    harness.backend.launch(harness.devices_request("hold.1", (0, 1), command="sleep 300"))
    harness.wait("hold.1", started)
    _wait_for(lambda: harness.in_use() == 2, harness.TIMEOUT_S)
    harness.backend.cancel("hold.1")
    assert harness.wait("hold.1").state is RunState.CANCELLED
    _wait_for(lambda: harness.in_use() == 0, harness.TIMEOUT_S)
    harness.backend.launch(harness.devices_request("short.1", (0, 1), command="exit 0"))
    assert harness.wait("short.1").state is RunState.SUCCEEDED
    _wait_for(lambda: harness.in_use() == 0, harness.TIMEOUT_S)


@pytest.mark.parametrize("harness", WITH_RESOURCES, indirect=True)
def test_runs_are_reported_after_the_controller_restarts(harness: Harness, tmp_path: Path) -> None:
    go = tmp_path / "go"  # r.2 ends only once the controller is back: no race with it
    harness.backend.launch(harness.request("r.1", output="x", exit_code=5))
    wait_for_go = f"until [ -e {shlex.quote(str(go))} ]; do sleep 0.05; done; exit 6"
    harness.backend.launch(harness.devices_request("r.2", (0,), command=wait_for_go))
    assert harness.wait("r.1").exit_code == 5
    harness.wait("r.2", started)
    harness.restart_controller()
    go.touch()
    status = harness.wait("r.2")
    if harness.survives_controller_restart:
        assert (status.state, status.exit_code) == (RunState.FAILED, 6), status
    else:
        assert status.state is RunState.LOST, status
        assert "no longer knows" in status.message
    assert harness.backend.status(["r.1"])["r.1"].exit_code == 5
    harness.backend.launch(harness.request("after.1"))  # and it works again
    assert harness.wait("after.1").state is RunState.SUCCEEDED
    _wait_for(lambda: harness.in_use() == 0, harness.TIMEOUT_S)  # nothing of r.2 holds on
