"""The federation demo: one network over a local site, a Slurm cluster and a Ray cluster.

    .venv/bin/python examples/federation/demo.py        # ~1 minute; as root (Slurm daemons)

Starts a throwaway Slurm cluster (munged, slurmctld, two slurmd with fake A100/V100 GPUs)
and a Ray head (4 fake A100, in a private network namespace), all on loopback; writes
`network.yaml` with their connection settings filled in; starts `computenet up` on it; and
then, through the HTTP API like any client:

1. two tenants submit jobs; the scheduler spreads them over the three sites;
2. a job that accepts only V100 lands on the Slurm site, the only one that has them;
3. a job holds both V100; the next V100 job waits; cancelling the first lets it start.

It prints where each job ran and how long from submission until its command started.
`tests/e2e/test_federation_demo.py` runs the same scenario and checks every step.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

if TYPE_CHECKING:
    from testkit.ray import RayCluster
    from testkit.slurm import SlurmCluster

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "network.yaml"
TENANTS = ("lab-a", "lab-b")
STARTED = "START"  # each job prints this and the time its command started


def configure(
    out: Path, *, slurm_conf: str, ray_address: str, ray_prefix: list[str], spool: Path
) -> Path:
    """network.yaml with the local clusters' connection settings filled in."""
    network = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    for site in network["sites"]:
        backend = site["backend"]
        if backend["kind"] == "slurm":
            backend.update(conf=slurm_conf, spool=str(spool))
        elif backend["kind"] == "ray":
            backend.update(address=ray_address, driver_prefix=ray_prefix, spool=str(spool))
    out.write_text(yaml.safe_dump(network, sort_keys=False), encoding="utf-8")
    return out


def _job(job_id: str, seconds: float, accelerators: int, types: list[str]) -> dict[str, Any]:
    command = (
        f'echo {STARTED} "$(date +%s.%N)"; echo "devices $COMPUTENET_DEVICES"; sleep {seconds}'
    )
    return {
        "id": job_id,
        "kind": "training",
        "command": command,
        "accelerators": accelerators,
        "accelerator_types": types,
        "work": {"reference_s": max(1.0, seconds), "reference_accelerator": types[0]},
        "estimated_s": max(1.0, seconds),
    }


@dataclass
class Outcome:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> final job
    logs: dict[str, str] = field(default_factory=dict)  # id -> stdout
    waited_while_held: str = ""  # the pending reason of the job behind the held V100
    freed_after_s: float = 0.0  # cancel -> the waiting job's command started

    def site(self, job_id: str) -> str:
        placement = self.jobs[job_id]["placement"]
        return "" if placement is None else str(placement["site"])

    def start_delay(self, job_id: str) -> float | None:
        """Seconds from submission until the job's command printed its start."""
        for line in self.logs.get(job_id, "").splitlines():
            if line.startswith(STARTED):
                return float(line.split()[1]) - float(self.jobs[job_id]["submitted_at"])
        return None


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kw: Any) -> Any:
        r = self.client.request(method, path, **kw)
        r.raise_for_status()
        return r.json()

    def wait(
        self, job_id: str, done: Callable[[dict[str, Any]], bool], timeout_s: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            job: dict[str, Any] = self.call("GET", f"/v1/jobs/{job_id}")
            if done(job):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id}: still {job['state']} ({job['message']})")
            time.sleep(0.1)

    def logs(self, job_id: str) -> str:
        r = self.client.get(f"/v1/jobs/{job_id}/logs")
        r.raise_for_status()
        return r.text


def _over(job: dict[str, Any]) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


def run_scenario(url: str, admin_token: str) -> Outcome:
    admin = Api(url, admin_token)
    tenants = {
        name: Api(url, admin.call("POST", "/v1/tenants", json={"name": name})["token"])
        for name in TENANTS
    }
    try:
        return _scenario(tenants["lab-a"], tenants["lab-b"])
    finally:
        for api in (admin, *tenants.values()):
            api.client.close()


