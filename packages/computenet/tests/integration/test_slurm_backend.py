"""SlurmBackend on the real test cluster, beyond the conformance suite: loopback-only
daemons, typed GRES, refusals, a controller that is down, adoption after a crash, and the
discovery of a site's pools."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from computenet.backends import InvalidRequest, LaunchRequest, RunState, RunStatus
from computenet.backends.slurm import JOB_ID, SlurmBackend
from testkit.slurm import SlurmCluster

pytestmark = pytest.mark.integration


def backend(root: Path, cluster: SlurmCluster) -> SlurmBackend:
    return SlurmBackend(root, conf=cluster.conf, poll_interval_s=0.1, retry_after_s=0.5)


def wait(
    b: SlurmBackend, run_id: str, done: Callable[[RunStatus], bool] = lambda s: s.terminal
) -> RunStatus:
    deadline = time.monotonic() + 30
    while not done(status := b.status([run_id])[run_id]):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def test_every_daemon_listens_on_loopback_only(tmp_path: Path, slurm_cluster: SlurmCluster) -> None:
    pids = slurm_cluster.pids()
    assert {"munged", "slurmctld", "slurmd-tk1", "slurmd-tk2"} == set(pids)
    b = backend(tmp_path, slurm_cluster)
    gang = LaunchRequest("g.1", "j", "sleep 3", devices=((0, (0,)), (1, (0,))))
    wait(b, b.launch(gang).run_id, lambda s: s.started_at is not None)  # srun listens too
    lines = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    names = ('(("slurmctld"', '(("slurmd"', '(("slurmstepd"', '(("srun"', '(("munged"')
    ours = [line for line in lines.splitlines() if any(n in line for n in names)]
    assert any(f"pid={pids['slurmctld']}," in line for line in ours)
    assert any('(("srun"' in line for line in ours)
    assert not any(f"pid={pids['munged']}," in line for line in ours)  # a Unix socket only
    for line in ours:
        assert line.split()[3].startswith("127.0.0.1:"), line
    assert wait(b, "g.1").state is RunState.SUCCEEDED


@pytest.mark.parametrize(("accelerator", "node"), [("A100", "tk1"), ("V100", "tk2")])
def test_typed_gres_runs_on_a_node_with_that_type(
    tmp_path: Path, slurm_cluster: SlurmCluster, accelerator: str, node: str
) -> None:
    b = backend(tmp_path, slurm_cluster)
    command = 'echo "$SLURMD_NODENAME $CUDA_VISIBLE_DEVICES $SLURM_JOB_GPUS"'
    request = LaunchRequest("t.1", "j", command, devices=((0, (0, 1)),), accelerator=accelerator)
    assert wait(b, b.launch(request).run_id).state is RunState.SUCCEEDED
    assert b.log_paths("t.1")[0].read_text().split() == [node, "0,1", "0,1"]
    job_id = b.slurm_job_id("t.1")
    assert job_id is not None and job_id.isdigit()


def test_a_request_slurm_refuses_is_invalid_and_unknown(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    b = backend(tmp_path, slurm_cluster)
    no_such_gpu = LaunchRequest("h.1", "j", "true", devices=((0, (0,)),), accelerator="H100")
    with pytest.raises(InvalidRequest, match="Slurm refused"):
        b.launch(no_such_gpu)
    assert b.runs() == []
    assert b.status(["h.1"])["h.1"].state is RunState.LOST


def test_while_the_controller_is_down_runs_wait_and_submissions_are_retried(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    b = backend(tmp_path, slurm_cluster)
    b.launch(LaunchRequest("up.1", "j", "sleep 2; exit 7"))
    started = wait(b, "up.1", lambda s: s.started_at is not None)
    slurm_cluster.stop_controller()
    try:
        time.sleep(0.2)  # past the poll interval: the backend asks the controller again
        down = b.status(["up.1"])["up.1"]
        assert (down.state, down.started_at) == (RunState.RUNNING, started.started_at)
        assert "unreachable" in down.message
        later = b.launch(LaunchRequest("later.1", "j", "exit 0"))
        assert later.state is RunState.RUNNING and "not submitted" in later.message
    finally:
        slurm_cluster.start_controller()
    assert (wait(b, "up.1").state, b.status(["up.1"])["up.1"].exit_code) == (RunState.FAILED, 7)
    assert wait(b, "later.1").state is RunState.SUCCEEDED


def test_a_job_submitted_before_a_crash_is_adopted_not_submitted_again(
    tmp_path: Path, slurm_cluster: SlurmCluster
) -> None:
    first = backend(tmp_path, slurm_cluster)
    first.launch(LaunchRequest("once.1", "j", "echo ran"))
    job_id = first.slurm_job_id("once.1")
    (tmp_path / "runs" / "once.1" / JOB_ID).unlink()  # as if it crashed before writing it
    again = backend(tmp_path, slurm_cluster)  # the service restarted
    assert again.launch(LaunchRequest("once.1", "j", "echo ran")).state is RunState.RUNNING
    assert again.slurm_job_id("once.1") == job_id
    assert wait(again, "once.1").state is RunState.SUCCEEDED
    assert again.log_paths("once.1")[0].read_text() == "ran\n"  # it ran once


def test_site_add_from_slurm_discovers_the_pools(slurm_cluster: SlurmCluster) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "computenet.cli.main",
            "site",
            "add",
            "--from-slurm",
            str(slurm_cluster.conf),
            "--name",
            "hpc-a",
            "--partition",
            "gpu",
            "--print",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("SLURM")},
    )
    assert done.returncode == 0, done.stderr
    site = yaml.safe_load(done.stdout)
    assert site["name"] == "hpc-a"
    assert [(p["accelerator"], p["accelerators_per_node"], p["nodes"]) for p in site["pools"]] == [
        ("A100", 2, 1),
        ("V100", 2, 1),
    ]
    assert site["pools"][1]["slurm_nodes"] == ["tk2"]
    assert site["backend"] == {
        "kind": "slurm",
        "conf": str(slurm_cluster.conf),
        "partition": "gpu",
    }
