"""RayBackend on the real test cluster, beyond the conformance suite: the cluster is out
of reach from outside its network namespace, runs outlive the service (detached actors),
time limits hold while nobody watches, and a site's pools are discovered."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from computenet.backends import LaunchRequest, RunState, RunStatus
from computenet.backends.ray import RayBackend
from computenet.service.discovery import ray_site
from testkit.ray import PORT, RayCluster

pytestmark = pytest.mark.integration


def backend(root: Path, cluster: RayCluster) -> RayBackend:
    return RayBackend(
        root, address=cluster.address, driver_prefix=cluster.prefix, poll_interval_s=0.05
    )


def wait(
    b: RayBackend, run_id: str, done: Callable[[RunStatus], bool] = lambda s: s.terminal
) -> RunStatus:
    deadline = time.monotonic() + 60
    while not done(status := b.status([run_id])[run_id]):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def test_the_cluster_listens_on_loopback_inside_its_namespace_only(ray_cluster: RayCluster) -> None:
    inside = [line.split()[3] for line in ray_cluster.listeners().splitlines()]
    assert f"[::ffff:127.0.0.1]:{PORT}" in inside or f"127.0.0.1:{PORT}" in inside
    assert all(addr.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]") for addr in inside)
    outside = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    for name in ("gcs_server", "raylet"):  # not in this (the host's) namespace at all
        assert f'(("{name}"' not in outside


def test_runs_outlive_the_service(tmp_path: Path, ray_cluster: RayCluster) -> None:
    first = backend(tmp_path, ray_cluster)
    first.launch(LaunchRequest("keep.1", "j", "sleep 1.5; echo survived; exit 2"))
    started = wait(first, "keep.1", lambda s: s.started_at is not None)
    first.close()  # the service stops; its driver goes with it
    again = backend(tmp_path, ray_cluster)
    try:
        status = wait(again, "keep.1")
        assert (status.state, status.exit_code) == (RunState.FAILED, 2)
        assert status.started_at == started.started_at
        assert again.log_paths("keep.1")[0].read_text() == "survived\n"
    finally:
        again.close()


def test_the_time_limit_holds_while_nobody_watches(tmp_path: Path, ray_cluster: RayCluster) -> None:
    first = backend(tmp_path, ray_cluster)
    first.launch(LaunchRequest("lim.1", "j", "sleep 300", time_limit_s=1.0))
    wait(first, "lim.1", lambda s: s.started_at is not None)
    first.close()
    time.sleep(2.0)  # the actor stops the command at its limit on its own
    again = backend(tmp_path, ray_cluster)
    try:
        status = wait(again, "lim.1")
        assert status.state is RunState.TIMED_OUT
        assert status.finished_at is not None and status.started_at is not None
        assert 0.9 < status.finished_at - status.started_at < 2.0
    finally:
        again.close()


def test_a_failing_node_stops_the_whole_gang(tmp_path: Path, ray_cluster: RayCluster) -> None:
    b = backend(tmp_path, ray_cluster)
    command = 'if [ "$COMPUTENET_NODE_INDEX" = 1 ]; then exit 9; fi; sleep 300'
    request = LaunchRequest("g.1", "j", command, devices=((0, (0,)), (1, (0,))), accelerator="A100")
    try:
        b.launch(request)
        status = wait(b, "g.1")
        assert (status.state, status.exit_code) == (RunState.FAILED, 9)
    finally:
        b.close()


def test_discovery_of_a_ray_site(ray_cluster: RayCluster) -> None:
    site = ray_site("ai-ray", address=ray_cluster.address, driver_prefix=ray_cluster.prefix)
    assert site["pools"] == [
        {
            "name": "a100-x4",
            "accelerator": "A100",
            "accelerators_per_node": 4,
            "cpus_per_node": 4,
            "memory_gib_per_node": site["pools"][0]["memory_gib_per_node"],
            "nodes": 1,
        }
    ]
    assert site["backend"]["kind"] == "ray"
    assert site["backend"]["address"] == ray_cluster.address


def _processes_of(run_id: str) -> dict[int, bytes]:
    """pid -> cmdline of the processes whose environment names this run."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if f"COMPUTENET_RUN_ID={run_id}".encode() in env:
                found[int(pid)] = Path(f"/proc/{pid}/cmdline").read_bytes()
    return found


def test_when_the_actor_dies_its_command_dies_too(tmp_path: Path, ray_cluster: RayCluster) -> None:
    b = backend(tmp_path, ray_cluster)
    b.launch(LaunchRequest("orphan.1", "j", "sleep 300"))
    wait(b, "orphan.1", lambda s: s.started_at is not None)
    guard = next(p for p, cmd in _processes_of("orphan.1").items() if b"computenet-run" in cmd)
    actor = int(Path(f"/proc/{guard}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.kill(actor, signal.SIGKILL)  # the worker process that hosts the actor
    status = wait(b, "orphan.1")
    assert status.state is RunState.LOST, status
    deadline = time.monotonic() + 10
    while _processes_of("orphan.1"):  # the watchdog took the command down with it
        assert time.monotonic() < deadline, _processes_of("orphan.1")
        time.sleep(0.1)
