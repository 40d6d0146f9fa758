"""The pure parts of the Slurm and Ray backends and of the site's backend entry: what is
submitted (sbatch arguments, batch script, placement group bundles) and how a site names
its backend. The Slurm readers are tested on recorded outputs in test_slurm_parse.py."""

import shlex
import subprocess
from pathlib import Path

import pytest

from computenet.backends.base import InvalidRequest, LaunchRequest
from computenet.backends.ray import bundles_for, pools_from_ray_nodes
from computenet.backends.slurm_script import (
    SlurmSubmitOptions,
    render_script,
    sbatch_arguments,
    time_limit_minutes,
)
from computenet.domain.errors import DomainError
from computenet.service.site_backends import (
    LocalSite,
    RaySite,
    SlurmSite,
    backend_entries,
    parse_backend,
)

pytestmark = pytest.mark.unit

PATHS = {
    "script": Path("/spool/r.1/job.sh"),
    "stdout": Path("/spool/r.1/stdout.log"),
    "stderr": Path("/spool/r.1/stderr.log"),
    "workdir": Path("/spool/r.1"),
}


def gang(nodes: int, per_node: int, **kw: object) -> LaunchRequest:
    devices = tuple((n, tuple(range(per_node))) for n in range(nodes))
    return LaunchRequest("r.1", "job", "python train.py", devices=devices, **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- sbatch


def test_a_gang_becomes_nodes_and_typed_gpus_per_node() -> None:
    args = sbatch_arguments(
        gang(2, 4, accelerator="A100", time_limit_s=90),
        SlurmSubmitOptions(partition="gpu", extra_args=("--account=lab",)),
        **PATHS,
    )
    assert args == [
        "--parsable",
        "--job-name=r.1",
        "--nodes=2",
        "--ntasks-per-node=1",
        "--output=/spool/r.1/stdout.log",
        "--error=/spool/r.1/stderr.log",
        "--open-mode=append",
        "--chdir=/spool/r.1",
        "--no-requeue",
        "--export=ALL",
        "--partition=gpu",
        "--gres=gpu:a100:4",
        "--time=2",  # 90 s: Slurm counts whole minutes
        "--account=lab",
        "/spool/r.1/job.sh",
    ]


def test_gres_type_mapping_and_untyped_and_cpu_only() -> None:
    options = SlurmSubmitOptions(gres_types={"A100": "nvidia_a100-sxm4-80gb"})
    assert "--gres=gpu:nvidia_a100-sxm4-80gb:1" in sbatch_arguments(
        gang(1, 1, accelerator="A100"), options, **PATHS
    )
    assert "--gres=gpu:2" in sbatch_arguments(gang(1, 2), options, **PATHS)
    cpu_only = sbatch_arguments(LaunchRequest("r.1", "job", "true"), options, **PATHS)
    assert "--nodes=1" in cpu_only
    assert not any(a.startswith("--gres") for a in cpu_only)


def test_uneven_gangs_cannot_be_expressed() -> None:
    uneven = LaunchRequest("r.1", "job", "x", devices=((0, (0, 1)), (1, (0,))))
    with pytest.raises(InvalidRequest, match="same devices on every node"):
        sbatch_arguments(uneven, SlurmSubmitOptions(), **PATHS)


@pytest.mark.parametrize(("seconds", "minutes"), [(0.3, 1), (60, 1), (61, 2), (3600, 60)])
def test_time_limit_minutes(seconds: float, minutes: int) -> None:
    assert time_limit_minutes(seconds) == minutes


def test_the_batch_script_exports_the_environment_and_runs_the_command(tmp_path: Path) -> None:
    request = LaunchRequest(
        "r.1",
        "job-7",
        'echo "$GREETING|$COMPUTENET_DEVICES|$COMPUTENET_JOB_ID"; exit 4',
        env={"GREETING": "it's a, b"},
    )
    script = tmp_path / "job.sh"
    script.write_text(render_script(request))
    done = subprocess.run(
        ["/bin/sh", str(script)],
        env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": "1,3"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (4, "it's a, b|1,3|job-7\n")


def test_a_multi_node_script_starts_the_command_on_every_node() -> None:
    last = render_script(gang(2, 1)).splitlines()[-1]
    argv = shlex.split(last)
    assert argv[:4] == ["exec", "srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    assert argv[-1].endswith("python train.py")


# ----------------------------------------------------------------------------- ray


def test_bundles_one_per_node_with_the_accelerator_resource(tmp_path: Path) -> None:
    bundles = bundles_for(
        gang(2, 2, accelerator="A100", time_limit_s=5),
        tmp_path,
        resources={"A100": "accel_a100"},
        grace_s=1.0,
    )
    assert [b["resources"] for b in bundles] == [{"accel_a100": 2}, {"accel_a100": 2}]
    spec = bundles[1]["spec"]
    assert spec["devices"] == [0, 1]
    assert spec["env"]["COMPUTENET_NODE_INDEX"] == "1"
    assert spec["env"]["COMPUTENET_RUN_ID"] == "r.1"
    assert (spec["time_limit_s"], spec["grace_s"]) == (5, 1.0)
    assert spec["stdout"] == str(tmp_path / "stdout.log")


def test_bundles_default_resources(tmp_path: Path) -> None:
    typed = bundles_for(gang(1, 1, accelerator="V100"), tmp_path, resources={}, grace_s=1)
    assert typed[0]["resources"] == {"V100": 1}  # the model's name as a custom resource
    untyped = bundles_for(gang(1, 2), tmp_path, resources={}, grace_s=1)
    assert untyped[0]["resources"] == {"GPU": 2}
    cpu = bundles_for(LaunchRequest("r.1", "j", "true"), tmp_path, resources={}, grace_s=1)
    assert cpu[0]["resources"] == {"CPU": 1}


def test_pools_from_ray_nodes() -> None:
    node = {"alive": True, "resources": {"CPU": 8.0, "A100": 4.0, "memory": 64 * 2**30}}
    nodes = [
        node,
        node,
        {"alive": False, "resources": {"CPU": 8.0, "A100": 4.0}},  # dead: not counted
        {"alive": True, "resources": {"CPU": 16.0}},  # no accelerator
    ]
    pools = pools_from_ray_nodes(nodes, lambda r: r if r == "A100" else None)
    assert pools == [
        {
            "name": "a100-x4",
            "accelerator": "A100",
            "accelerators_per_node": 4,
            "cpus_per_node": 8,
            "memory_gib_per_node": 64,
            "nodes": 2,
        }
    ]


# ----------------------------------------------------------------------------- sites


def test_backend_entries_are_validated() -> None:
    assert parse_backend(None) == LocalSite()
    slurm = parse_backend({"kind": "slurm", "conf": "/etc/slurm/slurm.conf", "partition": "gpu"})
    assert isinstance(slurm, SlurmSite) and slurm.partition == "gpu"
    ray = parse_backend({"kind": "ray", "address": "head:6379"})
    assert isinstance(ray, RaySite) and ray.strategy == "SPREAD"
    with pytest.raises(DomainError, match=r"backend\.ray\.address"):
        parse_backend({"kind": "ray"}, "r")
    with pytest.raises(DomainError, match="backend"):
        parse_backend({"kind": "kubernetes"}, "k")
    with pytest.raises(DomainError, match="partiton"):
        parse_backend({"kind": "slurm", "partiton": "gpu"}, "typo")


def test_backend_entries_of_a_network_file() -> None:
    example = Path(__file__).resolve().parents[4] / "examples" / "federation" / "network.yaml"
    entries = backend_entries(example)
    assert {name: e["kind"] for name, e in entries.items()} == {
        "lab-local": "local",
        "hpc-slurm": "slurm",
        "ai-ray": "ray",
    }
    assert backend_entries("china-hubs") == {}  # a built-in network runs locally
