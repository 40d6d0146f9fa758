"""The garden and alerts API over HTTP: the garden workflow end to end on the real WS02 file."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from teaplatform.api.app import create_app
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": "Bearer t0ken"}


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with TestClient(create_app(Settings(data_dir=tmp_path, api_token="t0ken"), workers=False)) as c:
        yield c


def make_plot(client: TestClient) -> tuple[int, int]:
    g = client.post(
        "/garden/gardens",
        json={"name": "Jinjing", "timezone": "UTC", "latitude": 28.47, "longitude": 113.33},
        headers=AUTH,
    )
    assert g.status_code == 201, g.text
    p = client.post(
        "/garden/plots",
        json={"garden_id": g.json()["id"], "name": "A", "tea_type": "green", "area_ha": 2.5},
        headers=AUTH,
    )
    assert p.status_code == 201, p.text
    d = client.post(
        "/garden/devices",
        json={
            "key": "WS02",
            "plot_id": p.json()["id"],
            "sensors": ["air_temperature", "air_humidity"],
        },
        headers=AUTH,
    )
    assert d.status_code == 201, d.text
    return g.json()["id"], p.json()["id"]


def test_catalog_validation_and_errors(client: TestClient) -> None:
    assert client.post("/garden/gardens", json={"name": "x"}).status_code == 401
    garden_id, plot_id = make_plot(client)
    assert client.post("/garden/gardens", json={"name": "Jinjing"}, headers=AUTH).status_code == 409
    bad_tea = client.post(
        "/garden/plots",
        json={"garden_id": garden_id, "name": "B", "tea_type": "purple"},
        headers=AUTH,
    )
    assert bad_tea.status_code == 422
    no_garden = client.post(
        "/garden/plots", json={"garden_id": 999, "name": "B", "tea_type": "dark"}, headers=AUTH
    )
    assert no_garden.status_code == 404 and no_garden.json()["detail"] == "no garden 999"
    no_plot = client.post("/garden/devices", json={"key": "x1"}, headers=AUTH)
    assert no_plot.status_code == 422 and "needs a plot_id" in no_plot.text
    line = client.post(
        "/garden/devices",
        json={"key": "roller-1", "kind": "processing", "line": "black tea line"},
        headers=AUTH,
    )
    assert line.status_code == 201 and line.json()["plot_id"] is None
    assert [
        d["key"] for d in client.get("/garden/devices", params={"kind": "processing"}).json()
    ] == ["roller-1"]
    assert client.get("/garden/devices/WS02").json()["sensors"] == [
        "air_humidity",
        "air_temperature",
    ]
    assert client.get(f"/garden/plots/{plot_id}").json()["area_ha"] == 2.5
    assert {q["name"] for q in client.get("/garden/quantities").json()} >= {
        "air_temperature",
        "soil_moisture",
    }


def test_batches_reject_bad_readings_one_by_one(client: TestClient) -> None:
    make_plot(client)
    good = {
        "device": "WS02",
        "quantity": "air_temperature",
        "ts": "2024-02-11T00:00:00Z",
        "value": 8.56,
        "unit": "°C",
    }
    batch = [
        good,
        {**good, "ts": "2024-02-10T23:00:00Z", "value": 9.3},  # late: stored in order
        {**good, "unit": "°F"},
        {**good, "value": 75},
        {**good, "quantity": "soil_moisture", "unit": "%", "value": 30},
        {**good, "device": "nobody"},
        {**good, "ts": "2024-02-11 01:00"},
        "garbage",
    ]
    r = client.post("/garden/readings", json={"readings": batch}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["duplicates"], body["rejected"]) == (8, 2, 0, 6)
    assert [(x["index"], x["reason"]) for x in body["rejects"]] == [
        (2, "wrong_unit"),
        (3, "out_of_range"),
        (4, "sensor_not_on_device"),
        (5, "unknown_device"),
        (6, "malformed"),
        (7, "malformed"),
    ]
    again = client.post("/garden/readings", json=[good], headers=AUTH).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
    got = client.get(
        "/garden/readings", params={"quantity": "air_temperature", "device": "WS02"}
    ).json()
    assert [(x["ts"], x["value"]) for x in got] == [
        ("2024-02-10T23:00:00Z", 9.3),
        ("2024-02-11T00:00:00Z", 8.56),
    ]
    assert client.post("/garden/readings", json={"x": 1}, headers=AUTH).status_code == 422
    assert (
        client.get("/garden/readings", params={"quantity": "colour", "device": "WS02"}).status_code
        == 422
    )
    assert client.get("/garden/readings", params={"quantity": "air_temperature"}).status_code == 422
    counts = {
        (c["source"], c["outcome"]): c["count"] for c in client.get("/garden/ingest/counts").json()
    }
    assert counts[("http", "stored")] == 2 and counts[("http", "malformed")] == 2
    assert counts[("http", "duplicate")] == 1


def test_csv_import_rules_and_alert_life_cycle(client: TestClient, shared_data: Path) -> None:
    _, plot_id = make_plot(client)
    frost9 = {
        "name": "frost_risk",
        "kind": "threshold",
        "quantity": "air_temperature",
        "op": "below",
        "limit": 9.0,
        "months": [2, 3, 4],
        "severity": "critical",
    }
    rule = client.post("/alerts/rules", json={"plot_id": plot_id, "rule": frost9}, headers=AUTH)
    assert rule.status_code == 201 and rule.json()["origin"] == "override"
    bad_rule = client.post(
        "/alerts/rules",
        json={"plot_id": plot_id, "rule": {**frost9, "name": "x", "op": "rise"}},
        headers=AUTH,
    )
    assert bad_rule.status_code == 422
    rules = {
        r["rule"]["name"]: r
        for r in client.get("/alerts/rules", params={"plot_id": plot_id}).json()
    }
    assert rules["frost_risk"]["summary"] == "air_temperature ≤ 9 °C in months 2,3,4"
    assert rules["heat_stress"]["origin"] == "builtin"

    path = shared_data / "tea/garden/WS02_temperature_hourly.csv"
    with path.open("rb") as fh:
        r = client.post(
            "/garden/readings/csv",
            files={"file": ("WS02.csv", fh, "text/csv")},
            data={"device": "WS02"},
            headers=AUTH,
        )
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["reject_counts"]) == (9088, {"empty_value": 1187})
    with path.open("rb") as fh:
        assert (
            client.post(
                "/garden/readings/csv", files={"file": ("WS02.csv", fh)}, headers=AUTH
            ).status_code
            == 422
        )

    frost = client.get("/alerts", params={"rule": "frost_risk"}).json()
    assert [(a["opened_at"], a["resolved_at"]) for a in reversed(frost)] == [
        ("2024-02-11T00:00:00Z", "2024-02-11T08:00:00Z"),
        ("2024-02-12T02:00:00Z", "2024-02-12T03:00:00Z"),
        ("2024-02-12T04:00:00Z", "2024-02-12T05:00:00Z"),
        ("2024-03-01T21:00:00Z", "2024-03-02T06:00:00Z"),
    ]
    active = client.get("/alerts", params={"state": "active"}).json()
    assert [a["rule"] for a in active] == ["heat_stress"] or active == []
    heat = client.get(
        "/alerts", params={"rule": "heat_stress", "state": "resolved", "limit": 1}
    ).json()[0]
    assert client.post(f"/alerts/{heat['id']}/ack", headers=AUTH).status_code == 409
    # a fresh frost episode through the API, then acknowledged and resolved by hand
    cold = {
        "device": "WS02",
        "quantity": "air_temperature",
        "ts": "2025-03-01T00:00:00Z",
        "value": 1.5,
        "unit": "°C",
    }
    client.post("/garden/readings", json=[cold], headers=AUTH)
    [new] = client.get("/alerts", params={"state": "open", "rule": "frost_risk"}).json()
    assert new["message"].startswith(
        "frost_risk on WS02: air_temperature 1.5 °C at 2025-03-01T00:00"
    )
    assert client.post(f"/alerts/{new['id']}/ack").status_code == 401
    acked = client.post(f"/alerts/{new['id']}/ack", json={"by": "li.wei"}, headers=AUTH).json()
    assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "li.wei")
    done = client.post(f"/alerts/{new['id']}/resolve", headers=AUTH).json()
    assert (done["state"], done["resolved_by"]) == ("resolved", "api")
    assert client.post(f"/alerts/{new['id']}/resolve", headers=AUTH).status_code == 409
    assert client.get("/alerts/99999").status_code == 404
    assert client.delete(f"/alerts/rules/{rule.json()['id']}", headers=AUTH).status_code == 204
    again = {
        r["rule"]["name"]: r
        for r in client.get("/alerts/rules", params={"plot_id": plot_id}).json()
    }
    assert (
        again["frost_risk"]["origin"] == "builtin" and again["frost_risk"]["rule"]["limit"] == 3.0
    )


def test_openapi_lists_the_garden_and_alert_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/garden/readings",
        "/garden/readings/csv",
        "/garden/ingest/counts",
        "/alerts",
        "/alerts/{alert_id}/ack",
        "/alerts/rules",
    ):
        assert path in paths
    body = paths["/garden/readings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["oneOf"][0]["items"]["properties"]["unit"]["type"] == "string"
