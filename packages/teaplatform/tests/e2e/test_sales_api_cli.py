"""The sales API and CLI end to end on a fresh store: import, list, forecast, backtest, analyse."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.cli.main import app as cli
from teaplatform.sales import demo
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e

BAD_CSV = "商品,日期,销量,单价\n白茶,2025-03-01,7,238\n白茶,2025-03-0x,7,238\n"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, api_token="t0ken"), workers=False)
    demo.seed_demo(app.state.settings, app.state.store)
    return TestClient(app)


def test_api_import_series_forecast_backtest_analysis(client: TestClient) -> None:
    with client:
        files = {"file": ("white.csv", BAD_CSV.encode(), "text/csv")}
        assert client.post("/sales/import", files=files).status_code == 401
        auth = {"Authorization": "Bearer t0ken"}
        report = client.post("/sales/import", files=files, headers=auth).json()
        assert (report["inserted"], report["bad_rows"]) == (1, 1)
        assert report["errors"][0] == {
            "line": 3,
            "column": "date",
            "reason": "not a date (use YYYY-MM-DD)",
            "value": "2025-03-0x",
        }
        bad = client.post(
            "/sales/import", files={"file": ("x.pdf", b"%PDF", "application/pdf")}, headers=auth
        )
        assert bad.status_code == 422

        series = client.get("/sales/series").json()
        assert len(series) == 31  # 30 SYNTHETIC demo series + the imported one

        body = {
            "products": ["Anhua dark"],
            "horizon": 6,
            "models": ["seasonal-naive", "lightgbm"],
            "levels": [80],
        }
        fc = client.post("/sales/forecast", json=body).json()
        assert fc["series"] == ["Anhua dark"] and len(fc["forecasts"]) == 12
        point = fc["forecasts"][0]
        assert point["lo"]["80"] <= point["mean"] <= point["hi"]["80"]
        assert (
            client.post("/sales/forecast", json={**body, "models": ["prophet"]}).status_code == 422
        )
        assert (
            client.post("/sales/forecast", json={**body, "products": ["coffee"]}).status_code == 404
        )

        bt = client.post(
            "/sales/backtest", json={"horizon": 3, "models": ["lightgbm"], "windows": 2}
        ).json()
        assert [s["model"] for s in bt["scores"]] == ["seasonal-naive", "lightgbm"]
        assert bt["scores"][0]["relative_mase"] == 1.0

        analysis = client.get(
            "/sales/analysis", params={"product": ["Anhua dark", "Hunan black"]}
        ).json()
        assert {d["unique_id"] for d in analysis["decomposition"]} == {"Anhua dark", "Hunan black"}
        # by revenue, most first
        assert [a["product"] for a in analysis["abc"]] == ["Anhua dark", "Hunan black"]
        assert analysis["abc"][-1]["cumulative_share"] == pytest.approx(1.0)
        assert all(e["elasticity"] < 0 for e in analysis["elasticity"])
        assert "/sales/forecast" in client.get("/openapi.json").json()["paths"]


def test_cli_import_forecast_analyse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TEAPLATFORM_DATABASE_URL", raising=False)
    runner = CliRunner()
    sales = tmp_path / "white.csv"
    sales.write_text(BAD_CSV, encoding="utf-8")
    imported = runner.invoke(cli, ["sales", "import", str(sales), "--json"])
    assert imported.exit_code == 1, imported.output  # one bad row
    assert json.loads(imported.stdout)["errors"][0]["line"] == 3
    assert runner.invoke(cli, ["sales", "import", str(tmp_path / "missing.csv")]).exit_code == 2
    assert runner.invoke(cli, ["demo"]).exit_code == 0

    plot = tmp_path / "fc.png"
    args = [
        "sales",
        "forecast",
        "-p",
        "Xiaoxiang green",
        "-h",
        "6",
        "-m",
        "seasonal-naive",
        "-m",
        "lightgbm",
    ]
    out = runner.invoke(cli, [*args, "--plot", str(plot), "--json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.stdout)["forecasts"]) == 12
    assert plot.stat().st_size > 10_000
    assert runner.invoke(cli, ["sales", "forecast", "-m", "prophet"]).exit_code == 2
    assert runner.invoke(cli, ["sales", "forecast", "--freq", "Q"]).exit_code == 2

    analysed = runner.invoke(
        cli, ["sales", "analyse", "--by", "product", "--json", "--plot-dir", str(tmp_path)]
    )
    assert analysed.exit_code == 0, analysed.output
    assert (
        len(json.loads(analysed.stdout)["abc"]) == 6
    )  # five teas + the imported white tea under its Chinese name
    assert (tmp_path / "sales_stl_anhua_dark.png").exists()
    table = runner.invoke(cli, ["sales", "backtest", "-h", "3", "-m", "lightgbm", "--windows", "1"])
    assert table.exit_code == 0 and "lightgbm" in table.stdout
