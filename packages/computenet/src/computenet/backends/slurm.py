"""SlurmBackend: runs as Slurm batch jobs, through Slurm's own commands.

    backend = SlurmBackend(Path("/shared/computenet/site-a"), conf="/etc/slurm/slurm.conf",
                           partition="gpu", gres_types={"A100": "a100"})

launch  `sbatch --parsable` (see `slurm_script`: nodes, typed GRES, time limit, output
        files, the run's environment in the script); the Slurm job is named after the run id
status  `scontrol -o show job` (every job the controller holds, one call per poll; at most
        one poll per `poll_interval_s`, so a fast control loop does not load slurmctld)
cancel  `scancel`
nodes   `scontrol -o show node` (`discover()`: the pools of a site)

Everything about a run lives in `ROOT/runs/<run_id>/` (ROOT must be on a file system the
Slurm nodes share with this host: the job writes its logs there):

    spec.json     the LaunchRequest (written first, atomically)
    job.sh        the batch script, submitted as job RUN_ID@INSTANCE (INSTANCE: a random
                  id in ROOT/instance, so that two services on one cluster, or a run id
                  used again under another root, never adopt each other's jobs)
    slurm_job_id  the Slurm job id, written when sbatch returned it
    stdout.log, stderr.log   written by Slurm (`--output`, `--error`)
    cancelled, timed_out     markers: cancel() was called; the backend enforced the limit
    final.json    the terminal status, once seen (Slurm forgets a job after MinJobAge)

Accounting: no `sacct` (it needs slurmdbd). A job's end is read from `scontrol` while the
controller keeps it (MinJobAge, default 300 s) and then kept in `final.json`; a run that the
controller forgot before the backend saw it end (the service was down longer than
MinJobAge) is LOST, with a message that says so.

Crash safety: a crash between `sbatch` and writing `slurm_job_id` is healed on the next
launch or status: the job is found by its name (the run id) before anything is submitted
again. While the controller does not answer (restarting) a run keeps its last known state,
RUNNING with a message; a submission that could not reach it is retried at each poll.

Time limits: Slurm counts minutes, so `--time` is the limit rounded up to a minute (it holds
while the service is down) and status() stops a run at its exact limit (`timed_out`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from computenet.backends import _wrapper as w
from computenet.backends.base import (
    BackendCapability,
    BackendError,
    InvalidRequest,
    LaunchRequest,
    RunConflict,
    RunState,
    RunStatus,
    is_valid_run_id,
    validate_request,
)
from computenet.backends.slurm_parse import (
    SlurmJob,
    SlurmNode,
    controller_unreachable,
    job_outcome,
    parse_gres,
    parse_jobs,
    parse_nodes,
    parse_records,
    pools_from_nodes,
)
from computenet.backends.slurm_script import SlurmSubmitOptions, render_script, sbatch_arguments
from computenet.backends.spool import RunSpecs, read_stripped

__all__ = ["SlurmBackend", "SlurmUnreachable"]

JOB_ID = "slurm_job_id"
INSTANCE = "instance"
SCRIPT = "job.sh"
FINAL = "final.json"


class SlurmUnreachable(BackendError):
    """The Slurm controller did not answer."""


class SlurmBackend:
    """Runs on a Slurm cluster. `conf`: its slurm.conf (SLURM_CONF for every command;
    default: Slurm's own default); `partition`, `gres_types` (catalog model -> GRES type)
    and `extra_args` shape the `sbatch` call; `clock` gives epoch seconds."""

    name = "slurm"
    capabilities = (
        BackendCapability.MULTI_NODE
        | BackendCapability.LOGS
        | BackendCapability.TIME_LIMITS
        | BackendCapability.DURABLE
        | BackendCapability.QUEUES
    )

    def __init__(
        self,
        root: Path,
        *,
        conf: str | os.PathLike[str] | None = None,
        partition: str | None = None,
        gres_types: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        poll_interval_s: float = 1.0,
        command_timeout_s: float = 30.0,
        retry_after_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.conf = None if conf is None else Path(conf)
        self.options = SlurmSubmitOptions(partition, dict(gres_types or {}), tuple(extra_args))
        self.poll_interval_s = poll_interval_s
        self.command_timeout_s = command_timeout_s
        # a Slurm command takes seconds to give up on a dead controller, and the control
        # loop waits for it: after a failure, say "unreachable" at once for this long
        self.retry_after_s = retry_after_s
        self._down_until = -float("inf")
        self._clock = clock
        self._runs_dir = self.root / "runs"
        self._runs_dir.mkdir(parents=True, exist_ok=True)
        instance = self.root / INSTANCE
        w.claim(instance, secrets.token_hex(4))  # once per root; kept ever after
        self._instance = instance.read_text(encoding="utf-8").strip()
        self._lock = threading.RLock()
        self._final: dict[str, RunStatus] = {}
        self._specs = RunSpecs(self._runs_dir)
        self._jobs: dict[str, SlurmJob] = {}
        self._jobs_at = -float("inf")
        self._jobs_error: str | None = None
        self._last: dict[str, RunStatus] = {}  # last status seen while Slurm answered

    def __repr__(self) -> str:
        return f"SlurmBackend({str(self.root)!r}, conf={self.conf and str(self.conf)!r})"

    # ------------------------------------------------------------------------- interface

    def launch(self, request: LaunchRequest) -> RunStatus:
        validate_request(request)
        with self._lock:
            run_dir = self._runs_dir / request.run_id
            spec = request.to_dict()
            existing = self._specs.get(request.run_id)
            if existing is None:
                self._check(request)
                run_dir.mkdir(exist_ok=True)
                w.atomic_write(run_dir / SCRIPT, render_script(request))
                w.atomic_write(run_dir / w.SPEC, json.dumps(spec, indent=2, sort_keys=True) + "\n")
                self._specs[request.run_id] = spec
            elif existing != spec:
                raise RunConflict(
                    f"run {request.run_id} exists with a different request; "
                    "a new attempt needs a new run id"
                )
            self._ensure_submitted(request.run_id, run_dir, raise_refusal=existing is None)
            self._jobs_at = -float("inf")  # the next status reads Slurm afresh
            return self._status(request.run_id)

    def status(self, run_ids: Iterable[str]) -> dict[str, RunStatus]:
        with self._lock:
            return {run_id: self._status(run_id) for run_id in run_ids}

    def cancel(self, run_id: str) -> RunStatus:
        with self._lock:
            run_dir = self._specs.known_dir(run_id)
            status = self._status(run_id)
            if status.terminal:
                return status
            if not (run_dir / w.CANCELLED).exists():
                w.atomic_write(run_dir / w.CANCELLED, json.dumps({"at": self._clock()}))
            job_id = read_stripped(run_dir / JOB_ID)
            if job_id is not None:
                self._scancel(job_id)
            self._jobs_at = -float("inf")
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
            run_dir = self._specs.known_dir(run_id)
        return run_dir / w.STDOUT, run_dir / w.STDERR

    def slurm_job_id(self, run_id: str) -> str | None:
        """The Slurm job id of a run (None until it was submitted)."""
        with self._lock:
            return read_stripped(self._specs.known_dir(run_id) / JOB_ID)

    # ------------------------------------------------------------------------- cluster

    def nodes(self) -> list[SlurmNode]:
        """The cluster's nodes (`scontrol -o show node`)."""
        return parse_nodes(self._run(["scontrol", "-o", "show", "node"]).stdout)

    def gpus_in_use(self) -> dict[str, int]:
        """GPUs allocated per node, from the controller (GresUsed)."""
        records = parse_records(self._run(["scontrol", "-o", "-d", "show", "node"]).stdout)
        return {
            r["NodeName"]: sum(g.count for g in parse_gres(r.get("GresUsed")) if g.name == "gpu")
            for r in records
            if "NodeName" in r
        }

    def discover(self, accelerator_for: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
        """Pools of identical GPU nodes in the partition, in the network YAML's form.
        `accelerator_for` maps a GRES type to a catalog model (default: the inverse of
        `gres_types`, else the type upper-cased: `a100` -> `A100`)."""
        inverse = {v: k for k, v in self.options.gres_types.items()}
        name_of = accelerator_for or (lambda t: inverse.get(t, t.upper()))
        return pools_from_nodes(self.nodes(), name_of, partition=self.options.partition)

    # ------------------------------------------------------------------------- launch

    def _check(self, request: LaunchRequest) -> None:
        if request.workdir is not None and not os.path.isabs(request.workdir):
            raise InvalidRequest(f"run {request.run_id}: workdir must be an absolute path")
        # raises InvalidRequest for shapes Slurm cannot express
        sbatch_arguments(
            request,
            self.options,
            script=Path("x"),
            stdout=Path("x"),
            stderr=Path("x"),
            workdir=Path("x"),
        )

    def _ensure_submitted(self, run_id: str, run_dir: Path, *, raise_refusal: bool) -> None:
        """Submit the run unless it has a Slurm job (or was cancelled before it had one)."""
        if (run_dir / JOB_ID).exists() or (run_dir / w.CANCELLED).exists():
            return
        try:
            found = self._find_by_name(run_id)
            if found is not None:  # submitted before a crash: adopt, never submit twice
                w.atomic_write(run_dir / JOB_ID, found)
                return
            self._submit(run_id, run_dir)
        except SlurmUnreachable as exc:
            self._jobs_error = str(exc)  # retried at the next status
        except InvalidRequest as exc:
            if raise_refusal:  # Slurm refused a new run: it never existed
                for name in (w.SPEC, SCRIPT):
                    w.unlink_quietly(run_dir / name)
                self._specs.pop(run_id, None)
                raise
            # refused on a retry (the cluster changed while it was down): the run failed
            self._finish(run_id, RunStatus(run_id, RunState.FAILED, message=str(exc)))

    def _submit(self, run_id: str, run_dir: Path) -> None:
        request = LaunchRequest.from_dict(self._specs[run_id])
        args = sbatch_arguments(
            request,
            self.options,
            script=run_dir / SCRIPT,
            stdout=run_dir / w.STDOUT,
            stderr=run_dir / w.STDERR,
            workdir=Path(request.workdir) if request.workdir else run_dir,
            job_name=self._job_name(run_id),
        )
        done = self._run(["sbatch", *args], check=False)
        if done.returncode != 0:
            message = (done.stderr or done.stdout).strip()
            if controller_unreachable(message):
                raise SlurmUnreachable(f"sbatch: {message}")
            raise InvalidRequest(f"run {run_id}: Slurm refused it: {message}")
        job_id = done.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise BackendError(f"run {run_id}: unexpected sbatch output {done.stdout!r}")
        w.atomic_write(run_dir / JOB_ID, job_id)

    def _job_name(self, run_id: str) -> str:
        return f"{run_id}@{self._instance}"

    def _find_by_name(self, run_id: str) -> str | None:
        name = self._job_name(run_id)
        done = self._run(["squeue", "--noheader", "--states=all", f"--name={name}", "--format=%i"])
        ids = [line.strip() for line in done.stdout.splitlines() if line.strip().isdigit()]
        return ids[-1] if ids else None

    def _scancel(self, job_id: str) -> None:
        """Ask Slurm to stop a job; while the controller is down, status() asks again."""
        with contextlib.suppress(SlurmUnreachable):
            self._run(["scancel", job_id], check=False)

    # ------------------------------------------------------------------------- status

    def _status(self, run_id: str) -> RunStatus:
        final = self._final.get(run_id)
        if final is not None:
            return final
        if not is_valid_run_id(run_id) or self._specs.get(run_id) is None:
            return RunStatus(run_id, RunState.LOST, message="unknown run")
        run_dir = self._runs_dir / run_id
        stored = read_stripped(run_dir / FINAL)
        if stored is not None:
            return self._keep(run_id, _status_from_json(run_id, stored))
        job_id = read_stripped(run_dir / JOB_ID)
        cancelled = (run_dir / w.CANCELLED).exists()
        if job_id is None:
            if cancelled:
                return self._finish(
                    run_id,
                    RunStatus(run_id, RunState.CANCELLED, message="cancelled before submission"),
                )
            self._ensure_submitted(run_id, run_dir, raise_refusal=False)
            if run_id in self._final:
                return self._final[run_id]
            job_id = read_stripped(run_dir / JOB_ID)
            self._jobs_at = -float("inf")  # a listing older than the submission lacks it
            if job_id is None:
                return RunStatus(
                    run_id, RunState.RUNNING, message=f"not submitted yet: {self._jobs_error}"
                )
        self._refresh()
        job = self._jobs.get(job_id)
        if job is None:
            if self._jobs_error is not None:  # the controller is down: keep what we knew
                last = self._last.get(run_id)
                message = f"Slurm controller unreachable ({self._jobs_error})"
                started = None if last is None else last.started_at
                return RunStatus(run_id, RunState.RUNNING, started_at=started, message=message)
            message = f"Slurm no longer knows job {job_id} (purged after MinJobAge, or lost)"
            return self._finish(run_id, RunStatus(run_id, RunState.LOST, message=message))
        state, message = job_outcome(job)
        if state is RunState.RUNNING:
            status = RunStatus(run_id, state, started_at=job.started_at, message=message)
            if cancelled and job.state != "COMPLETING":  # a scancel that did not get through
                self._scancel(job_id)
            self._enforce_limit(run_id, run_dir, job_id, status)
            self._last[run_id] = status
            return status
        if (run_dir / w.TIMED_OUT).exists():
            limit = (self._specs[run_id]).get("time_limit_s")
            state, message = RunState.TIMED_OUT, f"time limit of {limit} s exceeded"
        elif cancelled and state is not RunState.SUCCEEDED:
            state, message = RunState.CANCELLED, "cancelled"
        exit_code = job.exit_code if state in (RunState.SUCCEEDED, RunState.FAILED) else None
        started = job.started_at if job.nodes not in ("", "(null)") else None
        finished = job.finished_at if started is not None else job.finished_at or self._clock()
        if started is not None and finished is not None and finished < started:
            finished = started
        return self._finish(run_id, RunStatus(run_id, state, exit_code, started, finished, message))

    def _enforce_limit(self, run_id: str, run_dir: Path, job_id: str, status: RunStatus) -> None:
        limit = self._specs[run_id].get("time_limit_s")
        if (
            limit is None
            or status.started_at is None
            or (run_dir / w.TIMED_OUT).exists()
            or (run_dir / w.CANCELLED).exists()
            or self._clock() < status.started_at + limit
        ):
            return
        w.atomic_write(run_dir / w.TIMED_OUT, json.dumps({"at": self._clock(), "limit_s": limit}))
        self._scancel(job_id)
        self._jobs_at = -float("inf")

    def _finish(self, run_id: str, status: RunStatus) -> RunStatus:
        w.atomic_write(self._runs_dir / run_id / FINAL, json.dumps(_status_to_json(status)))
        return self._keep(run_id, status)

    def _keep(self, run_id: str, status: RunStatus) -> RunStatus:
        self._final[run_id] = status
        self._last.pop(run_id, None)
        return status

    def _refresh(self) -> None:
        """Read every job from the controller, at most once per poll interval."""
        now = time.monotonic()
        if now - self._jobs_at < self.poll_interval_s:
            return
        try:
            text = self._run(["scontrol", "-o", "show", "job"]).stdout
        except SlurmUnreachable as exc:
            self._jobs, self._jobs_error = {}, str(exc)
        else:
            self._jobs, self._jobs_error = parse_jobs(text), None
        self._jobs_at = now

    # ------------------------------------------------------------------------- commands

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLURM_", "COMPUTENET_")) and k not in ("CUDA_VISIBLE_DEVICES",)
        }
        env.update(LC_ALL="C", LANG="C")
        if self.conf is not None:
            env["SLURM_CONF"] = str(self.conf)
        return env

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm command. SlurmUnreachable when the controller did not answer (and
        for `retry_after_s` after that); a refusal raises BackendError, or with
        `check=False` comes back as the finished command."""
        if time.monotonic() < self._down_until:
            raise SlurmUnreachable(f"{self._jobs_error} (retrying in a moment)")
        try:
            done = subprocess.run(
                args,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=self.command_timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            self._down(f"{args[0]} timed out after {self.command_timeout_s} s")
        except OSError as exc:
            raise BackendError(f"cannot run {args[0]}: {exc}") from exc
        if done.returncode == 0:
            return done
        message = (done.stderr or done.stdout).strip()
        if not message or controller_unreachable(message):
            self._down(f"{args[0]}: {message or 'no answer'}")
        if check:
            raise BackendError(f"{' '.join(args[:3])}: {message}")
        return done

    def _down(self, message: str) -> NoReturn:
        self._down_until = time.monotonic() + self.retry_after_s
        self._jobs_error = message
        raise SlurmUnreachable(message)

    # ------------------------------------------------------------------------- files


def _status_to_json(status: RunStatus) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "exit_code": status.exit_code,
        "started_at": status.started_at,
        "finished_at": status.finished_at,
        "message": status.message,
    }


def _status_from_json(run_id: str, text: str) -> RunStatus:
    data = json.loads(text)
    return RunStatus(
        run_id=run_id,
        state=RunState(data["state"]),
        exit_code=data.get("exit_code"),
        started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        message=data.get("message", ""),
    )
