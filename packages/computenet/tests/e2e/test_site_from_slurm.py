"""A compute center joins at run time from its Slurm cluster: its pools are discovered,
it is registered through the API with its `backend:` entry, and the job only it can run
goes there and runs as a Slurm job."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from computenet.api.app import create_app
from computenet.service.discovery import slurm_site
from computenet.service.runtime import build_runtime, ensure_admin_token
from computenet.service.settings import Settings
from testkit.slurm import SlurmCluster

pytestmark = pytest.mark.e2e

NETWORK = {
    "name": "one-lab",
    "sites": [
        {
            "name": "lab",
            "pools": [{"name": "t4", "accelerator": "T4", "accelerators_per_node": 2, "nodes": 1}],
        }
    ],
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    network = tmp_path / "network.yaml"
    network.write_text(yaml.safe_dump(NETWORK))
    settings = Settings(data_dir=tmp_path / "data", network=str(network), tick_s=0.05)
    runtime = build_runtime(settings)
    admin = ensure_admin_token(runtime).read_text().strip()
    with TestClient(create_app(settings, runtime)) as client:
        yield client, {"Authorization": f"Bearer {admin}"}


def wait_for(client: TestClient, auth: dict[str, str], job_id: str, states: set[str]) -> Any:
    deadline = time.monotonic() + 30
    while (job := client.get(f"/v1/jobs/{job_id}", headers=auth).json())["state"] not in states:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_a_discovered_slurm_site_takes_the_job_only_it_can_run(
    tmp_path: Path, slurm_cluster: SlurmCluster, service: tuple[TestClient, dict[str, str]]
) -> None:
    client, admin = service
    spec = {
        "id": "v100-job",
        "command": 'echo "$SLURMD_NODENAME $COMPUTENET_DEVICES"',
        "accelerators": 2,
        "accelerator_types": ["V100"],
        "work": {"reference_s": 5},
    }
    assert client.post("/v1/tenants", json={"name": "lab-a"}, headers=admin).status_code == 201
    r = client.post("/v1/jobs", json=spec, params={"tenant": "lab-a"}, headers=admin)
    assert r.status_code == 201, r.text
    time.sleep(0.5)
    assert client.get("/v1/jobs/v100-job", headers=admin).json()["state"] == "pending"

    site = slurm_site("hpc", conf=str(slurm_cluster.conf), spool=str(tmp_path / "spool"))
    typo = {**site, "name": "typo", "backend": {"kind": "slurm", "partiton": "gpu"}}
    refused = client.post("/v1/sites", json=typo, headers=admin)
    assert refused.status_code == 422 and "partiton" in refused.text
    r = client.post("/v1/sites", json=site, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["accelerators"] == 4

    job = wait_for(client, admin, "v100-job", {"succeeded", "failed", "cancelled"})
    assert job["state"] == "succeeded", job
    assert (job["placement"]["site"], job["placement"]["accelerator"]) == ("hpc", "V100")
    logs = client.get("/v1/jobs/v100-job/logs", headers=admin)
    assert logs.text == "tk2 0,1\n"  # the V100 node, both its GPUs
