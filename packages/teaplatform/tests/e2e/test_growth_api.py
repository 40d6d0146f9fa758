"""Growth over HTTP and the CLI: the plot's picking window, the shipped model, bad input."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.cli.main import app as cli
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path), workers=False))


def seed_plot(client: TestClient, shared_data: Path) -> int:
    """A garden, a plot, its weather station, and the station's real file — all over HTTP."""
    garden = client.post("/garden/gardens", json={"name": "NTU plantation"}).json()
    plot = client.post(
        "/garden/plots", json={"garden_id": garden["id"], "name": "A", "tea_type": "green"}
    ).json()
    device = {"key": "ws03", "plot_id": plot["id"], "sensors": ["air_temperature"]}
    assert client.post("/garden/devices", json=device).status_code == 201
    path = shared_data / "tea" / "garden" / "WS03_temperature_hourly.csv"
    with path.open("rb") as handle:
        stored = client.post(
            "/garden/readings/csv",
            files={"file": (path.name, handle, "text/csv")},
            data={"device": "ws03", "tz": "Asia/Shanghai"},
        )
    assert stored.status_code == 200, stored.text
    plot_id: int = plot["id"]
    return plot_id


def test_picking_window_of_a_plot(client: TestClient, shared_data: Path) -> None:
    plot_id = seed_plot(client, shared_data)
    url = f"/garden/plots/{plot_id}/picking-window"
    body = client.get(url, params={"since": "2024-09-13T14:00", "as_of": "2024-10-01T00:00"}).json()
    assert body["status"] == "growing"
    assert body["opens"] == "2024-10-17"
    assert body["model"]["held_out_open_mae_days"] < 2
    by_date = client.get(url, params={"since": "2024-09-13", "as_of": "2024-10-01T00:00"})
    assert by_date.status_code == 200
    assert by_date.json()["gdd_so_far"] > body["gdd_so_far"]  # from midnight: more hours
    assert (
        client.get(url.replace(str(plot_id), "999"), params={"since": "2024-09-13"}).status_code
        == 404
    )
    bad = client.get(url, params={"since": "2024-10-02", "as_of": "2024-10-01T00:00"})
    assert bad.status_code == 422 and "before" in bad.json()["detail"]
    assert client.get(url).status_code == 422  # since is required


def test_model_is_served_with_its_validation(client: TestClient) -> None:
    doc = client.get("/garden/growth/model").json()
    assert doc["model"]["picking_fraction"] == 0.8
    assert doc["validation"]["held_out_timing_mae_days"]["open_error_days"] < 2


def test_cli_window_from_a_station_and_bad_input(shared_data: Path) -> None:
    runner = CliRunner()
    args = [
        "growth",
        "window",
        "--station",
        "WS03",
        "--since",
        "2024-09-13T14:00",
        "--as-of",
        "2024-10-01",
    ]
    result = runner.invoke(cli, [*args, "--data", str(shared_data), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["opens"] == "2024-10-17"
    assert (
        runner.invoke(
            cli, ["growth", "window", "--station", "WS09", "--since", "2024-09-13"]
        ).exit_code
        == 2
    )
    both = runner.invoke(
        cli, ["growth", "window", "--station", "WS01", "--plot", "1", "--since", "2024-09-13"]
    )
    assert both.exit_code == 2
    assert (
        runner.invoke(
            cli, ["growth", "window", "--station", "WS01", "--since", "13/09/2024"]
        ).exit_code
        == 2
    )


def test_cli_fit_reproduces_the_shipped_model(shared_data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["growth", "fit", "--data", str(shared_data), "--plots", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["matches_shipped"] is True
    assert (tmp_path / "growth_fit.png").read_bytes()[:4] == b"\x89PNG"
    missing = runner.invoke(cli, ["growth", "fit", "--data", str(tmp_path)])
    assert missing.exit_code == 2
