"""Reading Slurm 22.05's answers, on outputs recorded from a real cluster (the testkit's:
two nodes, tk1 with two a100 GPUs and tk2 with two v100; see tests/fixtures/slurm/).

Jobs in the recordings: 1 `exit 0`, 2 `exit 3`, 3 killed by SIGKILL, 4 `--time=1` running
`sleep 300`, 5 a two-node gang, 6 waiting for both a100; then 5 and 6 cancelled, and 4
over its time limit."""

from datetime import datetime
from pathlib import Path

import pytest

from computenet.backends.base import RunState
from computenet.backends.slurm_parse import (
    GresEntry,
    controller_unreachable,
    job_outcome,
    parse_exit_code,
    parse_gres,
    parse_jobs,
    parse_nodes,
    parse_records,
    parse_time,
    pools_from_nodes,
)

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def outcomes(name: str) -> dict[str, tuple[RunState, int | None]]:
    jobs = parse_jobs(recorded(name))
    return {job.name: (job_outcome(job)[0], job.exit_code) for job in jobs.values()}


def test_jobs_while_some_run_and_one_waits() -> None:
    assert outcomes("show_job_running.txt") == {
        "ok.1": (RunState.SUCCEEDED, 0),
        "bad.1": (RunState.FAILED, 3),
        "sig.1": (RunState.FAILED, 128 + 9),
        "tout.1": (RunState.RUNNING, None),
        "gang.1": (RunState.RUNNING, None),
        "pend.1": (RunState.RUNNING, None),
    }
    jobs = {j.name: j for j in parse_jobs(recorded("show_job_running.txt")).values()}
    assert jobs["pend.1"].started_at is None  # StartTime=Unknown: not started
    assert "Resources" in job_outcome(jobs["pend.1"])[1]
    assert jobs["gang.1"].nodes == "tk[1-2]"
    assert jobs["tout.1"].started_at == datetime(2026, 11, 24, 22, 3, 48).timestamp()
    assert jobs["ok.1"].finished_at is not None


def test_cancelled_jobs_running_or_waiting() -> None:
    jobs = {j.name: j for j in parse_jobs(recorded("show_job_cancelled.txt")).values()}
    assert job_outcome(jobs["gang.1"])[0] is RunState.CANCELLED
    assert job_outcome(jobs["pend.1"])[0] is RunState.CANCELLED
    assert jobs["pend.1"].nodes == ""  # it never had nodes: the backend reports no start


def test_a_job_over_its_time_limit() -> None:
    jobs = {j.name: j for j in parse_jobs(recorded("show_job_final.txt")).values()}
    state, message = job_outcome(jobs["tout.1"])
    assert state is RunState.TIMED_OUT
    assert "TIMEOUT" in message and "TimeLimit" in message


def test_records_keep_keys_with_colons_and_slashes() -> None:
    record = parse_records(recorded("show_job_running.txt"))[0]
    assert record["AllocNode:Sid"].startswith("localhost:")
    assert record["CPUs/Task"] == "1"
    assert record["JobName"] == "ok.1"
    assert parse_records("No jobs in the system\n") == []


@pytest.mark.parametrize(
    ("text", "code"), [("0:0", 0), ("3:0", 3), ("0:9", 137), ("0:15", 143), ("", None), ("x", None)]
)
def test_exit_codes(text: str, code: int | None) -> None:
    assert parse_exit_code(text) == code


def test_times() -> None:
    assert parse_time("2026-11-24T22:03:48") == datetime(2026, 11, 24, 22, 3, 48).timestamp()
    assert parse_time("Unknown") is None
    assert parse_time("N/A") is None


def test_gres_strings() -> None:
    assert parse_gres("gpu:a100:2(S:0-1)") == [GresEntry("gpu", "a100", 2)]
    assert parse_gres("gpu:a100:1(IDX:0),gpu:2,nic:1") == [
        GresEntry("gpu", "a100", 1),
        GresEntry("gpu", None, 2),
        GresEntry("nic", None, 1),
    ]
    assert parse_gres("(null)") == []


def test_nodes_and_their_pools() -> None:
    nodes = parse_nodes(recorded("show_node_idle.txt"))
    assert [(n.name, n.cpus, n.gpus, n.partitions) for n in nodes] == [
        ("tk1", 4, (GresEntry("gpu", "a100", 2),), ("gpu",)),
        ("tk2", 4, (GresEntry("gpu", "v100", 2),), ("gpu",)),
    ]
    pools = pools_from_nodes(nodes, str.upper, partition="gpu")
    assert [
        (p["name"], p["accelerator"], p["accelerators_per_node"], p["nodes"]) for p in pools
    ] == [
        ("a100-x2", "A100", 2, 1),
        ("v100-x2", "V100", 2, 1),
    ]
    assert pools_from_nodes(nodes, str.upper, partition="other") == []


def test_gpus_in_use_per_node() -> None:
    busy = {
        r["NodeName"]: sum(g.count for g in parse_gres(r["GresUsed"]))
        for r in parse_records(recorded("show_node_busy.txt"))
    }
    assert busy == {"tk1": 1, "tk2": 1}
    idle = {
        r["NodeName"]: sum(g.count for g in parse_gres(r["GresUsed"]))
        for r in parse_records(recorded("show_node_idle.txt"))
    }
    assert idle == {"tk1": 0, "tk2": 0}


def test_an_unreachable_controller_is_not_a_refusal() -> None:
    assert controller_unreachable(recorded("scontrol_down.txt"))
    assert not controller_unreachable(recorded("sbatch_refused.txt"))
