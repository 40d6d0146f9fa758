"""`teaplatform garden …`: the garden workflow from the command line, replay into a real broker,
and the demo seed."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from teaplatform.cli.main import app
from teaplatform.garden.bridge import MqttBridge
from teaplatform.garden.demo import GARDEN, seed_demo
from teaplatform.garden.repository import readings_between
from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.store.migrate import upgrade
from testkit.mosquitto import running_mosquitto

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> CliRunner:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHARED_DATA", str(shared_data))
    monkeypatch.delenv("TEAPLATFORM_DATABASE_URL", raising=False)
    monkeypatch.delenv("TEAPLATFORM_MQTT_HOST", raising=False)
    return CliRunner()


def ok(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, ["garden", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def bad(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, ["garden", *args])
    assert result.exit_code == 2, result.output
    return result.stderr


def test_the_garden_workflow(cli: CliRunner, shared_data: Path, tmp_path: Path) -> None:
    assert (
        ok(cli, "add-garden", "Jinjing", "--lat", "28.47", "--lon", "113.33", "--tz", "UTC").strip()
        == "1"
    )
    assert ok(cli, "add-plot", "1", "A", "--tea-type", "black").strip() == "1"
    assert "tea_type" in bad(cli, "add-plot", "1", "B", "--tea-type", "purple")
    assert "no plot 7" in bad(cli, "add-device", "WS02", "--plot", "7")
    ok(cli, "add-device", "WS02", "--plot", "1", "--sensors", "air_temperature")
    assert "exists already" in bad(cli, "add-device", "WS02", "--plot", "1")
    assert "needs op" in bad(
        cli,
        "add-rule",
        "--plot",
        "1",
        "--name",
        "x",
        "--kind",
        "threshold",
        "--quantity",
        "air_temperature",
        "--limit",
        "3",
    )
    ok(cli, "add-rule", "--plot", "1", "--name", "frost_risk", "--kind", "threshold", "--quantity", "air_temperature",
       "--op", "below", "--limit", "9", "--months", "2,3,4", "--severity", "critical")  # fmt: skip
    rules = json.loads(ok(cli, "rules", "--plot", "1", "--json"))
    assert {r["rule"]["name"]: r["origin"] for r in rules}["frost_risk"] == "override"

    csv = str(shared_data / "tea/garden/WS02_temperature_hourly.csv")
    first = json.loads(ok(cli, "import", csv, "--device", "WS02", "--json"))
    assert (first["stored"], first["rejected"]) == (9088, {"empty_value": 1187})
    again = json.loads(ok(cli, "import", csv, "--device", "WS02", "--json"))
    assert (again["stored"], again["duplicates"]) == (0, 9088)
    assert "needs --device" in bad(cli, "import", csv)
    assert "unknown time zone" in bad(
        cli, "import", csv, "--device", "WS02", "--tz", "Mars/Olympus"
    )

    frost = json.loads(ok(cli, "alerts", "--rule", "frost_risk", "--json"))
    assert [a["opened_at"] for a in frost] == [
        "2024-03-01T21:00+00:00",
        "2024-02-12T04:00+00:00",
        "2024-02-12T02:00+00:00",
        "2024-02-11T00:00+00:00",
    ]
    readings = json.loads(ok(cli, "readings", "--quantity", "air_temperature", "--device", "WS02",
                             "--start", "2024-02-11T05:00", "--limit", "2", "--json"))  # fmt: skip
    assert [(r["ts"], r["value"]) for r in readings] == [
        ("2024-02-11T05:00:00+00:00", 7.09),
        ("2024-02-11T06:00:00+00:00", 6.49),
    ]
    assert "give --device or --plot" in bad(cli, "readings", "--quantity", "air_temperature")
    counts = {
        (c["source"], c["outcome"]): c["count"] for c in json.loads(ok(cli, "counts", "--json"))
    }
    assert counts == {
        ("csv", "stored"): 9088,
        ("csv", "duplicate"): 9088,
        ("csv", "empty_value"): 2374,
    }
    assert "resolved already" in bad(cli, "ack", str(frost[0]["id"]))
    assert "no alert 4242" in bad(cli, "resolve", "4242")
    assert "unknown state" in bad(cli, "alerts", "--state", "sleeping")
    assert "Jinjing" in ok(cli, "gardens")
    png = tmp_path / "frost.png"
    ok(
        cli,
        "plot",
        "--device",
        "WS02",
        "--start",
        "2024-02-01",
        "--end",
        "2024-03-15",
        "--out",
        str(png),
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "no air_temperature readings" in bad(
        cli, "plot", "--device", "WS02", "--start", "2030-01-01", "--out", str(png)
    )


def test_replay_into_a_real_broker_reaches_the_store(cli: CliRunner, tmp_path: Path) -> None:
    ok(cli, "add-garden", "g")
    ok(cli, "add-plot", "1", "p", "--tea-type", "green")
    ok(cli, "add-device", "WS01", "--plot", "1")
    assert "HOST:PORT" in bad(cli, "replay", "--broker", "nowhere")
    assert "unknown station" in bad(cli, "replay", "--station", "WS09")
    store = Store(Settings(data_dir=tmp_path).url)
    with running_mosquitto() as (host, port):
        bridge = MqttBridge(store, host, port, client_id="cli-test", flush_interval_s=0.05).start()
        try:
            out = ok(cli, "replay", "--station", "WS01", "--speed", "0", "--limit", "200",
                     "--start", "2024-06-01T00:00+08:00", "--broker", f"{host}:{port}")  # fmt: skip
            assert "200 readings of WS01 sent" in out
            assert bridge.wait_idle(20, readings=200)
        finally:
            bridge.stop()
    with store.session() as s:
        got = readings_between(
            s,
            device="WS01",
            quantity="air_temperature",
            start=datetime(2024, 1, 1, tzinfo=UTC),
            end=datetime(2025, 1, 1, tzinfo=UTC),
        )
    store.dispose()
    assert len(got) == 200
    # the file's first hour of June, China time
    assert got[0].ts.isoformat() == "2024-05-31T16:00:00+00:00"


def test_demo_seed_is_idempotent_and_uses_the_real_stations(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARED_DATA", str(shared_data))
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.url)
    store = Store(settings.url)
    try:
        first = seed_demo(settings, store)
        assert first.startswith(GARDEN) and "4 plots" in first
        assert seed_demo(settings, store) == f"{GARDEN}: present already"
    finally:
        store.dispose()
    cli = CliRunner()
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path))
    devices = json.loads(cli.invoke(app, ["garden", "devices", "--json"]).stdout)
    assert [d["key"] for d in devices] == ["WS01", "WS02", "WS03", "WS04"]
    frost = json.loads(
        cli.invoke(app, ["garden", "alerts", "--rule", "frost_risk", "--json"]).stdout
    )
    assert {a["device"] for a in frost} == {"WS02"} and len(frost) == 4
