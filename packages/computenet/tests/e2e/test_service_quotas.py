"""Kueue-style quotas in the live service, end to end: tenants with quotas, cohorts and
limits are created and changed through the HTTP API (and the CLI) while the service runs,
and the control loop enforces them on real processes (local backend) as the simulator
does: borrowing idle quota, reclaiming it by preemption, and waiting for quota."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from computenet.api.app import create_app
from computenet.backends.base import RunState
from computenet.cli import service_commands
from computenet.cli.client import ApiClient
from computenet.cli.main import app as cli_app
from computenet.domain.tenants import Tenant
from computenet.service.runtime import build_runtime, ensure_admin_token
from computenet.service.settings import Settings

pytestmark = pytest.mark.e2e

Auth = dict[str, str]
Job = dict[str, Any]

# one site, one node of 8 V100: small enough that quotas decide who runs
TINY_NETWORK = """\
name: tiny
sites:
  - name: lab
    region: east
    pools:
      - {name: v100, accelerator: V100, accelerators_per_node: 8, nodes: 1}
"""


@contextmanager
def running_service(
    tmp_path: Path, store_url: str, policy: str = "backfill"
) -> Iterator[tuple[TestClient, Auth, Settings]]:
    network = tmp_path / "tiny.yaml"
    network.write_text(TINY_NETWORK, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=store_url,
        network=str(network),
        policy=policy,
        tick_s=0.05,
    )
    runtime = build_runtime(settings)
    admin = {"Authorization": f"Bearer {ensure_admin_token(runtime).read_text().strip()}"}
    with TestClient(create_app(settings, runtime)) as client:
        try:
            yield client, admin, settings
        finally:  # real processes outlive the service: stop what still runs
            for j in client.get("/v1/jobs", headers=admin).json()["items"]:
                if j["state"] in ("pending", "running"):
                    client.post(f"/v1/jobs/{j['id']}/cancel", headers=admin)
            wait_until(
                lambda: all(
                    j["state"] not in ("pending", "running")
                    for j in client.get("/v1/jobs", headers=admin).json()["items"]
                )
            )


def add_tenant(client: TestClient, admin: Auth, name: str, **quotas: Any) -> Auth:
    r = client.post("/v1/tenants", json={"name": name, **quotas}, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def submit(client: TestClient, auth: Auth, job_id: str, gpus: int, command: str, **kw: Any) -> None:
    body = {"id": job_id, "command": command, "accelerators": gpus, "work": {"reference_s": 60}}
    r = client.post("/v1/jobs", json={**body, **kw}, headers=auth)
    assert r.status_code == 201, r.text


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def get(client: TestClient, auth: Auth, job_id: str) -> Job:
    job: Job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
    return job


def wait_for(
    client: TestClient, auth: Auth, job_id: str, check: Callable[[Job], bool], timeout: float = 15
) -> Job:
    wait_until(lambda: check(get(client, auth, job_id)), timeout)
    return get(client, auth, job_id)


def running(job: Job) -> bool:
    return bool(job["state"] == "running")


def waiting_for_quota(job: Job) -> bool:
    return bool(job["state"] == "pending" and job["pending_reason"] == "WaitingForQuota")


def test_idle_quota_is_borrowed_then_reclaimed_by_its_owner(tmp_path: Path, store_url: str) -> None:
    """A owns 4 of the 8 GPUs and is idle; B (same cohort) borrows them with a preemptible
    8-GPU job. A submits within its quota: B's job is preempted and requeued (its run
    stopped), A's job runs at once, and B's job runs again once A's quota is idle."""
    with running_service(tmp_path, store_url) as (client, admin, _):
        # the tenants are created after the service started: the loop reloads them
        a = add_tenant(client, admin, "team-a", quota={"V100": 4}, cohort="lab")
        b = add_tenant(client, admin, "team-b", quota={"V100": 4}, cohort="lab")
        submit(client, b, "b-big", 8, "sleep 60", preemptible=True)
        big = wait_for(client, b, "b-big", running)
        assert running(big) and big["attempt"] == 1  # 4 own + 4 borrowed from team-a

        submit(client, a, "a-job", 4, "sleep 3; echo mine")
        mine = wait_for(client, a, "a-job", running)
        assert mine["state"] == "running", mine
        big = wait_for(client, b, "b-big", waiting_for_quota)
        # reclaimed: requeued with nothing to borrow while team-a uses its quota
        assert waiting_for_quota(big), big
        assert big["placement"] is None
        assert "preempted" in [e["kind"] for e in big["events"]]
        backend = client.app.state.runtime.loop.backends["lab"]  # type: ignore[attr-defined]
        # the preempted run's processes were stopped, not left running beside a-job
        assert wait_until(lambda: backend.status(["b-big.1"])["b-big.1"].state.terminal)
        assert backend.status(["b-big.1"])["b-big.1"].state is RunState.CANCELLED

        mine = wait_for(client, a, "a-job", lambda j: j["state"] == "succeeded")
        assert mine["state"] == "succeeded" and mine["attempt"] == 1
        assert client.get("/v1/jobs/a-job/logs", headers=a).text.strip() == "mine"
        # team-a is idle again: team-b borrows again, under a new run
        big = wait_for(client, b, "b-big", running)
        assert running(big) and big["attempt"] == 2, big


