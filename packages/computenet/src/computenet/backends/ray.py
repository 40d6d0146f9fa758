"""RayBackend: runs on a Ray cluster, through Ray's Python API in a driver process.

    backend = RayBackend(Path("/shared/computenet/site-r"), address="10.0.0.5:6379",
                         resources={"A100": "A100"})

The Ray calls happen in `ray_driver`, a child process that holds the `ray.init` connection
(see there for why); this module never imports Ray. The driver is started on first use,
behind `driver_prefix` when given (the tests use `nsenter --net=...` to reach a cluster in
a private network namespace), and replaced when it dies or does not answer in
`call_timeout_s` (e.g. the cluster's head restarted). Backends of the same cluster in one
process share one driver.

A run is a placement group with one bundle per node of the run's placement, `{RESOURCE: k}`
for k devices (Ray's all-or-nothing reservation makes the gang), and one detached actor per
bundle that runs the command. `resources` maps catalog models to Ray resource names
(default: the model's name as a custom resource, e.g. `--resources='{"A100": 4}'`; map to
`GPU` for Ray's own GPUs). A run without devices reserves one CPU per node.

Run files, in `ROOT/runs/<run_id>/` (ROOT on a file system the Ray nodes share: the
actors write the logs there): spec.json, submitted (the driver created the run),
stdout.log, stderr.log (every node of a gang appends), exit.<node>.json (written by each
node's actor when its command ends), cancelled, timed_out, final.json.

States: the placement group pending -> RUNNING, not started; actors running -> RUNNING
with the earliest start; every node's outcome written -> SUCCEEDED/FAILED by the exit code
of the node that failed first (its failure stops the others); `cancelled`/`timed_out`
markers decide CANCELLED and TIMED_OUT. The actors release the run's resources themselves
when its last node ends (see `ray_driver.RunActor`); the backend releases them again when
it sees the end, in case an actor could not. While the
cluster does not answer, a run keeps its last known state (RUNNING, with a message).
Without GCS fault tolerance a restarted head has lost every actor: a run that was
submitted and that the cluster no longer knows is LOST once the cluster answers again.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    is_valid_run_id,
    validate_request,
)
from computenet.backends.spool import RunSpecs, read_stripped

__all__ = ["RayBackend", "RayUnreachable", "bundles_for", "close_drivers", "pools_from_ray_nodes"]

SUBMITTED = "submitted"
FINAL = "final.json"
RESULT = "exit.{}.json"  # a node's outcome, written by its actor when its command ends
NAMESPACE = "computenet"


class RayUnreachable(BackendError):
    """The Ray driver could not reach the cluster (or did not answer in time)."""


def bundles_for(
    request: LaunchRequest,
    run_dir: Path,
    *,
    resources: Mapping[str, str],
    grace_s: float,
) -> list[dict[str, Any]]:
    """The placement group bundles of a run, each with what its actor runs (pure)."""
    if request.devices and request.accelerator is None:
        resource = "GPU"
    elif request.accelerator is not None:
        resource = resources.get(request.accelerator, request.accelerator)
    else:
        resource = "CPU"
    env = {**request.env, "COMPUTENET_JOB_ID": request.job_id, "COMPUTENET_RUN_ID": request.run_id}
    nodes = request.devices or ((0, ()),)
    pattern = str(run_dir / RESULT)
    bundles = []
    for index, (node, devs) in enumerate(nodes):
        amount = len(devs) if devs else 1
        key = resource if devs else "CPU"
        env_node = {**env, "COMPUTENET_NODE_INDEX": str(index), "COMPUTENET_NODE": str(node)}
        bundles.append(
            {
                "resources": {key: amount},
                "spec": {
                    "command": request.command,
                    "env": env_node,
                    "workdir": request.workdir or str(run_dir),
                    "stdout": str(run_dir / w.STDOUT),
                    "stderr": str(run_dir / w.STDERR),
                    "devices": list(devs),
                    "resource": key,
                    "time_limit_s": request.time_limit_s,
                    "grace_s": grace_s,
                    "run_id": request.run_id,
                    "index": index,
                    "count": len(nodes),
                    "result": pattern.format(index),
                    "result_pattern": pattern,
                },
            }
        )
    return bundles


class _Driver:
    """The driver child process and its line protocol (one call at a time)."""

    def __init__(self, argv: list[str], log: Path, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.lock = threading.Lock()
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        hello = self._read(timeout_s * 6)  # ray.init takes a few seconds
        if not hello.get("ok"):
            self.close()
            raise RayUnreachable(str(hello.get("error", "the Ray driver did not start")))

    def call(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
                self.proc.stdin.flush()
            except OSError as exc:
                self.close()
                raise RayUnreachable(f"the Ray driver is gone: {exc}") from exc
            answer = self._read(self.timeout_s)
        if not answer.get("ok"):
            raise BackendError(f"ray {op}: {answer.get('error')}")
        return answer.get("result")

    def _read(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise RayUnreachable(
                "the Ray driver did not answer" + ("" if ready else f" in {timeout_s} s")
            )
        data: dict[str, Any] = json.loads(line)
        return data

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


# One driver per cluster (address, prefix, interpreter) in this process, shared by every
# RayBackend of that cluster: starting one costs seconds (import ray, ray.init).
_DRIVERS: dict[tuple[str, ...], _Driver] = {}
_DRIVERS_LOCK = threading.Lock()


def _shared_driver(key: tuple[str, ...], log: Path, timeout_s: float) -> _Driver:
    with _DRIVERS_LOCK:
        driver = _DRIVERS.get(key)
        if driver is None or not driver.alive():
            if driver is not None:
                driver.close()
            argv = [*key[:-1], "-m", "computenet.backends.ray_driver", key[-1], NAMESPACE]
            driver = _DRIVERS[key] = _Driver(argv, log, timeout_s)
        return driver


def close_drivers() -> None:
    """Stop every driver process of this process (runs go on: they are detached)."""
    with _DRIVERS_LOCK:
        for driver in _DRIVERS.values():
            driver.close()
        _DRIVERS.clear()


class RayBackend:
    """Runs on a Ray cluster at `address` (the GCS, `host:port`). `resources` maps catalog
    models to Ray resource names; `strategy` is the placement groups' (SPREAD: a gang's
    bundles on different nodes when it can); `grace_s` is the time between SIGTERM and
    SIGKILL; `driver_prefix` goes before the driver's command line."""

    name = "ray"
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
        address: str,
        resources: Mapping[str, str] | None = None,
        strategy: str = "SPREAD",
        grace_s: float = 5.0,
        driver_prefix: Sequence[str] = (),
        python: str | None = None,
        call_timeout_s: float = 10.0,
        poll_interval_s: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if strategy not in ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"):
            raise ValueError(f"strategy {strategy!r}: PACK, SPREAD, STRICT_PACK or STRICT_SPREAD")
        self.root = Path(root)
        self.address = address
        self.resources = dict(resources or {})
        self.strategy = strategy
        self.grace_s = grace_s
        self.driver_prefix = tuple(driver_prefix)
        self.call_timeout_s = call_timeout_s
        self.poll_interval_s = poll_interval_s
        self._python = python or sys.executable or "python3"
        self._clock = clock
        self._runs_dir = self.root / "runs"
        self._runs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._specs = RunSpecs(self._runs_dir)
        self._final: dict[str, RunStatus] = {}
        self._last: dict[str, RunStatus] = {}
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}  # run -> (when, driver view)
        self._error: str | None = None
        self._stopping: set[str] = set()
        # ray.init takes seconds: connect now, in the background, not in the first launch
        threading.Thread(target=self._warm_up, name=f"ray-driver-{address}", daemon=True).start()

    def _warm_up(self) -> None:
        with self._lock, contextlib.suppress(BackendError):
            self._call("resources")

    def __repr__(self) -> str:
        return f"RayBackend({str(self.root)!r}, address={self.address!r})"

    # ------------------------------------------------------------------------- interface

    def launch(self, request: LaunchRequest) -> RunStatus:
        validate_request(request)
        with self._lock:
            run_dir = self._runs_dir / request.run_id
            spec = request.to_dict()
            existing = self._specs.get(request.run_id)
            if existing is None:
                if request.workdir is not None and not os.path.isabs(request.workdir):
                    raise InvalidRequest(f"run {request.run_id}: workdir must be an absolute path")
                run_dir.mkdir(exist_ok=True)
                w.atomic_write(run_dir / w.SPEC, json.dumps(spec, indent=2, sort_keys=True) + "\n")
                self._specs[request.run_id] = spec
            elif existing != spec:
                raise RunConflict(
                    f"run {request.run_id} exists with a different request; "
                    "a new attempt needs a new run id"
                )
            self._ensure_submitted(request.run_id, run_dir)
            self._seen.pop(request.run_id, None)
            return self._status(request.run_id)

    def status(self, run_ids: Iterable[str]) -> dict[str, RunStatus]:
        with self._lock:
            ids = list(run_ids)
            self._refresh([i for i in ids if self._needs_poll(i)])
            return {run_id: self._status(run_id) for run_id in ids}

    def cancel(self, run_id: str) -> RunStatus:
        with self._lock:
            run_dir = self._specs.known_dir(run_id)
            status = self._status(run_id)
            if status.terminal:
                return status
            if not (run_dir / w.CANCELLED).exists():
                w.atomic_write(run_dir / w.CANCELLED, json.dumps({"at": self._clock()}))
            if (run_dir / SUBMITTED).exists():
                self._stop(run_id)  # if the cluster does not answer, status() asks again
            self._seen.pop(run_id, None)
            self._refresh([run_id])
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

    def cluster_resources(self) -> dict[str, Any]:
        """{"total", "available", "nodes"} as Ray reports them."""
        with self._lock:
            result: dict[str, Any] = self._call("resources")
            return result

    def close(self) -> None:
        """Stop the driver process, shared with the other backends of this cluster (they
        start a new one when they next need it). Runs go on: they are detached."""
        with self._lock, _DRIVERS_LOCK:
            driver = _DRIVERS.pop(self._driver_key, None)
            if driver is not None:
                driver.close()

    # ------------------------------------------------------------------------- driver

    @property
    def _driver_key(self) -> tuple[str, ...]:
        return (*self.driver_prefix, self._python, self.address)

    def _call(self, op: str, **args: Any) -> Any:
        try:
            driver = _shared_driver(self._driver_key, self.root / "driver.log", self.call_timeout_s)
            result = driver.call(op, **args)
        except RayUnreachable as exc:
            self._error = str(exc)
            self._stopping.clear()  # stop requests may be lost with the driver
            raise
        self._error = None
        return result

    def _ensure_submitted(self, run_id: str, run_dir: Path) -> None:
        if (run_dir / SUBMITTED).exists() or (run_dir / w.CANCELLED).exists():
            return
        request = LaunchRequest.from_dict(self._specs[run_id])
        bundles = bundles_for(request, run_dir, resources=self.resources, grace_s=self.grace_s)
        try:
            self._call("launch", run_id=run_id, bundles=bundles, strategy=self.strategy)
        except RayUnreachable:
            return  # retried at the next status
        w.atomic_write(run_dir / SUBMITTED, json.dumps({"at": self._clock()}))

    def _count(self, run_id: str) -> int:
        return max(1, len(self._specs[run_id].get("devices") or ()))

    def _needs_poll(self, run_id: str) -> bool:
        if run_id in self._final or self._specs.get(run_id) is None:
            return False
        seen = self._seen.get(run_id)
        return seen is None or time.monotonic() - seen[0] >= self.poll_interval_s

    def _refresh(self, run_ids: list[str]) -> None:
        for run_id in list(run_ids):
            run_dir = self._runs_dir / run_id
            if not (run_dir / SUBMITTED).exists() and not (run_dir / w.CANCELLED).exists():
                self._ensure_submitted(run_id, run_dir)
        asked = {r: self._count(r) for r in run_ids if (self._runs_dir / r / SUBMITTED).exists()}
        if not asked:
            return
        try:
            views = self._call("status", runs=asked, timeout_s=min(5.0, self.call_timeout_s / 2))
        except RayUnreachable:
            return
        now = time.monotonic()
        for run_id, view in views.items():
            self._seen[run_id] = (now, view)

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
            data = json.loads(stored)
            return self._keep(run_id, RunStatus(run_id, RunState(data.pop("state")), **data))
        cancelled = (run_dir / w.CANCELLED).exists()
        if not (run_dir / SUBMITTED).exists():
            if cancelled:
                return self._finish(
                    run_id,
                    RunStatus(run_id, RunState.CANCELLED, message="cancelled before it started"),
                )
            return RunStatus(run_id, RunState.RUNNING, message=f"not submitted yet: {self._error}")
        results = self._results(run_id, run_dir)
        ended = [r for r in results if r is not None]
        if len(ended) == len(results):  # every node ended: no need to ask Ray
            return self._from_polls(run_id, run_dir, ended, cancelled)
        seen = self._seen.get(run_id)
        if seen is None or self._error is not None:
            last = self._last.get(run_id)
            message = f"Ray cluster unreachable ({self._error})" if self._error else "starting"
            started = None if last is None else last.started_at
            return RunStatus(run_id, RunState.RUNNING, started_at=started, message=message)
        view = seen[1]
        if cancelled and (not view.get("known") or view.get("lost")):  # released unstarted
            status = RunStatus(run_id, RunState.CANCELLED, message="cancelled before it started")
            return self._finish(run_id, status)
        if not view.get("known"):
            message = "the Ray cluster no longer knows this run (its head restarted?)"
            return self._finish(run_id, RunStatus(run_id, RunState.LOST, message=message))
        if view.get("lost"):
            self._release(run_id)
            return self._finish(run_id, RunStatus(run_id, RunState.LOST, message=view["lost"]))
        if view.get("pending"):
            status = RunStatus(run_id, RunState.RUNNING, message="waiting for Ray resources")
            self._last[run_id] = status
            return status
        if view.get("starting"):
            last = self._last.get(run_id)
            started = None if last is None else last.started_at
            return RunStatus(run_id, RunState.RUNNING, started_at=started, message="starting")
        polls = [r if r is not None else p for r, p in zip(results, view["polls"], strict=True)]
        return self._from_polls(run_id, run_dir, polls, cancelled)

    def _results(self, run_id: str, run_dir: Path) -> list[dict[str, Any] | None]:
        results: list[dict[str, Any] | None] = []
        for index in range(self._count(run_id)):
            text = read_stripped(run_dir / RESULT.format(index))
            results.append(None if text is None else json.loads(text))
        return results

    def _from_polls(
        self, run_id: str, run_dir: Path, polls: Sequence[Mapping[str, Any]], cancelled: bool
    ) -> RunStatus:
        """The run's state from each node's outcome (its result file, or its actor's poll;
        exit_code None: still running)."""
        started = min(p["started_at"] for p in polls)
        codes = [p["exit_code"] for p in polls]
        # the node that failed first: the others may then have been stopped by us
        failures = sorted((p["finished_at"], p["exit_code"]) for p in polls if p["exit_code"])
        failed = failures[0][1] if failures else None
        timed_out = any(p["timed_out"] for p in polls) or (run_dir / w.TIMED_OUT).exists()
        if any(c is None for c in codes):
            limit = self._specs[run_id].get("time_limit_s")
            over = limit is not None and self._clock() >= started + limit
            if over and failed is None and not (cancelled or timed_out):
                # the exact limit (the actors enforce it too, rounded to their timer)
                w.atomic_write(run_dir / w.TIMED_OUT, json.dumps({"at": self._clock()}))
                timed_out = True
            if failed is not None or cancelled or timed_out:  # a gang stops whole
                self._stop(run_id)
            status = RunStatus(run_id, RunState.RUNNING, started_at=started)
            self._last[run_id] = status
            return status
        finished = max(p["finished_at"] for p in polls)
        exit_code: int | None = failed if failed is not None else 0
        if timed_out:
            limit = self._specs[run_id].get("time_limit_s")
            state, message, exit_code = (
                RunState.TIMED_OUT,
                f"time limit of {limit} s exceeded",
                None,
            )
        elif cancelled:
            state, message, exit_code = RunState.CANCELLED, "cancelled", None
        elif exit_code == 0:
            state, message = RunState.SUCCEEDED, ""
        else:
            state, message = RunState.FAILED, f"exit code {exit_code}"
        result = self._finish(
            run_id, RunStatus(run_id, state, exit_code, started, finished, message)
        )
        self._release(run_id)
        return result

    def _stop(self, run_id: str) -> None:
        """Ask the run's actors to stop, once per driver (asked again after a driver or
        cluster failure, since the request may not have got through)."""
        if run_id in self._stopping:
            return
        with contextlib.suppress(RayUnreachable):
            self._call("stop", run_id=run_id, count=self._count(run_id))
            self._stopping.add(run_id)

    def _release(self, run_id: str) -> None:
        with contextlib.suppress(RayUnreachable):  # gone with the cluster, if unreachable
            self._call("release", run_id=run_id, count=self._count(run_id))

    def _finish(self, run_id: str, status: RunStatus) -> RunStatus:
        data = {
            "state": status.state.value,
            "exit_code": status.exit_code,
            "started_at": status.started_at,
            "finished_at": status.finished_at,
            "message": status.message,
        }
        w.atomic_write(self._runs_dir / run_id / FINAL, json.dumps(data))
        return self._keep(run_id, status)

    def _keep(self, run_id: str, status: RunStatus) -> RunStatus:
        self._final[run_id] = status
        self._last.pop(run_id, None)
        self._seen.pop(run_id, None)
        return status

    # ------------------------------------------------------------------------- files


