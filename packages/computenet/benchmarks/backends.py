"""How fast the execution backends start and stop runs, on real clusters (as root).

    .venv/bin/python packages/computenet/benchmarks/backends.py [--runs 5]

For local, Slurm (testkit: slurmctld + two slurmd) and Ray (testkit: a head in a private
network namespace), the median over `--runs` of:
  submit -> command started   launch() until the command itself wrote its start time
  cancel -> devices free      cancel() of a running 1-device run until the cluster shows
                              no device in use (Slurm: GresUsed; Ray: available resources;
                              local: the run's processes are gone)
Goal for both: <= 2 s (a job must not wait on the engine longer than on the network).
Slurm's figure is bounded by slurmctld's scheduling loop (about once a second).
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from computenet.backends import ExecutionBackend, LaunchRequest, LocalBackend
from computenet.backends.ray import RayBackend, close_drivers
from computenet.backends.slurm import SlurmBackend
from testkit.ray import running_ray
from testkit.slurm import running_slurm

GOAL_S = 2.0


def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        time.sleep(0.01)


def _written(path: Path) -> Callable[[], bool]:
    return lambda: path.read_text().strip() != ""


def _over_and_free(
    backend: ExecutionBackend, run_id: str, in_use: Callable[[], int]
) -> Callable[[], bool]:
    return lambda: backend.status([run_id])[run_id].terminal and in_use() == 0


def measure(
    backend: ExecutionBackend, in_use: Callable[[], int], runs: int, accelerator: str | None
) -> tuple[float, float]:
    starts, frees = [], []
    for i in range(runs):
        run_id = f"bench-{i}.1"
        command = 'date +%s.%N > "$COMPUTENET_START_FILE"; sleep 300'
        with tempfile.NamedTemporaryFile() as mark:
            request = LaunchRequest(
                run_id,
                "bench",
                command,
                env={"COMPUTENET_START_FILE": mark.name},
                devices=((0, (0,)),),
                accelerator=accelerator,
            )
            t0 = time.time()
            backend.launch(request)
            _until(_written(Path(mark.name)))
            starts.append(float(Path(mark.name).read_text()) - t0)
            _until(lambda: in_use() == 1)
            t1 = time.monotonic()
            backend.cancel(run_id)
            _until(_over_and_free(backend, run_id, in_use))
            frees.append(time.monotonic() - t1)
    return statistics.median(starts), statistics.median(frees)


@contextmanager
def backends(
    root: Path,
) -> Iterator[list[tuple[str, ExecutionBackend, Callable[[], int], str | None]]]:
    local = LocalBackend(root / "local", grace_s=0.5)

    def local_in_use() -> int:
        return sum(not s.terminal for s in local.status(local.runs()).values())

    with running_slurm() as slurm, running_ray() as ray:
        s = SlurmBackend(root / "slurm", conf=slurm.conf, poll_interval_s=0.05)
        r = RayBackend(
            root / "ray", address=ray.address, driver_prefix=ray.prefix, poll_interval_s=0.05
        )
        r.cluster_resources()  # the driver is up: measured runs do not pay for ray.init

        def ray_in_use() -> int:
            view = r.cluster_resources()
            held: float = view["total"]["A100"] - view["available"]["A100"]
            return round(held)

        try:
            yield [
                ("local", local, local_in_use, None),
                ("slurm", s, lambda: sum(s.gpus_in_use().values()), "A100"),
                ("ray", r, ray_in_use, "A100"),
            ]
        finally:
            close_drivers()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| backend | submit -> command started | cancel -> devices free | goal |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp, backends(Path(tmp)) as all_backends:
        for name, backend, in_use, accelerator in all_backends:
            start, free = measure(backend, in_use, args.runs, accelerator)
            print(f"| {name} | {start:.2f} s | {free:.2f} s | <= {GOAL_S:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
