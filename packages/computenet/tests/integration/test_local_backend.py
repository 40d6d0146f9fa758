"""LocalBackend with real subprocesses: outcomes, logs, environment, process groups, time
limits, idempotency, and crash safety (the service dropped or SIGKILLed at any point).

Every run uses a grace period of 0.2 s so that SIGTERM -> SIGKILL escalation is quick.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from computenet.backends import (
    BackendError,
    InvalidRequest,
    LaunchRequest,
    LocalBackend,
    RunConflict,
    RunState,
    RunStatus,
    UnknownRun,
)
from computenet.backends import _wrapper as w

pytestmark = pytest.mark.integration

GRACE = 0.2

# ----------------------------------------------------------------------------- helpers


def proc_alive(pid: int) -> bool:
    """A live process (a zombie counts as dead)."""
    st = w.proc_stat(pid)
    return st is not None and st.state not in ("Z", "X")


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def wait_status(
    backend: LocalBackend,
    run_id: str,
    predicate: Callable[[RunStatus], bool] = lambda s: s.terminal,
    timeout: float = 5.0,
) -> RunStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = backend.status([run_id])[run_id]
        if predicate(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last status {status}")
        time.sleep(0.01)


def read_pid_file(path: Path, timeout: float = 5.0) -> int:
    wait_until(lambda: path.exists() and path.read_text().strip() != "", timeout)
    return int(path.read_text())


def wrapper_pid(backend: LocalBackend, run_id: str) -> int:
    pid_file = backend.run_dir(run_id) / w.PID
    wait_until(pid_file.exists)
    pid = json.loads(pid_file.read_text())["pid"]
    assert isinstance(pid, int)
    return pid


def req(run_id: str, command: str, **kw: Any) -> LaunchRequest:
    return LaunchRequest(
        run_id=run_id, job_id=run_id.split(".", maxsplit=1)[0], command=command, **kw
    )


def kill_leftovers(root: Path) -> None:
    for pid_file in (root / "runs").glob("*/pid"):
        record = json.loads(pid_file.read_text())
        pid = record.get("pid")
        st = w.proc_stat(pid) if isinstance(pid, int) else None
        if st is not None and st.start_time == record.get("start_time"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "root"
    yield path
    kill_leftovers(path)
    LocalBackend(path).status(LocalBackend(path).runs())  # reap what we started


@pytest.fixture
def backend(root: Path) -> LocalBackend:
    return LocalBackend(root, grace_s=GRACE)


# ----------------------------------------------------------------------------- outcomes


def test_success_writes_stdout_and_reaps_the_wrapper(backend: LocalBackend) -> None:
    first = backend.launch(req("ok.1", "echo hello; echo world"))
    assert first.state is RunState.RUNNING
    status = wait_status(backend, "ok.1")
    assert status.state is RunState.SUCCEEDED
    assert status.exit_code == 0
    assert status.started_at is not None and status.finished_at is not None
    assert status.started_at <= status.finished_at
    stdout, stderr = backend.log_paths("ok.1")
    assert stdout.read_text() == "hello\nworld\n"
    assert stderr.read_text() == ""
    assert w.proc_stat(wrapper_pid(backend, "ok.1")) is None  # reaped: no zombie left
    assert backend.runs() == ["ok.1"]


def test_nonzero_exit_is_failed_with_its_code_and_stderr(backend: LocalBackend) -> None:
    backend.launch(req("bad.1", "echo oops >&2; exit 7"))
    status = wait_status(backend, "bad.1")
    assert (status.state, status.exit_code) == (RunState.FAILED, 7)
    assert "7" in status.message
    assert backend.log_paths("bad.1")[1].read_text() == "oops\n"


def test_environment_and_devices_are_visible_to_the_job(root: Path) -> None:
    backend = LocalBackend(root, devices_per_node=4, grace_s=GRACE)
    names = [
        "FOO",
        "CUDA_VISIBLE_DEVICES",
        "ASCEND_RT_VISIBLE_DEVICES",
        "COMPUTENET_DEVICES",
        "COMPUTENET_NODES",
        "COMPUTENET_JOB_ID",
        "COMPUTENET_RUN_ID",
    ]
    command = 'echo "' + "|".join(f"${n}" for n in names) + '"'
    devices = ((2, (1, 3)), (5, (0,)))
    backend.launch(req("env.1", command, env={"FOO": "bar baz"}, devices=devices))
    backend.launch(
        req("cpu.1", 'echo "[$CUDA_VISIBLE_DEVICES]"', env={"CUDA_VISIBLE_DEVICES": "0"})
    )
    assert wait_status(backend, "env.1").state is RunState.SUCCEEDED
    out = backend.log_paths("env.1")[0].read_text().strip()
    assert out.split("|") == ["bar baz", "1,3", "1,3", "1,3", "2:1,3;5:0", "env", "env.1"]
    # a run without devices on a machine with devices sees none
    assert wait_status(backend, "cpu.1").state is RunState.SUCCEEDED
    assert backend.log_paths("cpu.1")[0].read_text() == "[]\n"
    with pytest.raises(InvalidRequest, match="out of range"):
        backend.launch(req("gpu.1", "true", devices=((0, (4,)),)))
    assert "gpu.1" not in backend.runs()


def test_workdir_is_honoured_and_defaults_to_the_run_dir(
    backend: LocalBackend, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    backend.launch(req("wd.1", "pwd; touch made-here", workdir=str(workdir)))
    backend.launch(req("wd.2", "pwd"))
    assert wait_status(backend, "wd.1").state is RunState.SUCCEEDED
    assert backend.log_paths("wd.1")[0].read_text().strip() == str(workdir)
    assert (workdir / "made-here").exists()
    assert wait_status(backend, "wd.2").state is RunState.SUCCEEDED
    assert backend.log_paths("wd.2")[0].read_text().strip() == str(backend.run_dir("wd.2"))
    with pytest.raises(InvalidRequest, match="absolute"):
        backend.launch(req("wd.3", "true", workdir="relative/dir"))
    with pytest.raises(InvalidRequest, match="not a directory"):
        backend.launch(req("wd.4", "true", workdir=str(tmp_path / "missing")))
    assert backend.runs() == ["wd.1", "wd.2"]


def test_leftover_background_processes_are_stopped_when_the_command_ends(
    backend: LocalBackend, tmp_path: Path
) -> None:
    backend.launch(req("bg.1", f"sleep 30 & echo $! > {tmp_path}/bg; exit 0"))
    background = read_pid_file(tmp_path / "bg")
    status = wait_status(backend, "bg.1")
    assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
    assert not proc_alive(background)


# ----------------------------------------------------------------------------- cancel, limits


def test_cancel_kills_the_whole_process_group(backend: LocalBackend, tmp_path: Path) -> None:
    backend.launch(req("c.1", f"sleep 30 & echo $! > {tmp_path}/grandchild; sleep 30"))
    grandchild = read_pid_file(tmp_path / "grandchild")
    wrapper = wrapper_pid(backend, "c.1")
    assert proc_alive(grandchild) and proc_alive(wrapper)
    backend.cancel("c.1")
    status = wait_status(backend, "c.1")
    assert status.state is RunState.CANCELLED
    assert not proc_alive(grandchild) and not proc_alive(wrapper)
    assert backend.cancel("c.1") == status  # idempotent
    assert (backend.run_dir("c.1") / w.CANCELLED).exists()


def test_cancel_escalates_to_sigkill_after_the_grace_period(
    backend: LocalBackend, tmp_path: Path
) -> None:
    command = f"trap '' TERM; sleep 30 & echo $! > {tmp_path}/stubborn; sleep 30"
    backend.launch(req("c.2", command))
    stubborn = read_pid_file(tmp_path / "stubborn")
    t0 = time.monotonic()
    backend.cancel("c.2")
    status = wait_status(backend, "c.2")
    assert time.monotonic() - t0 >= GRACE
    assert status.state is RunState.CANCELLED
    assert status.exit_code is None  # killed with its wrapper before an exit code
    assert not proc_alive(stubborn)


def test_cancel_right_after_launch_never_half_starts(backend: LocalBackend, tmp_path: Path) -> None:
    """Cancel races the wrapper's start: the run is CANCELLED either way, and a run with
    no started_at never ran its command."""
    for i in range(5):
        marker = tmp_path / f"ran-{i}"
        backend.launch(req(f"race.{i}", f"touch {marker}; sleep 30"))
        backend.cancel(f"race.{i}")
        status = wait_status(backend, f"race.{i}")
        assert status.state is RunState.CANCELLED
        if status.started_at is None:
            assert not marker.exists()


def test_cancel_of_a_finished_run_changes_nothing(backend: LocalBackend) -> None:
    backend.launch(req("done.1", "exit 0"))
    status = wait_status(backend, "done.1")
    assert backend.cancel("done.1") == status
    assert not (backend.run_dir("done.1") / w.CANCELLED).exists()
    with pytest.raises(UnknownRun):
        backend.cancel("nope.1")


def test_time_limit_is_enforced_by_the_wrapper_while_nobody_polls(
    root: Path, tmp_path: Path
) -> None:
    backend = LocalBackend(root, grace_s=GRACE)
    backend.launch(req("t.1", f"sleep 30 & echo $! > {tmp_path}/child; wait", time_limit_s=0.3))
    del backend  # the service is down while the limit passes
    child = read_pid_file(tmp_path / "child")
    wrapper = json.loads((root / "runs" / "t.1" / w.PID).read_text())["pid"]
    wait_until(lambda: not proc_alive(wrapper), timeout=3)
    status = LocalBackend(root, grace_s=GRACE).status(["t.1"])["t.1"]
    assert status.state is RunState.TIMED_OUT
    assert not proc_alive(child)
    marker = json.loads((root / "runs" / "t.1" / w.TIMED_OUT).read_text())
    assert marker["by"] == "wrapper"


def test_time_limit_is_enforced_by_status_too(root: Path) -> None:
    """The wrapper's own limit (60 s) is far away; the backend's clock says it has passed."""
    backend = LocalBackend(root, grace_s=GRACE, clock=lambda: time.time() + 1000)
    backend.launch(req("t.2", "sleep 30", time_limit_s=60))
    status = wait_status(backend, "t.2")
    assert status.state is RunState.TIMED_OUT
    marker = json.loads((backend.run_dir("t.2") / w.TIMED_OUT).read_text())
    assert marker["by"] == "backend"


# ----------------------------------------------------------------------------- idempotency


def test_launch_is_idempotent(backend: LocalBackend, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    request = req("once.1", f"echo run >> {counter}; sleep 0.2")
    first = backend.launch(request)
    again = backend.launch(request)  # while starting
    assert first.state is again.state is RunState.RUNNING
    wait_status(backend, "once.1", lambda s: s.started_at is not None)
    backend.launch(request)  # while running
    done = wait_status(backend, "once.1")
    assert done.state is RunState.SUCCEEDED
    assert backend.launch(request) == done  # finished
    assert LocalBackend(backend.root, grace_s=GRACE).launch(request) == done  # another object
    assert counter.read_text() == "run\n"
    assert backend.runs() == ["once.1"]
    with pytest.raises(RunConflict):
        backend.launch(req("once.1", "echo something else"))


def test_concurrent_wrappers_for_one_run_run_the_command_once(
    backend: LocalBackend, tmp_path: Path
) -> None:
    """The exclusive claim of `pid`: however many wrappers start, one runs the command."""
    counter = tmp_path / "counter"
    request = req("race.1", f"echo run >> {counter}")
    run_dir = backend.root / "runs" / "race.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))
    argv = [sys.executable, "-I", "-S", w.__file__, str(run_dir), str(GRACE)]
    wrappers = [subprocess.Popen(argv, start_new_session=True) for _ in range(6)]
    assert [p.wait(timeout=5) for p in wrappers] == [0] * 6
    assert counter.read_text() == "run\n"
    assert wait_status(backend, "race.1").state is RunState.SUCCEEDED


# ----------------------------------------------------------------------------- restarts


def test_run_survives_the_backend_object_being_dropped(root: Path, tmp_path: Path) -> None:
    done = tmp_path / "done"
    backend = LocalBackend(root, grace_s=GRACE)
    backend.launch(req("r.1", f"sleep 1; echo finished > {done}; echo out; echo err >&2"))
    del backend  # the service dies: nothing of it is left

    revived = LocalBackend(root, grace_s=GRACE)
    assert revived.runs() == ["r.1"]
    assert revived.status(["r.1"])["r.1"].state is RunState.RUNNING
    status = wait_status(revived, "r.1")
    assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
    assert done.read_text() == "finished\n"
    stdout, stderr = revived.log_paths("r.1")
    assert (stdout.read_text(), stderr.read_text()) == ("out\n", "err\n")


LAUNCHER = """
import sys, time
from pathlib import Path
from computenet.backends import LaunchRequest, LocalBackend
backend = LocalBackend(Path(sys.argv[1]), grace_s=0.2)
backend.launch(LaunchRequest(run_id="k.1", job_id="k", command=sys.argv[2]))
print("launched", flush=True)
time.sleep(60)
"""


def test_run_survives_the_launching_process_being_sigkilled(root: Path, tmp_path: Path) -> None:
    done = tmp_path / "done"
    command = f"sleep 0.5; echo finished > {done}; echo out"
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(root), command], stdout=subprocess.PIPE, text=True
    )
    try:
        assert launcher.stdout is not None
        assert launcher.stdout.readline() == "launched\n"
    finally:
        launcher.kill()
        launcher.wait()
        if launcher.stdout is not None:
            launcher.stdout.close()
    assert launcher.returncode == -signal.SIGKILL

    revived = LocalBackend(root, grace_s=GRACE)
    status = wait_status(revived, "k.1")
    assert (status.state, status.exit_code) == (RunState.SUCCEEDED, 0)
    assert done.read_text() == "finished\n"
    assert revived.log_paths("k.1")[0].read_text() == "out\n"
    assert revived.launch(revived.request("k.1")) == status  # re-launch after restart: no-op


def test_a_sigkilled_wrapper_makes_the_run_lost_and_its_processes_are_killed(
    backend: LocalBackend, tmp_path: Path
) -> None:
    backend.launch(req("lost.1", f"sleep 30 & echo $! > {tmp_path}/child; wait"))
    child = read_pid_file(tmp_path / "child")
    os.kill(wrapper_pid(backend, "lost.1"), signal.SIGKILL)
    status = wait_status(backend, "lost.1")
    assert status.state is RunState.LOST
    assert "without recording an exit code" in status.message
    wait_until(lambda: not proc_alive(child))  # the orphaned job does not run on


def test_a_launch_interrupted_before_the_spawn_is_started_by_the_next_launch(
    root: Path, tmp_path: Path
) -> None:
    """The service died after writing spec.json and `launching`, before spawning."""
    counter = tmp_path / "counter"
    request = req("i.1", f"echo run >> {counter}")
    run_dir = root / "runs" / "i.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))
    dead_owner = {"pid": os.getpid(), "start_time": -1, "boot_id": w.boot_id()}
    (run_dir / w.LAUNCHING).write_text(json.dumps({"owner": dead_owner, "at": time.time()}))

    backend = LocalBackend(root, grace_s=GRACE)
    assert backend.status(["i.1"])["i.1"].message == "starting"  # a wrapper may still come
    backend.launch(request)
    assert wait_status(backend, "i.1").state is RunState.SUCCEEDED
    assert counter.read_text() == "run\n"


def test_a_run_that_never_started_becomes_lost_for_good(root: Path, tmp_path: Path) -> None:
    """spec.json written, then the service died; status() gives the run up, and from then
    on no launch may start it (the service may retry it under a new run id)."""
    counter = tmp_path / "counter"
    request = req("n.1", f"echo run >> {counter}")
    run_dir = root / "runs" / "n.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))

    backend = LocalBackend(root, grace_s=GRACE)
    status = backend.status(["n.1"])["n.1"]
    assert status.state is RunState.LOST
    assert "never ran" in status.message
    assert backend.launch(request) == status
    assert LocalBackend(root).launch(request) == status
    time.sleep(0.1)
    assert not counter.exists()


def test_a_stale_launch_lock_without_a_claim_is_lost(root: Path) -> None:
    request = req("s.1", "true")
    run_dir = root / "runs" / "s.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))
    owner = w.process_record(os.getpid())  # alive, but the lock is older than the timeout
    (run_dir / w.LAUNCHING).write_text(json.dumps({"owner": owner, "at": time.time() - 60}))
    backend = LocalBackend(root, startup_timeout_s=10)
    assert backend.status(["s.1"])["s.1"].state is RunState.LOST


def test_cancel_of_a_run_that_never_started(root: Path, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    request = req("cb.1", f"echo run >> {counter}")
    run_dir = root / "runs" / "cb.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))
    backend = LocalBackend(root, grace_s=GRACE)
    status = backend.cancel("cb.1")
    assert status.state is RunState.CANCELLED
    assert status.started_at is None
    assert backend.launch(request) == status
    time.sleep(0.1)
    assert not counter.exists()


def test_a_run_from_before_a_reboot_is_lost(root: Path) -> None:
    request = req("boot.1", "sleep 30")
    run_dir = root / "runs" / "boot.1"
    run_dir.mkdir(parents=True)
    (run_dir / w.SPEC).write_text(json.dumps(request.to_dict()))
    record = {"pid": os.getpid(), "start_time": 1, "boot_id": "another-boot"}
    (run_dir / w.PID).write_text(json.dumps(record))
    status = LocalBackend(root).status(["boot.1"])["boot.1"]
    assert status.state is RunState.LOST
    assert "rebooted" in status.message


def test_a_wrapper_that_cannot_start_makes_the_run_lost(root: Path) -> None:
    backend = LocalBackend(root, grace_s=GRACE, python="/bin/false")
    backend.launch(req("nw.1", "true"))
    status = wait_status(backend, "nw.1")
    assert status.state is RunState.LOST
    assert "before starting the command" in status.message
    broken = LocalBackend(root, python=str(root / "no-such-python"))
    with pytest.raises(BackendError, match="cannot start"):
        broken.launch(req("nw.2", "true"))
    assert broken.status(["nw.2"])["nw.2"].state is RunState.LOST


def test_unknown_and_invalid_run_ids(backend: LocalBackend) -> None:
    statuses = backend.status(["nope.1", "../etc", ""])
    assert {s.state for s in statuses.values()} == {RunState.LOST}
    with pytest.raises(UnknownRun):
        backend.log_paths("nope.1")
    with pytest.raises(InvalidRequest):
        backend.launch(req("../escape", "true"))
    with pytest.raises(InvalidRequest):
        backend.launch(req("x.1", "true", time_limit_s=0))
    assert backend.runs() == []
