"""Replay scheduling and the loopback broker configuration (pure parts)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from teaplatform.cli.main import app
from teaplatform.garden import broker
from teaplatform.garden.payload import parse_payload
from teaplatform.garden.readings import Reading
from teaplatform.garden.replay import replay, schedule, station_file

pytestmark = pytest.mark.unit

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def hourly(n: int, device: str = "WS01") -> list[Reading]:
    return [
        Reading(device, "air_temperature", T0 + timedelta(hours=i), 20.0 + i, "°C")
        for i in range(n)
    ]


def test_schedule_maps_data_time_to_wall_time() -> None:
    plan = list(schedule(hourly(4), speed=3600))  # one data hour per wall second
    assert [(at, len(batch)) for at, batch in plan] == [(0.0, 1), (1.0, 1), (2.0, 1), (3.0, 1)]
    fast = list(schedule(hourly(100), speed=3600 * 100, tick_s=0.05))  # 100 h per second
    # readings 0.01 s apart go out together within a 50 ms tick
    assert sum(len(b) for _, b in fast) == 100 and all(5 <= len(b) <= 6 for _, b in fast)
    assert all(b[-1].ts - b[0].ts < timedelta(hours=6) for _, b in fast)
    assert [len(b) for _, b in schedule(hourly(1200), speed=0)] == [500, 500, 200]
    with pytest.raises(ValueError, match="speed"):
        list(schedule(hourly(2), speed=-1))


def test_replay_waits_and_publishes_on_the_device_topic() -> None:
    now = [0.0]
    sent: list[tuple[str, bytes]] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    count = replay(
        hourly(3),
        lambda topic, payload: sent.append((topic, payload)),
        speed=1800,
        prefix="tea",
        garden="demo",
        clock=lambda: now[0],
        sleep=sleep,
    )
    assert count == 3 and now[0] == pytest.approx(4.0)  # 2 h of data at 1800x
    assert {t for t, _ in sent} == {"tea/demo/WS01/readings"}
    assert [r for _, p in sent for r in parse_payload(p, "WS01")] == hourly(3)


def test_station_files() -> None:
    assert station_file("WS03", Path("/data")) == Path(
        "/data/tea/garden/WS03_temperature_hourly.csv"
    )
    with pytest.raises(ValueError, match="unknown station"):
        station_file("WS9")


def test_broker_config_listens_on_loopback_only(tmp_path: Path) -> None:
    conf = broker.write_config(tmp_path, 18830).read_text()
    assert conf.splitlines()[0] == "listener 18830 127.0.0.1"
    assert "persistence false" in conf and "allow_anonymous true" in conf
    assert "listener" not in conf.split("\n", 1)[1]  # one listener only


def test_broker_command_without_mosquitto_exits_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(broker, "DEFAULT_BINARY", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("MOSQUITTO", raising=False)
    with pytest.raises(broker.BrokerUnavailableError, match="apt-get install mosquitto"):
        broker.find_mosquitto()
    result = CliRunner().invoke(app, ["garden", "broker", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "Mosquitto not found" in result.stderr