def test_a_tenant_under_its_quota_is_admitted_before_an_earlier_borrower(
    tmp_path: Path, store_url: str
) -> None:
    """Strict FIFO, and team-b's over-quota job waits at the head of the queue with two
    GPUs free: team-a, within its nominal quota, is admitted at once anyway; then team-a
    asks for the rest of its quota and takes back the GPUs team-b borrowed."""
    with running_service(tmp_path, store_url, policy="fifo") as (client, admin, _):
        # team-a lends at most 2 of its 4 GPUs
        a = add_tenant(
            client, admin, "team-a", quota={"V100": 4}, lending_limit={"V100": 2}, cohort="lab"
        )
        b = add_tenant(client, admin, "team-b", quota={"V100": 4}, cohort="lab")
        submit(client, b, "b-own", 4, "sleep 60")
        assert running(wait_for(client, b, "b-own", running))
        submit(client, b, "b-borrow", 2, "sleep 60", preemptible=True)
        assert running(wait_for(client, b, "b-borrow", running))
        submit(client, b, "b-over", 2, "sleep 60")  # would borrow 4 > the 2 team-a lends
        assert waiting_for_quota(wait_for(client, b, "b-over", waiting_for_quota))

        submit(client, a, "a-1", 2, "sleep 60")
        assert running(wait_for(client, a, "a-1", running))
        assert waiting_for_quota(get(client, b, "b-over"))  # still first in line, still waits

        submit(client, a, "a-2", 2, "sleep 60")  # within quota, no GPU free: reclaim
        assert running(wait_for(client, a, "a-2", running))
        borrowed = wait_for(client, b, "b-borrow", waiting_for_quota)
        assert waiting_for_quota(borrowed), borrowed
        assert "preempted" in [e["kind"] for e in borrowed["events"]]
        assert running(get(client, b, "b-own"))  # within team-b's own quota: untouched
        usage = {
            u["tenant"]: u["jobs"]["running"] for u in client.get("/v1/usage", headers=admin).json()
        }
        assert usage == {"team-a": 2, "team-b": 1}


