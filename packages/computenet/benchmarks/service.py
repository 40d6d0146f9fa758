"""Service figures: API submissions per second (SQLite) and the time from one job's exit
to the next pending job's start (local backend). Each runs a real `computenet up` on
127.0.0.1 in a temporary directory, with a bounded number of requests."""

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from computenet.testing.service import ServiceProcess

ONE_GPU_NETWORK = """
name: one-gpu
sites:
  - name: solo
    pools:
      - {name: v100, accelerator: V100, accelerators_per_node: 1, nodes: 1}
"""


def _service(data: Path, network: str) -> ServiceProcess:
    svc = ServiceProcess(data, network)
    svc.start()
    return svc


_WRK_SCRIPT = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  counter = counter + 1
  local body = string.format(
    '{"id": "w%%d-%%d", "command": "true", "work": {"reference_s": 1}, "accelerator_types": ["H100"]}',
    math.random(1, 1000000000), counter)
  return wrk.format(nil, "/v1/jobs", nil, body)
end
response = function(status, headers, body)
  if status ~= 201 then errors = (errors or 0) + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %%d ERRORS %%d\\n", summary.requests, summary.errors.status))
end
"""


def submissions_per_second(seconds: int = 5, connections: int = 16) -> dict[str, Any]:
    """wrk (C, from Debian) drives the load so the client takes little of the 2 cores;
    the jobs ask for a model the network lacks, so they stay pending: the figure is the
    API and the store, not process start-up."""
    if shutil.which("wrk") is None:
        raise SystemExit("the service benchmark needs wrk (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        svc = _service(Path(tmp) / "data", "philly-like")
        try:
            with svc.client() as admin:
                token = admin.post("/v1/tenants", json={"name": "bench"}).json()["token"]
            script = Path(tmp) / "post.lua"
            script.write_text(_WRK_SCRIPT % {"token": token})
            out = subprocess.run(
                [
                    "wrk",
                    "-t",
                    "1",
                    "-c",
                    str(connections),
                    "-d",
                    f"{seconds}s",
                    "-s",
                    str(script),
                    svc.url,
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 30,
            ).stdout
            with svc.client() as admin:
                stored = admin.get("/v1/usage").json()
        finally:
            svc.stop()
    accepted = sum(u["jobs"].get("pending", 0) for u in stored)
    rate = accepted / seconds
    latency = next(
        (line.split()[1] for line in out.splitlines() if line.strip().startswith("Latency")), "?"
    )
    return {
        "figure": f"job submissions accepted and stored by the API (SQLite, wrk {connections} connections, {seconds} s, {accepted:,} jobs)",
        "goal": ">= 1,000 /s",
        "measured": f"{rate:,.0f} /s (mean latency {latency})",
        "ok": rate >= 1000,
        "value": rate,
    }


def exit_to_next_start(rounds: int = 5) -> dict[str, Any]:
    gaps = []
    with tempfile.TemporaryDirectory() as tmp:
        net = Path(tmp) / "one-gpu.yaml"
        net.write_text(ONE_GPU_NETWORK)
        svc = _service(Path(tmp) / "data", str(net))
        try:
            with svc.client() as admin:
                token = admin.post("/v1/tenants", json={"name": "bench"}).json()["token"]
            with svc.client(token) as c:
                for i in range(rounds):
                    first, second = f"first-{i}", f"second-{i}"
                    for job_id, cmd in ((first, "sleep 0.5"), (second, "true")):
                        c.post(
                            "/v1/jobs",
                            json={"id": job_id, "command": cmd, "work": {"reference_s": 1}},
                        )
                    deadline = time.monotonic() + 20
                    while time.monotonic() < deadline:
                        b = c.get(f"/v1/jobs/{second}").json()
                        if b["state"] in ("succeeded", "failed"):
                            break
                        time.sleep(0.05)
                    a = c.get(f"/v1/jobs/{first}").json()
                    gaps.append(b["started_at"] - a["finished_at"])
        finally:
            svc.stop()
    gap = statistics.median(gaps)
    return {
        "figure": f"one job's exit to the next pending job's start, local backend (median of {rounds})",
        "goal": "<= 1 s",
        "measured": f"{gap * 1000:.0f} ms (max {max(gaps) * 1000:.0f} ms)",
        "ok": gap <= 1.0,
        "value": gap,
    }


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(submissions_per_second())
    print(exit_to_next_start())
