"""`computenet up` as a real process, driven by the real CLI; kill -9 at random moments
and restart: no job lost, none run twice, finished jobs keep their results and logs."""

import json
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from computenet.testing.service import CLI, ServiceProcess

pytestmark = pytest.mark.e2e


class Service(ServiceProcess):
    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "COMPUTENET_URL": self.url,
            "COMPUTENET_TOKEN": token or self.admin_token,
        }
        return subprocess.run(
            [*CLI, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path / "data")
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def job_yaml(path: Path, job_id: str, command: str) -> Path:
    path.write_text(
        json.dumps({"id": job_id, "command": command, "work": {"reference_s": 5}}), encoding="utf-8"
    )
    return path


def states(svc: Service, token: str) -> dict[str, dict[str, object]]:
    out = svc.cli("jobs", "--json", "--limit", "500", token=token)
    assert out.returncode == 0, out.stderr
    return {j["id"]: j for j in json.loads(out.stdout)}


def test_cli_submit_follow_and_survive_kill9(service: Service, tmp_path: Path) -> None:
    added = service.cli("tenant", "add", "lab", "--json")
    assert added.returncode == 0, added.stderr
    token = json.loads(added.stdout)["token"]
    ledger = tmp_path / "ledger.txt"  # every run appends its job id: runs are counted
    rng = random.Random(7)
    ids = [f"j{i}" for i in range(8)]
    for job_id in ids:
        spec = job_yaml(
            tmp_path / f"{job_id}.json",
            job_id,
            f"sleep 0.{rng.randint(2, 9)}; echo {job_id} >> {ledger}; echo out-{job_id}",
        )
        result = service.cli("submit", str(spec), token=token)
        assert result.returncode == 0, result.stderr
    for _ in range(3):  # kill -9 at random moments, restart each time
        time.sleep(rng.uniform(0.1, 0.8))
        service.kill9()
        service.start()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        jobs = states(service, token)
        if all(jobs[i]["state"] == "succeeded" for i in ids):
            break
        time.sleep(0.2)
    jobs = states(service, token)
    assert {i: jobs[i]["state"] for i in ids} == dict.fromkeys(ids, "succeeded")
    runs = ledger.read_text().split()
    assert sorted(runs) == sorted(ids), "every job ran exactly once"
    for job_id in ids:
        log = service.cli("logs", job_id, token=token)
        assert log.returncode == 0 and log.stdout.strip() == f"out-{job_id}"
    # a failing job and a cancelled one, through the CLI
    service.cli("submit", str(job_yaml(tmp_path / "bad.json", "bad", "exit 4")), token=token)
    service.cli("submit", str(job_yaml(tmp_path / "slow.json", "slow", "sleep 60")), token=token)
    time.sleep(1.0)
    cancelled = service.cli("cancel", "slow", token=token)
    assert cancelled.returncode == 0, cancelled.stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs = states(service, token)
        if jobs["bad"]["state"] == "failed" and jobs["slow"]["state"] == "cancelled":
            break
        time.sleep(0.2)
    assert jobs["bad"]["state"] == "failed" and jobs["bad"]["exit_code"] == 4
    assert jobs["slow"]["state"] == "cancelled"
    # another tenant cannot see or touch them; bad input exits 2 with the field named
    other = json.loads(service.cli("tenant", "add", "other", "--json").stdout)["token"]
    assert service.cli("cancel", "bad", token=other).returncode == 2
    bad_spec = tmp_path / "malformed.json"
    bad_spec.write_text(
        json.dumps({"command": "true", "work": {"reference_s": 1}, "accelerators": -2})
    )
    out = service.cli("submit", str(bad_spec), token=token)
    assert out.returncode == 2 and "accelerators" in out.stderr