def test_changing_a_quota_while_the_service_runs(tmp_path: Path, store_url: str) -> None:
    """A PATCH applies within a tick: a job waiting for quota starts when its tenant's
    quota grows; a restart loads the stored quotas."""
    with running_service(tmp_path, store_url) as (client, admin, settings):
        b = add_tenant(client, admin, "team-b", quota={"V100": 2}, cohort="solo")
        submit(client, b, "b-4", 4, "sleep 60")
        assert waiting_for_quota(wait_for(client, b, "b-4", waiting_for_quota))
        r = client.patch("/v1/tenants/team-b", json={"quota": {"V100": 4}}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "name": "team-b",
            "weight": 1.0,
            "quota": {"V100": 4},
            "cohort": "solo",
            "borrowing_limit": {},
            "lending_limit": {},
        }
        assert running(wait_for(client, b, "b-4", running))
        assert client.patch("/v1/tenants/team-b", json={"weight": 3}, headers=b).status_code == 403
        r = client.patch("/v1/tenants/nobody", json={"weight": 3}, headers=admin)
        assert r.status_code == 404 and "nobody" in r.text
        # tenants see their own settings only
        assert [t["name"] for t in client.get("/v1/tenants", headers=b).json()] == ["team-b"]
    restarted = build_runtime(settings)  # the service's next start
    quota = restarted.loop.scheduler.quota
    assert quota is not None
    assert quota.tenants == {"team-b": Tenant("team-b", 1.0, {"V100": 4}, "solo")}
    restarted.engine.dispose()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"quota": {"V100": 2}, "lending_limit": {"V100": 4}},
            "tenant bad: lending_limit for V100 exceeds its quota",
        ),
        (
            {"quota": {"V100": 2}, "borrowing_limit": {"H800": 4}},
            "tenant bad: borrowing_limit for ['H800'] has no quota",
        ),
        ({"quota": {"v100": 2}}, "quota key 'v100' is not an accelerator model"),
        ({"quota": {"Z9000": 2}}, "quota key 'Z9000'"),
    ],
    ids=["lending-over-quota", "borrowing-unknown-key", "key-case", "key-unknown"],
)
def test_invalid_quotas_are_refused_with_the_reason(
    tmp_path: Path, body: dict[str, Any], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    with running_service(tmp_path, url) as (client, admin, _):
        r = client.post("/v1/tenants", json={"name": "bad", **body}, headers=admin)
        assert r.status_code == 422 and message in r.json()["detail"], r.text
        assert client.get("/v1/tenants", headers=admin).json() == []
        add_tenant(client, admin, "bad", quota={"V100": 4})
        r = client.patch("/v1/tenants/bad", json=body, headers=admin)
        assert r.status_code == 422 and message in r.json()["detail"], r.text
        # a PATCH that would break the limits leaves the tenant as it was
        assert client.get("/v1/tenants", headers=admin).json()[0]["quota"] == {"V100": 4}
        r = client.post("/v1/tenants", json={"name": "neg", "quota": {"V100": -1}}, headers=admin)
        assert r.status_code == 422 and "quota" in r.text


def test_cli_tenant_add_set_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`computenet tenant add/set/list` against the in-process service: quotas in, the
    service's refusals out as exit code 2 with its message."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with running_service(tmp_path, url) as (client, admin, _):

        def in_process(_url: str, _token: str | None) -> ApiClient:
            api = ApiClient("http://testserver", None)
            client.headers.update(admin)
            api._http = client  # the in-process app, same client API
            return api

        monkeypatch.setattr(service_commands, "_client", in_process)
        runner = CliRunner()

        def cli(*args: str) -> tuple[int, str, str]:
            result = runner.invoke(cli_app, ["tenant", *args])
            return result.exit_code, result.stdout, " ".join(result.stderr.split())

        code, out, _ = cli(
            "add", "lab-a", "--quota", "V100=8", "--quota", "*=4",
            "--cohort", "labs", "--borrowing-limit", "V100=2",
        )  # fmt: skip
        assert code == 0, out
        added = "tenant lab-a added (weight 1, quota V100=8, *=4, cohort labs, borrowing V100=2)"
        assert out.startswith(added) and "; token (shown once): " in out, out
        code, out, err = cli("add", "lab-b", "--quota", "V100=2", "--lending-limit", "V100=3")
        assert code == 2 and "lending_limit for V100 exceeds its quota" in err, err
        code, out, err = cli("add", "lab-b", "--quota", "V100=2", "--borrowing-limit", "H800=1")
        assert code == 2 and "borrowing_limit for ['H800'] has no quota" in err, err
        code, out, err = cli("add", "lab-b", "--quota", "V100")
        assert code == 2 and "--quota takes KEY=COUNT" in err, err
        code, out, err = cli("set", "lab-a", "--quota", "H800=4")  # V100's limit: no quota
        assert code == 2 and "borrowing_limit for ['V100'] has no quota" in err, err
        code, out, err = cli("set", "lab-a", "--lending-limit", "V100=9")
        assert code == 2 and "exceeds its quota" in err, err
        code, out, err = cli("set", "lab-a")
        assert code == 2 and "nothing to change" in err
        code, out, err = cli("set", "ghost", "--weight", "2")
        assert code == 2 and "tenant ghost does not exist" in err
        code, out, _ = cli(
            "set", "lab-a", "--quota", "V100=16", "--borrowing-limit", "none", "--weight", "2"
        )
        assert code == 0, out
        assert out.strip() == "tenant lab-a: weight 2, quota V100=16, cohort labs"
        code, out, _ = cli("list", "--json")
        assert code == 0
        assert '"borrowing_limit": {}' in out and '"cohort": "labs"' in out
        code, out, _ = cli("list")
        assert code == 0 and "lab-a" in out and "V100=16" in out and "labs" in out
