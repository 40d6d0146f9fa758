"""Processing over HTTP and the CLI: recipes, a batch driven through its stages with
telemetry posted to the garden ingestion, alarms, the batch record, and bad requests."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.cli.main import app as cli
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e

T0 = datetime(2024, 10, 1, 6, tzinfo=UTC)


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, api_token="tok"), workers=False))


AUTH = {"Authorization": "Bearer tok"}


def test_recipes_are_listed_and_shown(client: TestClient) -> None:
    names = {r["name"]: r for r in client.get("/processing/recipes").json()}
    assert set(names) == {
        "xiaoxiang-green",
        "hunan-black",
        "anhua-dark",
        "sangzhi-white",
        "junshan-yinzhen",
    }
    dark = client.get("/processing/recipes/anhua-dark").json()
    pile = next(s for s in dark["stages"] if s["key"] == "pile-fermentation")
    assert pile["name_zh"] == "渥堆" and pile["ranges"]["pile_temperature"]["high"] == 45
    missing = client.get("/processing/recipes/oolong")
    assert missing.status_code == 404 and "junshan-yinzhen" in missing.json()["detail"]


def test_a_batch_from_start_to_record(client: TestClient) -> None:
    device = {
        "key": "ferm-1",
        "kind": "processing",
        "line": "L1",
        "sensors": ["leaf_temperature", "humidity"],
    }
    assert client.post("/garden/devices", json=device, headers=AUTH).status_code == 201
    assert client.post("/processing/batches", json={"recipe": "hunan-black"}).status_code == 401
    created = client.post(
        "/processing/batches",
        json={"recipe": "hunan-black", "device": "ferm-1", "leaf_kg": 30},
        headers=AUTH,
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    assert (batch["state"], batch["code"]) == ("planned", "black-00001")
    bid = batch["id"]

    def post(path: str, body: dict[str, str] | None = None) -> Any:
        return client.post(f"/processing/batches/{bid}/{path}", json=body, headers=AUTH)

    assert post("start", {"at": iso(0)}).json()["state"] == "running"
    assert post("start", {"at": iso(1)}).status_code == 409
    post("advance", {"at": iso(600)})
    post("advance", {"at": iso(680)})  # → fermentation
    readings = [
        {
            "device": "ferm-1",
            "quantity": "leaf_temperature",
            "ts": iso(680 + m),
            "value": 33.0 if 20 <= m < 30 else 27.0,
            "unit": "°C",
        }
        for m in range(60)
    ]
    stored = client.post("/garden/readings", json=readings, headers=AUTH).json()
    assert stored["stored"] == 60
    alarms = client.get(f"/processing/batches/{bid}/alarms").json()
    assert len(alarms) == 1 and alarms[0]["state"] == "resolved"
    assert alarms[0]["direction"] == "high" and datetime.fromisoformat(
        alarms[0]["opened_at"]
    ) == T0 + timedelta(minutes=705)
    shown = client.get(f"/processing/batches/{bid}").json()
    assert shown["stage"]["key"] == "fermentation" and shown["alarms"] == []
    assert 0 < shown["fermentation"]["degree"] < 1
    for minute in (860, 875, 925):
        assert post("advance", {"at": iso(minute)}).status_code == 200
    record = client.get(f"/processing/batches/{bid}/record").json()
    assert record["batch"]["state"] == "completed"
    assert record["batch"]["trace_event"] and not record["batch"]["trace_event"].startswith("error")
    assert [s["ended_by"] for s in record["stages"]] == ["manual"] * 5
    assert record["alarms"][0]["quantity"] == "leaf_temperature"
    assert post("advance").status_code == 409  # completed
    assert client.get("/processing/batches/999/record").status_code == 404
    bad = client.post(
        "/processing/batches", json={"recipe": "hunan-black", "device": "nope"}, headers=AUTH
    )
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    assert client.get("/processing/batches", params={"state": "completed"}).json()[0]["id"] == bid


def test_cli_batch_workflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(cli, ["processing", "recipes", "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 5
    made = runner.invoke(
        cli, ["processing", "batch", "create", "--recipe", "sangzhi-white", "--json"]
    )
    assert made.exit_code == 0, made.output
    bid = str(json.loads(made.output)["id"])
    assert (
        runner.invoke(
            cli, ["processing", "batch", "start", bid, "--at", "2024-10-01T06:00"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            cli, ["processing", "batch", "advance", bid, "--at", "2024-10-03T06:00"]
        ).exit_code
        == 0
    )
    shown = json.loads(runner.invoke(cli, ["processing", "batch", "show", bid, "--json"]).output)
    assert shown["stage"]["key"] == "drying"
    record = json.loads(runner.invoke(cli, ["processing", "batch", "record", bid]).output)
    assert record["stages"][0]["minutes"] == 2880
    png = tmp_path / "batch.png"
    assert (
        runner.invoke(cli, ["processing", "batch", "plot", bid, "--out", str(png)]).exit_code == 0
    )
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert runner.invoke(cli, ["processing", "batch", "start", bid]).exit_code == 2  # running
    assert (
        runner.invoke(cli, ["processing", "batch", "create", "--recipe", "oolong"]).exit_code == 2
    )
    assert runner.invoke(cli, ["processing", "batch", "show", "999"]).exit_code == 2
    assert runner.invoke(cli, ["processing", "batch", "list", "--state", "boiling"]).exit_code == 2
    assert (
        runner.invoke(cli, ["processing", "batch", "start", bid, "--at", "yesterday"]).exit_code
        == 2
    )
