"""The traceability API, the public verification page (HTML, no browser) and the CLI."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.cli.main import app as cli
from teaplatform.settings import Settings
from teaplatform.trace import builders, qr
from teaplatform.trace.demo import demo_code, seed_demo
from teaplatform.trace.tables import TraceEvent, TracePackage, TraceScan

pytestmark = pytest.mark.e2e

MADE_LOT = "urn:epc:class:lgtin:0614141.020001.G2601"
AT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, api_token="s3cret")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, workers=False)
    seed_demo(settings, app.state.store)
    with TestClient(app, client=("203.0.113.5", 50000)) as test_client:
        yield test_client


def statuses(html: str) -> list[str]:
    return re.findall(r'data-event-status="(\w+)"', html)


def tamper_grading(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.session() as session:
        seq, body = session.execute(
            select(TraceEvent.seq, TraceEvent.body)
            .where(TraceEvent.biz_step == "inspecting")
            .order_by(TraceEvent.seq)
            .limit(1)
        ).one()
        session.execute(
            update(TraceEvent)
            .where(TraceEvent.seq == seq)
            .values(body=body.replace(b"Special", b"Spec1al"))
        )


def test_a_clean_package_page_in_both_languages(client: TestClient) -> None:
    page = client.get(f"/trace/p/{demo_code()}")
    assert page.status_code == 200
    assert 'data-status="verified"' in page.text and "验证通过" in page.text
    assert statuses(page.text) == ["ok"] * 8
    assert "潇湘绿茶" in page.text
    assert (
        "<script" not in page.text
        and 'src="http' not in page.text
        and 'href="http' not in page.text
    )
    english = client.get(f"/trace/p/{demo_code()}?lang=en")
    assert "✔ Verified" in english.text and "From garden to cup" in english.text
    assert english.text.count("(other packages of this lot)") == 1  # the sale of another one


def test_the_qr_code_url_opens_the_page(client: TestClient, settings: Settings) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.session() as session:
        package = session.get(TracePackage, demo_code())
        assert package is not None
        url = qr.package_url(settings.public_url, package.sgtin, package.lot)
    assert urlparse(url).path == f"/01/00614141200016/10/G2601/21/{demo_code()}"
    page = client.get(urlparse(url).path)
    assert page.status_code == 200 and 'data-status="verified"' in page.text
    png = client.get(f"/api/trace/packages/{demo_code()}/qr.png")
    assert png.headers["content-type"] == "image/png" and png.content == qr.qr_image(url, "png")
    svg = client.get(f"/api/trace/packages/{demo_code()}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    wrong_lot = client.get(f"/01/00614141200016/10/G2699/21/{demo_code()}")
    assert wrong_lot.status_code == 404 and 'data-status="unknown"' in wrong_lot.text


def test_a_tampered_lot_page_marks_the_event(client: TestClient) -> None:
    tamper_grading(client)
    page = client.get(f"/trace/p/{demo_code()}?lang=en")
    assert 'data-status="tampered"' in page.text
    assert statuses(page.text).count("failed") >= 1
    assert 'data-problem="edited"' in page.text and 'data-problem="bad_signature"' in page.text
    regulator = client.get(f"/trace/lots/{MADE_LOT}")
    assert 'data-status="tampered"' in regulator.text
    report = client.get(f"/api/trace/lots/{MADE_LOT}/verification").json()
    failed = [s for s in report["steps"] if not s["ok"]]
    assert failed[0]["stage"] == "grading"
    assert {p["problem"] for p in failed[0]["problems"]} >= {"edited", "bad_signature"}


def test_replaying_a_package_code_elsewhere_is_flagged(client: TestClient) -> None:
    first = client.get(f"/trace/p/{demo_code()}")
    assert 'data-status="verified"' in first.text and 'data-flagged="no"' in first.text
    with TestClient(client.app, client=("198.51.100.7", 50000)) as elsewhere:
        replay = elsewhere.get(f"/trace/p/{demo_code()}")
    assert (
        'data-status="counterfeit_suspected"' in replay.text and 'data-flagged="yes"' in replay.text
    )
    verdict = client.get(f"/api/trace/packages/{demo_code()}/verification").json()
    assert verdict["status"] == "counterfeit_suspected" and verdict["scans"]["places"] == 2


def test_openapi_lists_the_trace_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/trace/events", "/api/trace/import", "/trace/p/{code}"} <= paths.keys()


def test_an_unknown_code_is_not_verified(client: TestClient) -> None:
    page = client.get("/trace/p/NOSUCHCODE")
    assert page.status_code == 404 and 'data-status="unknown"' in page.text
    with client.app.state.store.session() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(TraceScan.id).where(TraceScan.code == "NOSUCHCODE")) is None


def test_writes_need_the_token_and_record_sign_and_verify(client: TestClient) -> None:
    org = {"id": "urn:epc:id:pgln:0614141.00042", "name": "Test grower"}
    assert client.post("/api/trace/orgs", json=org).status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    created = client.post("/api/trace/orgs", json=org, headers=auth)
    assert created.status_code == 201 and len(created.json()["keys"]) == 1
    lot = "urn:epc:class:lgtin:0614141.010001.LX01"
    event = builders.harvest(name="api", leaf_lot=lot, lot_number="LX01", kg=50, at=AT, plot=None)
    recorded = client.post(
        "/api/trace/events", json={"org": org["id"], "events": [event]}, headers=auth
    )
    assert recorded.status_code == 201 and recorded.json()[0]["lots"] == [lot]
    bad = client.post(
        "/api/trace/events",
        json={"org": org["id"], "events": [{**event, "bizStep": "brewing"}]},
        headers=auth,
    )
    assert bad.status_code == 422 and "bizStep" in json.dumps(bad.json())
    rotated = client.post(f"/api/trace/orgs/{org['id']}/rotate", headers=auth)
    assert rotated.status_code == 200
    report = client.get(f"/api/trace/lots/{lot}/verification").json()
    assert report["status"] == "verified" and report["steps"][0]["stage"] == "picking"
    assert client.get("/api/trace/audit").status_code == 401
    assert client.get("/api/trace/audit", headers=auth).json()["ok"] is True


def test_export_then_import_refuses_a_tampered_document(client: TestClient) -> None:
    auth = {"Authorization": "Bearer s3cret"}
    doc = client.get("/api/trace/export", params={"lot": MADE_LOT}).json()
    assert doc["type"] == "EPCISDocument" and len(doc["epcisBody"]["eventList"]) == 8
    assert client.get("/api/trace/export").status_code == 422  # a lot is required
    again = client.post("/api/trace/import", json=doc, headers=auth)
    assert again.status_code == 200 and again.json()["already_present"] == 8
    doc["epcisBody"]["eventList"][3]["epcList"].append("urn:epc:id:sgtin:0614141.020001.FAKE")
    refused = client.post("/api/trace/import", json=doc, headers=auth)
    assert refused.status_code == 422
    assert {f["problem"] for f in refused.json()["findings"]} >= {"edited"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return Settings()


def test_cli_record_verify_qr_export_import(env: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    org = "urn:epc:id:pgln:0614141.00077"
    assert runner.invoke(cli, ["trace", "org", "add", org, "--name", "CLI org"]).exit_code == 0
    lot = "urn:epc:class:lgtin:0614141.010002.LC01"
    made = "urn:epc:class:lgtin:0614141.020002.C01"
    events = [
        builders.harvest(name="c1", leaf_lot=lot, lot_number="LC01", kg=60, at=AT, plot=None),
        builders.processing(
            name="c2",
            inputs=[(lot, 60)],
            output_lot=made,
            lot_number="C01",
            kg=14,
            at=AT,
            site=None,
        ),
        builders.packaging(
            name="c3",
            packages=["urn:epc:id:sgtin:0614141.020002.CLI1"],
            lot_number="C01",
            at=AT,
            site=None,
        ),
    ]
    (tmp_path / "events.json").write_text(json.dumps(events))
    recorded = runner.invoke(
        cli, ["trace", "record", str(tmp_path / "events.json"), "--org", org, "--json"]
    )
    assert recorded.exit_code == 0, recorded.output
    assert [r["created"] for r in json.loads(recorded.stdout)] == [True, True, True]
    verified = runner.invoke(cli, ["trace", "verify", made, "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["status"] == "verified"
    assert runner.invoke(cli, ["trace", "verify", "CLI1"]).exit_code == 0
    assert (
        runner.invoke(cli, ["trace", "qr", "CLI1", "-o", str(tmp_path / "qr.png")]).exit_code == 0
    )
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    assert (
        runner.invoke(
            cli, ["trace", "export", "--lot", made, "-o", str(tmp_path / "doc.json")]
        ).exit_code
        == 0
    )
    doc = json.loads((tmp_path / "doc.json").read_text())
    assert len(doc["epcisBody"]["eventList"]) == 3
    doc["epcisBody"]["eventList"][1]["outputQuantityList"][0]["quantity"] = 40
    (tmp_path / "tampered.json").write_text(json.dumps(doc))
    assert runner.invoke(cli, ["trace", "import", str(tmp_path / "tampered.json")]).exit_code == 3
    assert (
        runner.invoke(cli, ["trace", "import", str(tmp_path / "doc.json"), "--json"]).exit_code == 0
    )
    # bad input: exit 2
    assert runner.invoke(cli, ["trace", "verify", "NOSUCH"]).exit_code == 2
    (tmp_path / "junk.json").write_text('{"type": "Nope"}')
    assert runner.invoke(cli, ["trace", "import", str(tmp_path / "junk.json")]).exit_code == 2
    assert (
        runner.invoke(cli, ["trace", "qr", "CLI1", "-o", str(tmp_path / "qr.gif")]).exit_code == 2
    )
    # tampering in the store: exit 3, for the lot and for the whole ledger
    from teaplatform.store.db import Store

    store = Store(env.url)
    try:
        with store.session() as session:
            session.execute(
                update(TraceEvent).where(TraceEvent.seq == 2).values(signature=b"\x00" * 64)
            )
    finally:
        store.dispose()
    assert runner.invoke(cli, ["trace", "verify", made]).exit_code == 3
    ledger = runner.invoke(cli, ["trace", "verify", "--all", "--json"])
    assert (
        ledger.exit_code == 3
        and json.loads(ledger.stdout)["findings"][0]["problem"] == "bad_signature"
    )
