"""LocalBackend: runs as real processes on this machine, surviving restarts of the service.

Everything about a run lives in its directory `ROOT/runs/<run_id>/`:

    spec.json     the LaunchRequest (written first, atomically)
    launching     a spawn is under way: {"owner": service process, "at": clock time}
    pid           who owns the run, created exclusively, exactly once: either the wrapper
                  process {"pid", "start_time" (/proc/<pid>/stat field 22), "boot_id"}, or
                  {"abandoned": true, "reason"} when the backend gave up a run that never
                  started
    stdout.log    the command's output (appended, never truncated)
    stderr.log
    started_at    epoch seconds when the wrapper started the command
    exit_code     the command's exit status (128+N for signal N), written by the wrapper
    finished_at   epoch seconds
    cancelled     marker {"at"}: cancel() was called
    timed_out     marker {"at", "by", "limit_s"}: the time limit was enforced

A run is supervised by a small wrapper process (`_wrapper.py`, stdlib only) started as the
leader of its own session and process group; the wrapper runs `/bin/sh -c COMMAND` in that
group, enforces the time limit, and writes `exit_code` when the command ends, whether or not
the service is alive. The service therefore only *reads* a run's state from its files and
/proc; the wrapper does the work.

State of a run, derived from the files (first match):
  no `pid` yet        RUNNING "starting" while a spawn may still claim the run (a wrapper of
                      this process is alive, or `launching` is younger than
                      startup_timeout_s); otherwise the backend claims `pid` as abandoned
                      (so no late wrapper can ever start the command) and the run is
                      CANCELLED if `cancelled` exists, else LOST ("never started")
  wrapper alive       RUNNING (pid + start time + boot id match and the process is not a
                      zombie, so a recycled pid is not mistaken for ours)
  wrapper gone, but   RUNNING "waiting for the run's processes to exit", after a SIGKILL to
  group not empty     the group: a terminal state means that no process of the run's
                      process group is left (its devices are free)
  wrapper gone        CANCELLED if `cancelled`, TIMED_OUT if `timed_out`, SUCCEEDED/FAILED
                      from `exit_code`, otherwise LOST (the wrapper was killed, or the
                      machine rebooted: another boot id)

Crash safety (the service may be SIGKILLed between any two steps of launch):
  1. spec.json is written atomically before anything else; without it the run is unknown
     (a bare directory left by a crash before this is ignored and reused).
  2. `launching` is created exclusively before spawning (a hard link of a complete file:
     O_EXCL semantics without a half-written state); a second launch() spawns nothing
     while it is fresh and its owner (the service process) is alive.
  3. The wrapper is spawned; it claims `pid` exclusively *before* it starts the command.
  The command can only start after step 3's claim succeeded, and `pid` can be claimed once
  only, so the command runs at most once per run dir, however many wrappers are spawned
  (e.g. launch() after a crash between 2 and 3, whose wrapper may or may not exist) and
  whatever the timing. When no `pid` exists, nothing has run yet, so spawning is safe:
  launch() spawns again when `launching` is missing, stale, or owned by a dead process.
  When status() gives up on a run that never claimed `pid` it claims `pid` itself
  ("abandoned"), which makes "never ran, never will" permanent: a LOST run can be retried
  under a new run id without any risk of the old one starting late.

Time limits are enforced twice: by the wrapper (so they hold while the service is down) and
by status() (marker `timed_out`, SIGTERM to the group). cancel() writes `cancelled` and
sends SIGTERM to the group; both the wrapper and later status() calls send SIGKILL to the
group once the grace period has passed. When a run's wrapper is found gone, the group gets a
SIGKILL so no orphan of a killed wrapper keeps running.

Linux only (/proc). One LocalBackend (one service process) per root at a time; several
objects in one process are fine. Thread-safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from computenet.backends import _wrapper as w
from computenet.backends.base import (
    BackendCapability,
    BackendError,
    InvalidRequest,
    LaunchRequest,
    RunConflict,
    RunState,
    RunStatus,
    UnknownRun,
    is_valid_run_id,
    validate_request,
)

__all__ = ["LocalBackend"]

_WRAPPER = str(Path(w.__file__).resolve())
# Ignored signals survive exec: give the wrapper default dispositions whatever the service did.
_DEFAULT_SIGNALS = (
    signal.SIGPIPE,
    signal.SIGXFSZ,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGCHLD,
    signal.SIGALRM,
    signal.SIGTSTP,
    signal.SIGTTIN,
    signal.SIGTTOU,
)
_DEVICE_VARS = ("CUDA_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES", "COMPUTENET_DEVICES")


@dataclass(frozen=True)
class _Proc:
    """A wrapper process as recorded in `pid`."""

    pid: int
    start_time: int | None
    boot_id: str | None


@dataclass(frozen=True)
class _Abandoned:
    reason: str


class LocalBackend:
    """Runs on this machine. `devices_per_node` > 0 checks device indexes and hides all
    devices from runs that have none; `grace_s` is the time between SIGTERM and SIGKILL;
    `clock` gives epoch seconds (it is compared with times written by the wrapper, so keep
    it time.time outside tests); `python` is the interpreter for the wrapper."""

    name = "local"
    capabilities = (
        BackendCapability.FRACTIONAL_DEVICES
        | BackendCapability.LOGS
        | BackendCapability.TIME_LIMITS
        | BackendCapability.DURABLE
    )

    def __init__(
        self,
        root: Path,
        *,
        devices_per_node: int = 0,
        clock: Callable[[], float] = time.time,
        grace_s: float = 5.0,
        startup_timeout_s: float = 30.0,
        python: str | None = None,
    ) -> None:
        if devices_per_node < 0 or grace_s < 0 or startup_timeout_s <= 0:
            raise ValueError("devices_per_node, grace_s >= 0 and startup_timeout_s > 0 expected")
        self.root = Path(root)
        self.devices_per_node = devices_per_node
        self.grace_s = grace_s
        self.startup_timeout_s = startup_timeout_s
        self._clock = clock
        self._python = python or sys.executable or "python3"
        self._runs_dir = self.root / "runs"
        self._runs_dir.mkdir(parents=True, exist_ok=True)
        self._boot_id = w.boot_id()
        self._me = w.process_record(os.getpid())
        self._lock = threading.RLock()
        self._children: dict[int, str] = {}  # wrapper pid -> run id, spawned here, not reaped
        self._final: dict[str, RunStatus] = {}  # terminal states never change
        self._specs: dict[str, dict[str, Any]] = {}
        self._swept: set[str] = set()

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    # ------------------------------------------------------------------------- interface

    def launch(self, request: LaunchRequest) -> RunStatus:
        validate_request(request)
        with self._lock:
            self._reap()
            run_dir = self._runs_dir / request.run_id
            spec = request.to_dict()
            existing = self._spec(request.run_id)
            if existing is None:
                self._check_local(request)
                run_dir.mkdir(exist_ok=True)
                w.fsync_dir(self._runs_dir)
                w.atomic_write(run_dir / w.SPEC, json.dumps(spec, indent=2, sort_keys=True) + "\n")
                self._specs[request.run_id] = spec
            elif existing != spec and {**existing, "accelerator": None} != {
                **spec,
                "accelerator": None,
            }:  # a run stored before requests named their accelerator is the same run
                raise RunConflict(
                    f"run {request.run_id} exists with a different request; "
                    "a new attempt needs a new run id"
                )
            if self._may_spawn(request.run_id, run_dir):
                self._spawn(request, run_dir)
            return self._status(request.run_id)

    def status(self, run_ids: Iterable[str]) -> dict[str, RunStatus]:
        with self._lock:
            self._reap()
            return {run_id: self._status(run_id) for run_id in run_ids}

    def cancel(self, run_id: str) -> RunStatus:
        with self._lock:
            self._reap()
            run_dir = self._known_dir(run_id)
            owner = self._owner(run_dir)
            ended = isinstance(owner, _Abandoned) or (
                isinstance(owner, _Proc) and not self._alive(owner)
            )
            if ended or run_id in self._final or (run_dir / w.EXIT_CODE).exists():
                return self._status(run_id)  # over, or the command ended and leftovers stop
            if (run_dir / w.CANCELLED).exists():
                return self._status(run_id)  # already cancelling; status() escalates
            w.atomic_write(run_dir / w.CANCELLED, json.dumps({"at": self._clock()}))
            # Marker first, then look for the process: a wrapper claims `pid` before it
            # checks the marker, so either it sees the marker or we see its pid.
            owner = self._owner(run_dir)
            if isinstance(owner, _Proc):
                self._signal_group(owner, signal.SIGTERM)
            for pid, child_run in list(self._children.items()):
                if child_run == run_id:  # still our unreaped child: the pid is not recycled
                    _killpg(pid, signal.SIGTERM)
            return self._status(run_id)

    def runs(self) -> list[str]:
        with self._lock:
            return sorted(
                p.name
                for p in self._runs_dir.iterdir()
                if is_valid_run_id(p.name) and (p / w.SPEC).exists()
            )

    def log_paths(self, run_id: str) -> tuple[Path, Path]:
        with self._lock:
            run_dir = self._known_dir(run_id)
        return run_dir / w.STDOUT, run_dir / w.STDERR

    def request(self, run_id: str) -> LaunchRequest:
        """The request a run was launched with (from its spec.json)."""
        with self._lock:
            self._known_dir(run_id)
            return LaunchRequest.from_dict(self._specs[run_id])

    def run_dir(self, run_id: str) -> Path:
        """The directory of a known run."""
        with self._lock:
            return self._known_dir(run_id)

    # ------------------------------------------------------------------------- launch

    def _check_local(self, request: LaunchRequest) -> None:
        if request.workdir is not None:
            if not os.path.isabs(request.workdir):
                raise InvalidRequest(f"run {request.run_id}: workdir must be an absolute path")
            if not os.path.isdir(request.workdir):
                raise InvalidRequest(
                    f"run {request.run_id}: workdir {request.workdir} is not a directory"
                )
        if self.devices_per_node:
            for node, devs in request.devices:
                if any(d >= self.devices_per_node for d in devs):
                    raise InvalidRequest(
                        f"run {request.run_id}: device index out of range on node {node} "
                        f"(this machine has {self.devices_per_node} devices per node)"
                    )

    def _may_spawn(self, run_id: str, run_dir: Path) -> bool:
        """Whether launch() should spawn a wrapper now; takes the `launching` lock if so."""
        if (run_dir / w.PID).exists() or (run_dir / w.CANCELLED).exists():
            return False  # claimed (running, finished or abandoned), or cancelled
        if run_id in self._children.values():
            return False  # our wrapper is starting
        # The lock only matters while this boot lasts (after a reboot every unclaimed run
        # is dead anyway), so it need not be fsynced.
        lock_text = json.dumps({"owner": self._me, "at": self._clock()})
        if w.claim(run_dir / w.LAUNCHING, lock_text, durable=False):
            return True
        lock = _read_json(run_dir / w.LAUNCHING)
        if lock is not None and self._fresh(lock) and self._owner_alive(lock):
            return False  # another launch() is spawning (in this or a live process)
        # A spawn owned by a dead process, or long ago, never claimed `pid`: nothing ran.
        # Spawning again is safe since only one wrapper can ever claim the run.
        w.atomic_write(run_dir / w.LAUNCHING, lock_text, durable=False)
        return True

    def _spawn(self, request: LaunchRequest, run_dir: Path) -> None:
        append = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        file_actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(run_dir / w.STDOUT), append, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, str(run_dir / w.STDERR), append, 0o644),
        ]
        argv = [self._python, "-I", "-S", _WRAPPER, str(run_dir), repr(float(self.grace_s))]
        try:
            pid = os.posix_spawn(
                self._python,
                argv,
                self._environment(request),
                file_actions=file_actions,
                setsid=True,
                setsigmask=(),
                setsigdef=_DEFAULT_SIGNALS,
            )
        except OSError as exc:
            w.unlink_quietly(run_dir / w.LAUNCHING)
            raise BackendError(f"run {request.run_id}: cannot start {self._python}: {exc}") from exc
        self._children[pid] = request.run_id

    def _environment(self, request: LaunchRequest) -> dict[str, str]:
        env = dict(os.environ)
        env.update(request.env)
        first = request.devices[0][1] if request.devices else ()
        devices = ",".join(str(d) for d in first)
        for var in _DEVICE_VARS:
            if request.devices or self.devices_per_node or var == "COMPUTENET_DEVICES":
                env[var] = devices
        env["COMPUTENET_NODES"] = ";".join(
            f"{node}:{','.join(str(d) for d in devs)}" for node, devs in request.devices
        )
        env["COMPUTENET_JOB_ID"] = request.job_id
        env["COMPUTENET_RUN_ID"] = request.run_id
        return env

    # ------------------------------------------------------------------------- status

    def _status(self, run_id: str) -> RunStatus:
        final = self._final.get(run_id)
        if final is not None:
            return final
        if not is_valid_run_id(run_id) or self._spec(run_id) is None:
            return RunStatus(run_id, RunState.LOST, message="unknown run")
        run_dir = self._runs_dir / run_id
        owner = self._owner(run_dir)
        if owner is None:
            return self._unclaimed(run_id, run_dir)
        if isinstance(owner, _Abandoned):
            return self._ended(run_id, run_dir, owner.reason)
        if self._alive(owner):
            return self._running(run_id, run_dir, owner)
        if run_id not in self._swept:  # leftovers of a killed wrapper must not run on
            self._swept.add(run_id)
            self._signal_group(owner, signal.SIGKILL)
        if self._group_alive(owner):  # terminal means no process of the run is left
            started_at = _read_float(run_dir / w.STARTED_AT)
            message = "waiting for the run's processes to exit"
            return RunStatus(run_id, RunState.RUNNING, started_at=started_at, message=message)
        if owner.boot_id and self._boot_id and owner.boot_id != self._boot_id:
            reason = "the machine rebooted while the run was running"
        else:
            reason = "the wrapper process ended without recording an exit code (killed?)"
        return self._ended(run_id, run_dir, reason)

    def _unclaimed(self, run_id: str, run_dir: Path) -> RunStatus:
        """No `pid` yet: starting, or a launch that will never start."""
        if (run_dir / w.CANCELLED).exists():
            return self._abandon(run_id, run_dir, "cancelled before the command started")
        if run_id in self._children.values():
            return RunStatus(run_id, RunState.RUNNING, message="starting")
        lock = _read_json(run_dir / w.LAUNCHING)
        if lock is not None and self._fresh(lock):
            return RunStatus(run_id, RunState.RUNNING, message="starting")
        return self._abandon(
            run_id, run_dir, "the launch was interrupted before the command started; it never ran"
        )

    def _abandon(self, run_id: str, run_dir: Path, reason: str) -> RunStatus:
        record = {"abandoned": True, "reason": reason, "at": self._clock()}
        w.claim(run_dir / w.PID, json.dumps(record))  # if a wrapper won, it owns the run
        return self._status(run_id)

    def _running(self, run_id: str, run_dir: Path, owner: _Proc) -> RunStatus:
        now = self._clock()
        started_at = _read_float(run_dir / w.STARTED_AT)
        cancelled = _read_json(run_dir / w.CANCELLED)
        timed_out = _read_json(run_dir / w.TIMED_OUT)
        limit = (self._spec(run_id) or {}).get("time_limit_s")
        if (
            cancelled is None
            and timed_out is None
            and limit is not None
            and started_at is not None
            and now >= started_at + limit
        ):
            timed_out = {"at": now, "by": "backend", "limit_s": limit}
            w.atomic_write(run_dir / w.TIMED_OUT, json.dumps(timed_out))
            self._signal_group(owner, signal.SIGTERM)
        marker = cancelled if cancelled is not None else timed_out
        if marker is not None and now >= _number(marker.get("at"), now) + self.grace_s:
            self._signal_group(owner, signal.SIGKILL)
        if cancelled is not None:
            message = "cancelling"
        elif timed_out is not None:
            message = "time limit exceeded; stopping"
        elif (run_dir / w.EXIT_CODE).exists():
            message = "the command ended; stopping the processes it left"
        else:
            message = "" if started_at is not None else "starting"
        return RunStatus(run_id, RunState.RUNNING, started_at=started_at, message=message)

    def _ended(self, run_id: str, run_dir: Path, lost_reason: str) -> RunStatus:
        """The wrapper is gone (or never ran the command): the final state, from the files."""
        exit_code = _read_int(run_dir / w.EXIT_CODE)
        started_at = _read_float(run_dir / w.STARTED_AT)
        finished_at = _read_float(run_dir / w.FINISHED_AT)
        if (run_dir / w.CANCELLED).exists():
            state, message = RunState.CANCELLED, "cancelled"
            if started_at is None:
                message = "cancelled before the command started"
        elif (marker := _read_json(run_dir / w.TIMED_OUT)) is not None:
            state, message = RunState.TIMED_OUT, f"time limit of {marker.get('limit_s')} s exceeded"
        elif exit_code is not None:
            state = RunState.SUCCEEDED if exit_code == 0 else RunState.FAILED
            message = "" if exit_code == 0 else _describe_exit(exit_code)
        else:
            state, message = RunState.LOST, lost_reason
        if finished_at is None and state is not RunState.LOST:
            finished_at = self._clock()
            w.atomic_write(run_dir / w.FINISHED_AT, repr(finished_at))
        result = RunStatus(run_id, state, exit_code, started_at, finished_at, message)
        self._final[run_id] = result
        return result

    # ------------------------------------------------------------------------- processes

    def _reap(self) -> None:
        """Collect exited wrappers spawned here; one that exited before claiming the run
        (it could not start) makes the run LOST at once rather than after the timeout."""
        for pid, run_id in list(self._children.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            del self._children[pid]
            run_dir = self._runs_dir / run_id
            if not (run_dir / w.PID).exists():
                code = os.waitstatus_to_exitcode(status)
                self._abandon(
                    run_id,
                    run_dir,
                    f"the wrapper exited ({code}) before starting the command; see {run_dir / w.STDERR}",
                )

    def _alive(self, proc: _Proc) -> bool:
        if proc.boot_id and self._boot_id and proc.boot_id != self._boot_id:
            return False
        st = w.proc_stat(proc.pid)
        if st is None:
            if proc.start_time is not None:
                return False
            try:  # no /proc when the run started: best effort
                os.kill(proc.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        if proc.start_time is not None and st.start_time != proc.start_time:
            return False  # the pid was recycled
        if st.state in ("Z", "X"):
            if st.ppid == os.getpid():  # our child (e.g. of a dropped LocalBackend): reap it
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(proc.pid, os.WNOHANG)
                self._children.pop(proc.pid, None)
            return False
        return True

    def _signal_group(self, proc: _Proc, sig: int) -> None:
        """Signal the run's process group, unless the group id may now belong to others.

        The group id is the wrapper's pid. While any member of the group lives, the kernel
        does not reuse that number, so: a process at that pid with another start time
        means our group is long gone; no process at that pid means the group, if any, is
        what the dead wrapper left behind."""
        if proc.boot_id and self._boot_id and proc.boot_id != self._boot_id:
            return
        st = w.proc_stat(proc.pid)
        if st is not None and proc.start_time is not None and st.start_time != proc.start_time:
            return
        _killpg(proc.pid, sig)

    def _group_alive(self, proc: _Proc) -> bool:
        """Whether a process of the run's group still lives (same reasoning as above)."""
        if proc.boot_id and self._boot_id and proc.boot_id != self._boot_id:
            return False
        st = w.proc_stat(proc.pid)
        if st is not None and proc.start_time is not None and st.start_time != proc.start_time:
            return False
        return bool(w.group_members(proc.pid, exclude=-1))

    def _fresh(self, lock: Mapping[str, Any]) -> bool:
        at = _number(lock.get("at"), 0.0)
        return self._clock() - at < self.startup_timeout_s

    def _owner_alive(self, lock: Mapping[str, Any]) -> bool:
        owner = _as_proc(lock.get("owner"))
        return owner is not None and self._alive(owner)

    # ------------------------------------------------------------------------- files

    def _known_dir(self, run_id: str) -> Path:
        if not is_valid_run_id(run_id) or self._spec(run_id) is None:
            raise UnknownRun(run_id)
        return self._runs_dir / run_id

    def _spec(self, run_id: str) -> dict[str, Any] | None:
        spec = self._specs.get(run_id)
        if spec is None and is_valid_run_id(run_id):
            path = self._runs_dir / run_id / w.SPEC
            try:
                spec = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
            except (OSError, ValueError) as exc:
                raise BackendError(f"cannot read {path}: {exc}") from exc
            self._specs[run_id] = spec
        return spec

    @staticmethod
    def _owner(run_dir: Path) -> _Proc | _Abandoned | None:
        data = _read_json(run_dir / w.PID)
        if data is None:
            return None
        if data.get("abandoned"):
            return _Abandoned(str(data.get("reason") or "abandoned"))
        proc = _as_proc(data)
        if proc is None:
            return _Abandoned(f"unreadable {run_dir / w.PID}")
        return proc


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _as_proc(data: object) -> _Proc | None:
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or data["pid"] <= 1:
        return None
    start, boot = data.get("start_time"), data.get("boot_id")
    return _Proc(
        data["pid"],
        start if isinstance(start, int) else None,
        boot if isinstance(boot, str) else None,
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _read_float(path: Path) -> float | None:
    text = _read_text(path)
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _number(value: object, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _describe_exit(code: int) -> str:
    if code > 128:
        try:
            return f"exit code {code} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exit code {code}"