def _scenario(a: Api, b: Api) -> Outcome:
    out = Outcome()
    owner: dict[str, Api] = {}

    def submit(api: Api, spec: dict[str, Any]) -> None:
        api.call("POST", "/v1/jobs", json=spec)
        owner[spec["id"]] = api

    # 1. two tenants, jobs spread over the sites (4 two-A100 jobs > any one site's A100)
    for i in (1, 2):
        submit(a, _job(f"a-train-{i}", 3, 2, ["A100"]))
        submit(b, _job(f"b-train-{i}", 3, 2, ["A100"]))
    submit(a, _job("a-infer", 2, 1, ["T4"]))
    # 2. only the Slurm site has V100
    submit(b, _job("b-v100", 1, 2, ["V100"]))
    for job_id, api in owner.items():
        out.jobs[job_id] = api.wait(job_id, _over)
    # 3. a cancellation frees capacity that the next job takes
    submit(a, _job("a-hold", 300, 2, ["V100"]))
    a.wait("a-hold", lambda j: j["state"] == "running")
    submit(b, _job("b-next", 1, 2, ["V100"]))
    time.sleep(2)
    waiting = b.wait("b-next", lambda j: True)
    out.waited_while_held = f"{waiting['state']} ({waiting['pending_reason']})"
    cancelled_at = time.time()
    a.call("POST", "/v1/jobs/a-hold/cancel")
    for job_id in ("a-hold", "b-next"):
        out.jobs[job_id] = owner[job_id].wait(job_id, _over)
    for job_id, api in owner.items():
        out.logs[job_id] = api.logs(job_id)
    delay = out.start_delay("b-next")
    started = (delay or 0.0) + float(out.jobs["b-next"]["submitted_at"])
    out.freed_after_s = started - cancelled_at
    return out


def report(out: Outcome) -> str:
    lines = [
        "| job | tenant | site | accelerators | state | submit → command start (s) |",
        "|---|---|---|---|---|---:|",
    ]
    for job_id, job in out.jobs.items():
        placement = job["placement"] or {}
        delay = out.start_delay(job_id)
        lines.append(
            f"| {job_id} | {job['tenant']} | {placement.get('site', '')} | "
            f"{job['accelerators']} x {placement.get('accelerator', '')} | {job['state']} | "
            f"{'' if delay is None else f'{delay:.2f}'} |"
        )
    lines.append("")
    lines.append(f"b-next while a-hold held both V100: {out.waited_while_held}")
    lines.append(f"a-hold cancelled -> b-next's command started {out.freed_after_s:.2f} s later")
    return "\n".join(lines)


@contextlib.contextmanager
def serve(base: Path, slurm: SlurmCluster, ray: RayCluster) -> Iterator[tuple[str, str]]:
    """`computenet up` on the federation of these clusters; yields (url, admin token)."""
    from computenet.testing.service import ServiceProcess

    network = configure(
        base / "network.yaml",
        slurm_conf=str(slurm.conf),
        ray_address=ray.address,
        ray_prefix=ray.prefix,
        spool=base / "spool",
    )
    service = ServiceProcess(base / "data", network=str(network))
    service.start()
    try:
        yield service.url, service.admin_token
    finally:
        service.stop()


@contextlib.contextmanager
def federation(base: Path) -> Iterator[tuple[str, str]]:
    """Slurm, Ray and the service, all started here on loopback."""
    from testkit.ray import running_ray
    from testkit.slurm import running_slurm

    with running_slurm() as slurm, running_ray() as ray, serve(base, slurm, ray) as running:
        yield running


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="computenet-federation-") as tmp:
        print("starting Slurm, Ray and the network service ...", file=sys.stderr)
        with federation(Path(tmp)) as (url, token):
            print(f"service on {url}; running the scenario ...", file=sys.stderr)
            print(report(run_scenario(url, token)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
