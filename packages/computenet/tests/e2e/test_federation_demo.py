"""The federation demo (examples/federation/demo.py) as a test: `computenet up` over a
local site, the session's Slurm cluster and its Ray cluster, driven through the API."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from testkit.ray import RayCluster
from testkit.slurm import SlurmCluster

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[4] / "examples" / "federation" / "demo.py"


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("federation_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_federation_demo(
    tmp_path: Path, slurm_cluster: SlurmCluster, ray_cluster: RayCluster
) -> None:
    demo = _demo()
    with demo.serve(tmp_path, slurm_cluster, ray_cluster) as (url, token):
        out = demo.run_scenario(url, token)
    assert {j: job["state"] for j, job in out.jobs.items()} == {
        "a-train-1": "succeeded",
        "a-train-2": "succeeded",
        "b-train-1": "succeeded",
        "b-train-2": "succeeded",
        "a-infer": "succeeded",
        "b-v100": "succeeded",
        "a-hold": "cancelled",
        "b-next": "succeeded",
    }
    # both tenants' jobs are spread over all three sites
    trains = {out.site(f"{t}-train-{i}") for t in ("a", "b") for i in (1, 2)}
    assert trains == {"hpc-slurm", "ai-ray"}
    assert out.site("a-infer") == "lab-local"
    assert {out.jobs[j]["tenant"] for j in out.jobs} == {"lab-a", "lab-b"}
    # only the Slurm site has V100; Slurm gave the job its two (fake) GPUs
    assert out.site("b-v100") == "hpc-slurm"
    assert out.logs["b-v100"].splitlines()[1] == "devices 0,1"
    assert out.jobs["b-v100"]["placement"]["accelerator"] == "V100"
    # the cancelled job's devices went to the job that waited for them
    assert out.waited_while_held.startswith("pending")
    assert (out.site("a-hold"), out.site("b-next")) == ("hpc-slurm", "hpc-slurm")
    assert 0 < out.freed_after_s < 15
    assert all(out.start_delay(job_id) is not None for job_id in out.jobs)  # all ran