def pools_from_ray_nodes(
    nodes: Iterable[Mapping[str, Any]], accelerator_for: Callable[[str], str | None]
) -> list[dict[str, Any]]:
    """Pools (the network YAML's form) of identical live Ray nodes, from `ray.nodes()`
    entries ({"alive", "resources"}); `accelerator_for` names the catalog model of a
    resource, None for resources that are not accelerators (CPU, memory, node:...)."""
    shapes: dict[tuple[str, int, int, int], int] = {}
    for node in nodes:
        if not node.get("alive"):
            continue
        res = node.get("resources") or {}
        accel = [(r, int(n), m) for r, n in res.items() if (m := accelerator_for(r)) and n >= 1]
        if len(accel) != 1:  # one accelerator model per node makes a pool shape
            continue
        _, count, model = accel[0]
        key = (model, count, int(res.get("CPU", 0)), int(res.get("memory", 0)) >> 30)
        shapes[key] = shapes.get(key, 0) + 1
    pools: list[dict[str, Any]] = []
    for (model, count, cpus, memory_gib), n in sorted(shapes.items()):
        name = f"{model.lower()}-x{count}"
        if any(p["name"] == name for p in pools):
            name = f"{name}-{len(pools) + 1}"
        pools.append(
            {
                "name": name,
                "accelerator": model,
                "accelerators_per_node": count,
                "cpus_per_node": cpus,
                "memory_gib_per_node": max(1, memory_gib),
                "nodes": n,
            }
        )
    return pools
