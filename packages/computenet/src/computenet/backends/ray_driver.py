"""The Ray driver of RayBackend: a process that holds one `ray.init` connection.

    python -m computenet.backends.ray_driver ADDRESS NAMESPACE

RayBackend starts it (optionally behind a prefix, e.g. `nsenter --net=...` to reach a
cluster in another network namespace) and sends one JSON request per line on stdin; each
gets one JSON answer line on the protocol pipe. A process of its own because `ray.init` is
global to a process (a service with two Ray sites needs two drivers), because a driver that
lost its cluster is best replaced whole, and so that the service never imports Ray.

A run is a detached placement group named after the run (one bundle per node of the run's
placement: the whole gang is reserved or nothing is) and one detached actor per bundle,
named `RUN:INDEX`, that runs the command in its own process group and reports its exit.
Detached: they outlive this driver, so runs survive a restart of the service. Accelerators
are custom resources (`{"A100": 2}`), which Ray counts but does not number, so the devices
the network assigned are handed to the command in COMPUTENET_DEVICES/CUDA_VISIBLE_DEVICES;
when the resource is Ray's own `GPU`, Ray's assignment is used instead.

Operations: launch, status, stop, release, resources. Only this module imports `ray`
(untyped here: `_ray()` returns it as Any, so its partial annotations do not leak).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

_DEVICE_VARS = ("CUDA_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES", "COMPUTENET_DEVICES")


# The command runs under this shell, the leader of its own process group, beside a watchdog
# that kills the whole group once the actor's process is gone (a dead node or head: Ray
# does not stop the processes an actor started, and they would hold the devices).
_GUARD = """
actor=$1
( while kill -0 "$actor" 2>/dev/null; do sleep 1; done; kill -KILL 0 ) &
watchdog=$!
/bin/sh -c "$2" &
wait $!
code=$?
kill "$watchdog" 2>/dev/null
exit $code
"""


def _ray(module: str = "ray") -> Any:
    return importlib.import_module(module)


class RunActor:
    """Runs one node's share of a run (wrapped by `ray.remote` in the driver).

    When its command ends it writes the outcome to `spec["result"]` (so the run's end is
    known even once the actors are gone); a node that fails on its own stops the others
    (a gang fails whole); the last node to end kills its siblings and removes the
    placement group, so a run gives its resources back without anyone watching."""

    def __init__(self, spec: dict[str, Any]) -> None:
        ray = _ray()
        self.spec = spec
        env = dict(os.environ)
        env.update(spec["env"])
        devices = list(spec["devices"])
        if spec.get("resource") == "GPU":  # Ray numbers its own GPUs: use them
            ids = ray.get_runtime_context().get_accelerator_ids().get("GPU", [])
            devices = [str(i) for i in ids]
        for var in _DEVICE_VARS:
            env[var] = ",".join(str(d) for d in devices)
        self.limit_s: float | None = spec.get("time_limit_s")
        self.grace_s = float(spec.get("grace_s", 5.0))
        self.timed_out = False
        self.stopping = False
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.exit_code: int | None = None
        with (
            open(spec["stdout"], "ab") as out,
            open(spec["stderr"], "ab") as err,
        ):
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", _GUARD, "computenet-run", str(os.getpid()), spec["command"]],
                cwd=spec["workdir"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        """Wait for the command; enforce the time limit even while no service watches."""
        deadline = None if self.limit_s is None else self.started_at + self.limit_s
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            try:
                code = self.proc.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                self.timed_out = True
                deadline = None
                threading.Thread(target=self.stop, daemon=True).start()
        with self._lock:
            self.exit_code = code if code >= 0 else 128 - code
            self.finished_at = time.time()
        self._signal(signal.SIGKILL)  # what the command left behind in its group
        self._record()
        if self.exit_code != 0 and not self.stopping:
            self._siblings(lambda actor: actor.stop.remote())
        self._release_if_last()

    def _record(self) -> None:
        path = self.spec["result"]
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.poll(), f)
        os.replace(tmp, path)

    def _siblings(self, act: Any) -> None:
        ray, run_id = _ray(), self.spec["run_id"]
        for index in range(self.spec["count"]):
            if index != self.spec["index"]:
                with contextlib.suppress(Exception):  # gone already
                    act(ray.get_actor(f"{run_id}:{index}"))

    def _release_if_last(self) -> None:
        results = [self.spec["result_pattern"].format(i) for i in range(self.spec["count"])]
        if not all(os.path.exists(r) for r in results):
            return
        ray = _ray()
        self._siblings(lambda actor: ray.kill(actor, no_restart=True))
        with contextlib.suppress(Exception):  # this actor goes with its placement group
            _ray("ray.util").remove_placement_group(
                _ray("ray.util").get_placement_group(self.spec["run_id"])
            )

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def poll(self) -> dict[str, Any]:
        with self._lock:
            return {
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "exit_code": self.exit_code,
                "timed_out": self.timed_out,
            }

    def stop(self) -> dict[str, Any]:
        """SIGTERM to the group, SIGKILL after the grace period."""
        if not self.stopping:
            self.stopping = True
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(self.grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        return self.poll()


class Driver:
    def __init__(self, address: str, namespace: str) -> None:
        ray = _ray()
        self.ray = ray
        self.namespace = namespace
        ray.init(
            address=address,
            namespace=namespace,
            log_to_driver=False,
            logging_level="WARNING",
            configure_logging=False,
        )
        # max_concurrency: poll() answers while stop() waits out the grace period
        self.actor_class = ray.remote(max_concurrency=4, max_restarts=0)(RunActor)

    # -- operations ------------------------------------------------------------------

    def launch(self, run_id: str, bundles: list[dict[str, Any]], strategy: str) -> dict[str, Any]:
        """Reserve the gang and create its actors (idempotent: existing ones are kept)."""
        placement_group = _ray("ray.util.placement_group").placement_group
        strategies = _ray("ray.util.scheduling_strategies")
        pg = self._placement_group(run_id)
        if pg is None:
            pg = placement_group(
                [b["resources"] for b in bundles],
                strategy=strategy,
                name=run_id,
                lifetime="detached",
            )
        for index, bundle in enumerate(bundles):
            name = f"{run_id}:{index}"
            if self._actor(name) is not None:
                continue
            resources = dict(bundle["resources"])
            cpus = resources.pop("CPU", 0)
            gpus = resources.pop("GPU", 0)
            self.actor_class.options(
                name=name,
                lifetime="detached",
                num_cpus=cpus,
                num_gpus=gpus,
                resources=resources,
                scheduling_strategy=strategies.PlacementGroupSchedulingStrategy(
                    pg, placement_group_bundle_index=index
                ),
            ).remote(bundle["spec"])
        return {"ok": True}

    def status(self, runs: dict[str, int], timeout_s: float) -> dict[str, Any]:
        """For each run (id -> bundles): unknown, pending, or each actor's poll()."""
        result: dict[str, Any] = {}
        waiting: dict[str, list[Any]] = {}
        for run_id, count in runs.items():
            pg = self._placement_group(run_id)
            actors = [self._actor(f"{run_id}:{i}") for i in range(count)]
            if pg is None and not any(actors):
                result[run_id] = {"known": False}
                continue
            state = "REMOVED" if pg is None else self._pg_state(pg)
            if state in ("PENDING", "RESCHEDULING"):
                result[run_id] = {"known": True, "pending": True}
                continue
            if not all(actors):
                result[run_id] = {"known": True, "lost": "an actor of the run is gone"}
                continue
            waiting[run_id] = [a.poll.remote() for a in actors]
        refs = [r for rs in waiting.values() for r in rs]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        done = set(ready)
        for run_id, rs in waiting.items():
            if not all(r in done for r in rs):
                result[run_id] = {"known": True, "starting": True}
                continue
            try:
                polls = self.ray.get(rs)
            except self.ray.exceptions.RayActorError as exc:
                result[run_id] = {"known": True, "lost": f"an actor of the run died: {exc}"}
                continue
            result[run_id] = {"known": True, "polls": polls}
        return result

    def stop(self, run_id: str, count: int) -> dict[str, Any]:
        """Stop a run: its processes (SIGTERM, then SIGKILL), or its reservation if it
        has not started."""
        pg = self._placement_group(run_id)
        if pg is not None and self._pg_state(pg) in ("PENDING", "RESCHEDULING"):
            return self.release(run_id, count)
        for i in range(count):
            actor = self._actor(f"{run_id}:{i}")
            if actor is not None:
                actor.stop.remote()
        return {"ok": True}

    def release(self, run_id: str, count: int) -> dict[str, Any]:
        """Give the run's resources back: kill its actors, remove its placement group."""
        remove_placement_group = _ray("ray.util.placement_group").remove_placement_group
        for i in range(count):
            actor = self._actor(f"{run_id}:{i}")
            if actor is not None:
                self.ray.kill(actor, no_restart=True)
        pg = self._placement_group(run_id)
        if pg is not None:
            remove_placement_group(pg)
        return {"ok": True}

    def resources(self) -> dict[str, Any]:
        return {
            "total": self.ray.cluster_resources(),
            "available": self.ray.available_resources(),
            "nodes": [
                {"id": n["NodeID"], "alive": n["Alive"], "resources": n["Resources"]}
                for n in self.ray.nodes()
            ],
        }

    # -- lookups -------------------------------------------------------------------

    def _actor(self, name: str) -> Any:
        try:
            return self.ray.get_actor(name, namespace=self.namespace)
        except ValueError:
            return None

    def _placement_group(self, name: str) -> Any:
        try:
            return _ray("ray.util").get_placement_group(name)
        except ValueError:
            return None

    def _pg_state(self, pg: Any) -> str:
        return str(_ray("ray.util").placement_group_table(pg).get("state", "UNKNOWN"))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: ray_driver ADDRESS NAMESPACE", file=sys.stderr)
        return 2
    # the protocol gets a private copy of stdout; anything else printed goes to stderr
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    try:
        driver = Driver(argv[1], argv[2])
    except Exception as exc:
        protocol.write(json.dumps({"ok": False, "error": f"ray.init: {exc}"}) + "\n")
        return 1
    protocol.write(json.dumps({"ok": True, "ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = {"ok": True, "result": getattr(driver, op)(**request)}
        except Exception as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
