"""A throwaway Ray cluster for tests, in a private network namespace.

    with running_ray() as cluster:                  # RayCluster
        backend = RayBackend(root, address=cluster.address, driver_prefix=cluster.prefix)
        cluster.restart_head()                      # stop the head by PID, start a new one

A holder process (`unshare --net`, loopback up) owns a network namespace with nothing but
`lo`; the Ray head (`ray start --head --block`, its GCS, raylet and workers) runs inside it
through `nsenter --net=/proc/<holder>/ns/net`, so nothing it opens can be reached from
outside this namespace, whatever address it binds. Whoever talks to the cluster must be in
the namespace too: `cluster.prefix` is the `nsenter` command line to put before a driver
(RayBackend's `driver_prefix`). The namespace outlives a head restart, so the cluster's
address stays the same.

The head gets `num_cpus` CPUs and the custom resources given (fake accelerators: Ray counts
them, nothing more), its session files in a fresh directory, no dashboard and no usage
statistics. It is stopped by PID (SIGTERM: `ray start --block` stops its processes), then
anything left in the namespace is killed; never `ray stop`, which would stop every Ray on
the host. Needs root (or unprivileged user namespaces) for `unshare`.
"""

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from testkit.proc import die_with_parent, log_tail, stop

PORT = 6379  # alone in its namespace: any port is free
_PREFIX = "testkit-ray-"
_STOP = ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))


class RayUnavailableError(RuntimeError):
    """Ray or the namespace tools are not installed, or namespaces are not allowed."""


class RayStartError(RuntimeError):
    """The head did not start; the message carries the end of its log."""


@dataclass
class RayCluster:
    root: Path
    holder: subprocess.Popen[bytes]
    resources: dict[str, float]
    num_cpus: int
    head: subprocess.Popen[bytes] | None = None
    ray_bin: str = field(default_factory=lambda: str(Path(sys.executable).parent / "ray"))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{PORT}"

    @property
    def netns(self) -> Path:
        return Path(f"/proc/{self.holder.pid}/ns/net")

    @property
    def prefix(self) -> list[str]:
        """Put this before a command to run it inside the cluster's network namespace."""
        return [_which("nsenter"), f"--net={self.netns}", "--"]

    def start_head(self, timeout_s: float = 90.0) -> None:
        session = Path(tempfile.mkdtemp(prefix="s", dir=self.root))
        log = session / "head.log"  # a fresh log per start: readiness is read from it
        args = [
            *self.prefix,
            self.ray_bin,
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={PORT}",
            f"--num-cpus={self.num_cpus}",
            f"--resources={json.dumps(self.resources)}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--object-store-memory=80000000",
            f"--temp-dir={session}",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        with log.open("ab") as out:
            self.head = subprocess.Popen(
                [*die_with_parent("SIGTERM"), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.head.poll() is not None:
                raise RayStartError(f"ray start exited ({self.head.returncode}):\n{log_tail(log)}")
            if "Ray runtime started" in log_tail(log, 20000):
                return
            time.sleep(0.2)
        raise RayStartError(f"the Ray head did not start in {timeout_s} s:\n{log_tail(log)}")

    def stop_head(self) -> None:
        if self.head is not None:
            stop(self.head, _STOP)
            self.head = None
        self._kill_namespace()

    def restart_head(self) -> None:
        """The head goes away (with everything on it: no GCS fault tolerance) and a new
        one starts at the same address."""
        self.stop_head()
        self.start_head()

    def listeners(self) -> str:
        """`ss -ltn` inside the namespace."""
        return subprocess.run(
            [*self.prefix, _which("ss"), "-ltnH"], capture_output=True, text=True, check=False
        ).stdout

    def _kill_namespace(self) -> None:
        """SIGKILL what is left in the namespace (workers a dying raylet did not reap)."""
        for _ in range(50):
            left = [p for p in _namespace_pids(self.netns) if p != self.holder.pid]
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def close(self) -> None:
        self.stop_head()
        stop(self.holder, ((signal.SIGKILL, 5.0),))
        if self.holder.stderr is not None:
            self.holder.stderr.close()


def _which(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if found is None:
        raise RayUnavailableError(f"{name} not found (util-linux, iproute2)")
    return found


def _namespace_pids(netns: Path) -> list[int]:
    try:
        target = os.readlink(netns)
    except OSError:
        return []
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{name}/ns/net") == target:
                    pids.append(int(name))
    return pids


def _unshare_args() -> list[str]:
    unshare = _which("unshare")
    ip = _which("ip")
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    script = f"{ip} link set lo up && exec sleep infinity"
    return [unshare, *user, "--net", "--", "/bin/sh", "-c", script]


@contextlib.contextmanager
def running_ray(
    base: Path | None = None,
    *,
    resources: Mapping[str, float] | None = None,
    num_cpus: int = 4,
    timeout_s: float = 90.0,
) -> Iterator[RayCluster]:
    """Run a one-node Ray cluster in a private network namespace while the block runs."""
    if importlib.util.find_spec("ray") is None:
        raise RayUnavailableError("ray is not installed (pip install 'computenet[ray]')")
    ray_bin = Path(sys.executable).parent / "ray"
    if not ray_bin.exists():
        raise RayUnavailableError(f"{ray_bin} not found")
    root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base or "/tmp"))
    holder = subprocess.Popen(
        [*die_with_parent("SIGKILL"), *_unshare_args()],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    cluster = RayCluster(
        root, holder, dict(resources or {"A100": 4.0}), num_cpus, ray_bin=str(ray_bin)
    )
    try:
        mine = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while True:  # the namespace is ready once `lo` is up in it
            if holder.poll() is not None:
                err = holder.stderr.read().decode() if holder.stderr else ""
                raise RayUnavailableError(f"cannot create a network namespace: {err.strip()}")
            with contextlib.suppress(OSError):
                if (
                    os.readlink(cluster.netns) != mine
                    and "UP"
                    in subprocess.run(
                        [*cluster.prefix, _which("ip"), "-o", "link", "show", "lo"],
                        capture_output=True,
                        text=True,
                        check=False,
                    ).stdout.split(">")[0]
                ):
                    break
            if time.monotonic() > deadline:
                raise RayStartError("the network namespace did not come up")
            time.sleep(0.05)
        cluster.start_head(timeout_s)
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(root, ignore_errors=True)
