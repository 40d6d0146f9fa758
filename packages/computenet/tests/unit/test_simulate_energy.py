"""`computenet simulate` with energy, carbon and cost; scenario assumptions, profiles and
the trade-off sweep; on a slice of the real Philly trace."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computenet.cli.main import app
from computenet.data import load_network
from computenet.domain.errors import DomainError
from computenet.domain.hardware import Precision
from computenet.domain.jobs import JobSpec, Work
from computenet.simulation.assumptions import apply_assumptions

pytestmark = pytest.mark.unit
runner = CliRunner()

SHARED_DATA = Path(os.environ.get("SHARED_DATA", Path(__file__).parents[4] / "../shared/data"))
PHILLY = SHARED_DATA / "compute" / "philly_jobs.csv"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def philly() -> Path:
    if not PHILLY.is_file():
        pytest.fail(f"Philly trace not found at {PHILLY} (set SHARED_DATA)")
    return PHILLY


def test_json_reports_energy_carbon_cost_and_green_share_per_policy() -> None:
    code, out, err = run(
        "simulate",
        "--trace",
        f"philly:{philly()}",
        "--limit",
        "300",
        "--cluster",
        "china-hubs",
        "--network-scale",
        "0.1",
        "--policy",
        "sjf+backfill",
        "--policy",
        "sjf+backfill+green",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    for name, figures in data["policies"].items():
        assert figures["jobs_finished"] == 300, name
        assert figures["energy_kwh"] > 0
        assert figures["carbon_kg"] > 0
        assert figures["cost"] > 0 and figures["currency"] == "CNY"
        assert 0 < figures["green_share"] < 1
        sites = figures["sites"]
        assert sum(s["energy_kwh"] for s in sites.values()) == pytest.approx(figures["energy_kwh"])
        tenants = figures["tenants"]
        assert sum(t["carbon_kg"] for t in tenants.values()) == pytest.approx(figures["carbon_kg"])
        # a run's energy is its devices at load x its time x PUE: between the extremes
        device_h = sum(s["device_hours"] for s in sites.values())
        assert 0.07 * 1.15 * device_h <= figures["energy_kwh"] <= 0.7 * 1.38 * device_h
    green, base = data["policies"]["sjf+backfill+green"], data["policies"]["sjf+backfill"]
    assert green["carbon_kg"] < base["carbon_kg"]


def test_a_network_without_energy_data_reports_energy_only() -> None:
    code, out, err = run(
        "simulate", "--trace", "synthetic:jobs=200", "--network-scale", "0.02", "--json"
    )
    assert code == 0, err
    for figures in json.loads(out)["policies"].values():
        assert figures["energy_kwh"] > 0
        assert figures["carbon_kg"] is None and figures["cost"] is None
        assert figures["green_share"] is None


SCENARIO = """
name: tiny-green
network: china-hubs
network_scale: 0.1
workload:
  trace: philly:{philly}
  limit: 400
  load_scale: 8
  precision: fp16
  data: {{home_sites: [jingjinji, changsanjiao], gb_per_gpu: 100}}
  deferrable: {{min_work_h: 1, slack_h: 12}}
policies: [sjf+backfill, sjf+backfill+greener]
profiles:
  greener: {{base: green, carbon: 6}}
tradeoff: {{base: sjf+backfill, profile: green, weight: carbon, values: [0, 5]}}
start: 2017-09-04T19:00:00
"""


def test_scenario_profiles_tradeoff_and_report(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(philly=philly()))
    code, out, err = run("simulate", str(path), "--json", "--report", str(tmp_path / "r"))
    assert code == 0, err
    data = json.loads(out)
    assert set(data["policies"]) == {"sjf+backfill", "sjf+backfill+greener"}
    greener = data["policies"]["sjf+backfill+greener"]
    assert greener["staged_jobs"] > 0 and greener["moved_gb"] > 0
    assert greener["deferred_jobs"] > 0
    points = data["tradeoff"]["points"]
    assert [p["policy"] for p in points] == [
        "sjf+backfill+green:carbon=0",
        "sjf+backfill+green:carbon=5",
    ]
    assert points[1]["carbon_kg"] < points[0]["carbon_kg"]
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    for image in ("energy.png", "tradeoff.png", "jct.png"):
        assert f'src="{image}"' in page
        assert (tmp_path / "r" / image).stat().st_size > 1000
    assert "Trade-off" in page and "Sites" in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("workload: {trace: 'synthetic:jobs=10', colour: red}", "unknown workload field"),
        (
            "workload: {trace: 'synthetic:jobs=10'}\ntradeoff: {weight: speed, values: [1]}",
            "weight is one of",
        ),
        ("workload: {trace: 'synthetic:jobs=10'}\nprofiles: {x: {base: nope}}", "unknown base"),
        (
            "workload: {trace: 'synthetic:jobs=10'}\npolicies: ['fifo+green:carbon=lots']",
            "not a number",
        ),
        ("workload: {trace: 'synthetic:jobs=10', precision: fp7}", "workload.precision"),
        (
            "workload: {trace: 'synthetic:jobs=10', data: {home_sites: [mars]}}",
            "unknown site 'mars'",
        ),
    ],
)
def test_bad_scenarios_exit_2_with_a_message(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("network: philly-like\nnetwork_scale: 0.02\n" + extra + "\n")
    code, _, err = run("simulate", str(path))
    assert code == 2
    assert message in err


def test_assumptions_are_applied_deterministically() -> None:
    net = load_network("china-hubs")
    jobs = [
        JobSpec(id=f"j{i}", tenant=t, work=Work(reference_s=w), accelerators=g)
        for i, (t, w, g) in enumerate([("z", 7200.0, 2), ("a", 600.0, 1), ("m", 3600.0, 8)])
    ]
    out = apply_assumptions(
        jobs,
        {
            "precision": "bf16",
            "data": {"home_sites": ["jingjinji", "ningxia"], "gb_per_gpu": 10},
            "deferrable": {"min_work_h": 1, "slack_h": 6},
            "checkpoint_interval_s": 900,
        },
        net,
    )
    by_id = {j.id: j for j in out}
    assert all(j.precision is Precision.BF16 and j.checkpoint_interval_s == 900 for j in out)
    # tenants sorted a, m, z take the sites in turn
    assert [by_id[i].dataset_site for i in ("j1", "j2", "j0")] == [
        "jingjinji",
        "ningxia",
        "jingjinji",
    ]
    assert by_id["j2"].dataset_gb == 80.0
    assert by_id["j0"].deferrable and by_id["j0"].deadline_s == 7200.0 + 6 * 3600.0
    assert not by_id["j1"].deferrable and by_id["j1"].deadline_s is None  # under an hour
    assert apply_assumptions(jobs, {}, net) == jobs
    with pytest.raises(DomainError, match="slack_h"):
        apply_assumptions(jobs, {"deferrable": {"min_work_h": 1}}, net)


def test_figures_do_not_depend_on_the_process_hash_seed() -> None:
    """Sets of tenant names iterate in hash order, which changes between processes; the
    fair-share figures must not (they once differed in the last digit of Jain's index)."""
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "computenet.cli.main",
                "simulate",
                "--trace",
                "synthetic:jobs=400,tenants=7,load=1.2",
                "--network-scale",
                "0.01",
                "--policy",
                "drf+backfill",
                "--json",
            ],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout)["policies"]["drf+backfill"]
        del figures["wall_s"]
        outputs.append(figures)
    assert outputs[0] == outputs[1]
    assert outputs[0]["jain_fairness"] < 1.0  # contended: the fairness sums were exercised
