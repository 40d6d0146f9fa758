"""The network service end to end: HTTP API, control loop, SQLite store, local backend
running real processes."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from computenet.api.app import create_app
from computenet.service.runtime import build_runtime, ensure_admin_token
from computenet.service.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def service(tmp_path: Path, store_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The service on SQLite and on a real PostgreSQL server (see tests/conftest.py)."""
    settings = Settings(
        data_dir=tmp_path / "data", database_url=store_url, network="philly-like", tick_s=0.05
    )
    runtime = build_runtime(settings)
    admin = ensure_admin_token(runtime).read_text().strip()
    with TestClient(create_app(settings, runtime)) as client:
        yield client, {"Authorization": f"Bearer {admin}"}


def tenant(client: TestClient, admin: dict[str, str], name: str) -> dict[str, str]:
    r = client.post("/v1/tenants", json={"name": name, "weight": 2}, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def wait_for(
    client: TestClient, auth: dict[str, str], job_id: str, states: set[str], timeout: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def job(job_id: str, command: str, **extra: Any) -> dict[str, Any]:
    return {"id": job_id, "command": command, "work": {"reference_s": 60}, **extra}


def test_submit_run_succeed_with_logs_placement_and_history(
    service: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = service
    lab = tenant(client, admin, "lab-a")
    r = client.post(
        "/v1/jobs",
        json=job("hello", "echo hello $CUDA_VISIBLE_DEVICES", accelerators=2),
        headers=lab,
    )
    assert r.status_code == 201, r.text
    done = wait_for(client, lab, "hello", {"succeeded", "failed"})
    assert done["state"] == "succeeded", done
    assert done["exit_code"] == 0
    assert done["placement"]["accelerator"] == "V100"
    devices = done["placement"]["slots"][0]["devices"]
    assert len(devices) == 2
    kinds = [e["kind"] for e in done["events"]]
    assert kinds[:2] == ["submitted", "started"] and kinds[-1] == "succeeded"
    out = client.get("/v1/jobs/hello/logs", headers=lab)
    assert out.text.strip() == "hello " + ",".join(str(d) for d in devices)


def test_working_directory_and_environment(
    service: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, admin = service
    lab = tenant(client, admin, "tw")
    body = job("where", "pwd; echo $GREETING", workdir=str(tmp_path), env={"GREETING": "ni hao"})
    assert client.post("/v1/jobs", json=body, headers=lab).status_code == 201
    assert wait_for(client, lab, "where", {"succeeded", "failed"})["state"] == "succeeded"
    assert client.get("/v1/jobs/where/logs", headers=lab).text.split("\n")[:2] == [
        str(tmp_path),
        "ni hao",
    ]
    r = client.post("/v1/jobs", json=job("rel", "true", workdir="relative/dir"), headers=lab)
    assert r.status_code == 422 and "workdir" in r.text


def test_failure_exit_code_and_cancel_of_a_running_job(
    service: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = service
    lab = tenant(client, admin, "lab-b")
    client.post("/v1/jobs", json=job("bad", "echo oops >&2; exit 3"), headers=lab)
    client.post("/v1/jobs", json=job("long", "sleep 30"), headers=lab)
    bad = wait_for(client, lab, "bad", {"succeeded", "failed"})
    assert bad["state"] == "failed" and bad["exit_code"] == 3
    assert client.get("/v1/jobs/bad/logs?stream=stderr", headers=lab).text.strip() == "oops"
    assert wait_for(client, lab, "long", {"running"})["state"] == "running"
    client.post("/v1/jobs/long/cancel", headers=lab)
    long = wait_for(client, lab, "long", {"cancelled", "failed", "succeeded"})
    assert long["state"] == "cancelled"


def test_tenants_see_only_their_own_jobs(service: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = service
    a, b = tenant(client, admin, "ta"), tenant(client, admin, "tb")
    client.post("/v1/jobs", json=job("mine", "true"), headers=a)
    assert client.get("/v1/jobs/mine", headers=b).status_code == 404
    assert client.post("/v1/jobs/mine/cancel", headers=b).status_code == 404
    assert [j["id"] for j in client.get("/v1/jobs", headers=b).json()["items"]] == []
    assert [j["id"] for j in client.get("/v1/jobs", headers=a).json()["items"]] == ["mine"]
    assert client.get("/v1/jobs/mine", headers=admin).status_code == 200
    assert client.post("/v1/tenants", json={"name": "x"}, headers=a).status_code == 403
    assert client.get("/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/jobs").status_code == 401


def test_malformed_input_is_a_4xx_naming_the_field(
    service: tuple[TestClient, dict[str, str]],
) -> None:
    client, admin = service
    lab = tenant(client, admin, "tc")
    r = client.post("/v1/jobs", json=job("x", "true", accelerators="many"), headers=lab)
    assert r.status_code == 422
    assert "accelerators" in r.text
    r = client.post("/v1/jobs", json={"command": "true"}, headers=lab)
    assert r.status_code == 422 and "work" in r.text
    r = client.post(
        "/v1/jobs", content=b"{not json", headers={**lab, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    client.post("/v1/jobs", json=job("dup", "true"), headers=lab)
    assert client.post("/v1/jobs", json=job("dup", "true"), headers=lab).status_code == 409
    assert client.get("/openapi.json").json()["info"]["title"] == "computenet"


def test_demo_trickle_creates_tenants_and_jobs(service: tuple[TestClient, dict[str, str]]) -> None:
    from computenet.cli.client import ApiClient
    from computenet.service.demo import DEMO_TENANTS, trickle

    client, admin = service
    api = ApiClient("http://testserver", admin["Authorization"].split()[1])
    client.headers.update(admin)
    api._http = client  # type: ignore[assignment]  # the in-process app, same client API
    assert trickle(api, count=6, interval_s=0, seed=1) == 6
    names = {t["name"] for t in client.get("/v1/tenants", headers=admin).json()}
    assert {n for n, _ in DEMO_TENANTS} <= names
    jobs = client.get("/v1/jobs", headers=admin).json()["items"]
    assert len(jobs) == 6
    assert all(j["spec"]["labels"]["synthetic"] == "true" for j in jobs)


def test_requeue_runs_a_failed_job_again(
    service: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, admin = service
    lab = tenant(client, admin, "td")
    flag = tmp_path / "flag"
    # fails the first time, succeeds once the flag exists
    client.post(
        "/v1/jobs", json=job("flaky", f"test -e {flag} || {{ touch {flag}; exit 1; }}"), headers=lab
    )
    assert wait_for(client, lab, "flaky", {"failed", "succeeded"})["state"] == "failed"
    assert client.post("/v1/jobs/flaky/requeue", headers=lab).status_code == 200
    done = wait_for(client, lab, "flaky", {"succeeded", "failed"})
    assert done["state"] == "succeeded" and done["attempt"] == 2
    assert "requeued" in [e["kind"] for e in done["events"]]
    assert client.post("/v1/jobs/flaky/requeue", headers=lab).status_code == 409


def test_a_registered_site_takes_waiting_jobs(service: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = service
    lab = tenant(client, admin, "te")
    client.post(
        "/v1/jobs", json=job("wants-h100", "echo ok", accelerator_types=["H100"]), headers=lab
    )
    time.sleep(0.3)
    waiting = client.get("/v1/jobs/wants-h100", headers=lab).json()
    assert waiting["state"] == "pending" and waiting["pending_reason"] == "NoMatchingAccelerator"
    site = {
        "name": "shanghai-h100",
        "region": "长三角",
        "pools": [{"name": "h100", "accelerator": "H100", "accelerators_per_node": 8, "nodes": 2}],
    }
    assert client.post("/v1/sites", json=site, headers=lab).status_code == 403
    r = client.post("/v1/sites", json=site, headers=admin)
    assert r.status_code == 201 and r.json()["accelerators"] == 16
    assert client.post("/v1/sites", json=site, headers=admin).status_code == 409
    bad = {
        **site,
        "name": "x",
        "pools": [{"name": "p", "accelerator": "Z9000", "accelerators_per_node": 8, "nodes": 1}],
    }
    r = client.post("/v1/sites", json=bad, headers=admin)
    assert r.status_code == 422 and "Z9000" in r.text
    done = wait_for(client, lab, "wants-h100", {"succeeded", "failed"})
    assert done["state"] == "succeeded"
    assert done["placement"]["site"] == "shanghai-h100"
    assert "shanghai-h100" in [s["name"] for s in client.get("/v1/sites", headers=lab).json()]
