"""`computenet simulate` and friends, in-process through typer's runner."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computenet.cli.main import app

pytestmark = pytest.mark.unit
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_simulate_synthetic_json_has_every_documented_key() -> None:
    code, out, _ = run(
        "simulate",
        "--trace",
        "synthetic:jobs=300,tenants=3,load=0.9",
        "--network-scale",
        "0.02",
        "--policy",
        "fifo",
        "--policy",
        "sjf+backfill",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert set(data["policies"]) == {"fifo", "sjf+backfill"}
    for figures in data["policies"].values():
        for key in (
            "avg_jct_s",
            "p50_jct_s",
            "p99_jct_s",
            "avg_wait_s",
            "makespan_s",
            "utilization",
            "gpu_allocation_ratio",
            "jain_fairness",
            "jobs_finished",
            "wall_s",
        ):
            assert key in figures
        assert figures["jobs_finished"] == 300
        assert 0 < figures["utilization"] <= 1
    # the workload is identical for both policies, the order differs
    assert data["policies"]["sjf+backfill"]["avg_jct_s"] <= data["policies"]["fifo"]["avg_jct_s"]


def test_same_seed_gives_the_same_figures() -> None:
    args = ("simulate", "--trace", "synthetic:jobs=200", "--network-scale", "0.02", "--json")
    first = json.loads(run(*args, "--seed", "3")[1])["policies"]
    second = json.loads(run(*args, "--seed", "3")[1])["policies"]
    other = json.loads(run(*args, "--seed", "4")[1])["policies"]
    strip = lambda d: {p: {k: v for k, v in f.items() if k != "wall_s"} for p, f in d.items()}  # noqa: E731
    assert strip(first) == strip(second)
    assert strip(first) != strip(other)


def test_report_directory_gets_html_and_plots(tmp_path: Path) -> None:
    code, _, err = run(
        "simulate",
        "--trace",
        "synthetic:jobs=200,tenants=2",
        "--network-scale",
        "0.02",
        "--policy",
        "fifo",
        "--policy",
        "drf",
        "--report",
        str(tmp_path / "rep"),
    )
    assert code == 0, err
    index = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "drf" in index
    assert (tmp_path / "rep" / "jct.png").read_bytes().startswith(b"\x89PNG")


def test_packing_experiment_reports_allocation(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    pods = tmp_path / "pods.csv"
    nodes.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\n"
        + "".join(f"n{i},64000,262144,{2 if i % 2 else 8},T4\n" for i in range(20)),
        encoding="utf-8",
    )
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"
        "p0,4000,8192,1,500,,LS,Running,0,100,0\n"
        "p1,8000,16384,1,1000,,LS,Running,1,100,1\n"
        "p2,16000,32768,2,1000,,BE,Running,2,100,2\n"
        "p3,4000,8192,1,250,,BE,Running,3,100,3\n",
        encoding="utf-8",
    )
    code, out, err = run(
        "simulate",
        "--trace",
        f"alibaba-pods:{pods}",
        "--cluster",
        f"alibaba-nodes:{nodes}",
        "--fill-to",
        "130",
        "--policy",
        "best-fit",
        "--policy",
        "fgd",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["experiment"] == "packing"
    for figures in data["policies"].values():
        assert figures["requested_gpus"] >= 1.3 * figures["capacity_gpus"]
        assert 0.5 < figures["gpu_allocation_ratio"] <= 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate",), "SCENARIO"),
        (("simulate", "--trace", "nosuch:x"), "valid"),
        (("simulate", "--trace", "philly:/no/such/file.csv"), "file.csv"),
        (("simulate", "--trace", "synthetic:bogus=1"), "bogus"),
        (("simulate", "--trace", "synthetic:", "--policy", "fast-as-light"), "valid"),
        (("simulate", "--trace", "synthetic:", "--cluster", "atlantis"), "atlantis"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert message in err


def test_bad_row_names_line_and_field(tmp_path: Path) -> None:
    trace = tmp_path / "philly.csv"
    trace.write_text(
        "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,x,66.0,t1\n",
        encoding="utf-8",
    )
    code, _, err = run("simulate", "--trace", f"philly:{trace}")
    assert code == 2
    assert "line 2" in err and "num_gpus" in err


def test_scenario_file_with_overrides(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: tiny\nnetwork: philly-like\nnetwork_scale: 0.02\n"
        "workload: {trace: 'synthetic:jobs=100,tenants=2'}\npolicies: [fifo, las]\nseed: 1\n",
        encoding="utf-8",
    )
    code, out, err = run("simulate", str(scenario), "--policy", "backfill", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["scenario"] == "tiny"
    assert list(data["policies"]) == ["backfill"]
    scenario.write_text("workload: {trace: 'synthetic:'}\nbogus_field: 1\n", encoding="utf-8")
    code, _, err = run("simulate", str(scenario))
    assert code == 2 and "bogus_field" in err


def test_catalog_and_networks_list_json() -> None:
    code, out, _ = run("catalog", "--json")
    assert code == 0
    names = {m["name"] for m in json.loads(out)}
    assert {"H100", "V100", "Ascend910B"} <= names
    code, out, _ = run("networks", "--json")
    assert code == 0
    nets = {n["name"]: n for n in json.loads(out)}
    assert nets["philly-like"]["accelerators"] == 2048
    assert nets["china-hubs"]["illustrative"] is True
