"""Grading results over HTTP and the CLI: the write guard, the JSON shapes, filters, retries,
a refused trace event, leaf images from a real folder, and the older grading commands."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.cli.main import app as cli
from teaplatform.grading.demo import GREEN_SAMPLE
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": "Bearer tok"}
SAMPLE = GREEN_SAMPLE  # grade 1 by the shipped rules
FIELDS = {
    "id", "result_id", "lot", "tea_type", "grade", "conformant", "source", "method",
    "indicators", "failed_checks", "image_count", "class_counts", "score", "graded_at",
    "recorded_at", "operator", "note", "trace_event_id", "trace_error",
}  # fmt: skip


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=db_url, api_token="tok")
    with TestClient(create_app(settings, workers=False)) as test_client:  # disposes the store
        yield test_client


def test_results_over_http(client: TestClient) -> None:
    body: dict[str, Any] = {
        "lot": "B26-01",
        "tea_type": "black",
        "indicators": SAMPLE,
        "graded_at": "2026-04-05T10:00:00+08:00",
        "result_id": "qc-1",
    }
    assert client.post("/api/grading/results", json=body).status_code == 401
    bad_token = {"Authorization": "Bearer nope"}
    assert client.post("/api/grading/results", json=body, headers=bad_token).status_code == 401
    assert client.get("/api/grading/results").json() == []  # nothing was written
    made = client.post("/api/grading/results", json=body, headers=AUTH)
    assert made.status_code == 201, made.text
    result = made.json()
    assert set(result) == FIELDS
    assert (result["grade"], result["source"], result["conformant"]) == (
        "grade 1",
        "made-tea-rules",
        True,
    )
    assert result["graded_at"].startswith("2026-04-05T02:00:00")
    assert result["trace_event_id"].startswith("urn:uuid:") and result["trace_error"] is None
    again = client.post("/api/grading/results", json=body, headers=AUTH)
    assert again.status_code == 200 and again.json()["id"] == result["id"]
    changed = {**body, "indicators": {**SAMPLE, "moisture": 9}}
    assert client.post("/api/grading/results", json=changed, headers=AUTH).status_code == 409
    # the lot's public journey shows the grading step
    lot = "urn:epc:class:lgtin:0614141.020002.B26-01"
    journey = client.get(f"/api/trace/lots/{lot}/verification").json()
    assert [s["stage"] for s in journey["steps"]] == ["grading"]
    assert journey["status"] == "verified"

    refused = {"lot": "north shed, bay 4", "tea_type": "green", "indicators": {"moisture": 6}}
    kept = client.post("/api/grading/results", json=refused, headers=AUTH)
    assert kept.status_code == 201
    assert kept.json()["trace_event_id"] is None and "lot" in kept.json()["trace_error"]
    assert kept.json()["grade"] == "off-grade" and len(kept.json()["failed_checks"]) == 4

    listed = client.get("/api/grading/results").json()
    assert [r["lot"] for r in listed] == ["north shed, bay 4", "B26-01"]  # newest grading first
    assert [r["lot"] for r in client.get("/api/grading/results?tea_type=black").json()] == [
        "B26-01"
    ]
    assert len(client.get("/api/grading/results", params={"lot": "B26-01"}).json()) == 1
    assert client.get("/api/grading/results/qc-1").json() == result
    assert client.get("/api/grading/results/nope").status_code == 404
    unknown = {**body, "tea_type": "oolong", "result_id": None}
    assert client.post("/api/grading/results", json=unknown, headers=AUTH).status_code == 422
    empty = {**body, "indicators": {}, "result_id": None}
    assert client.post("/api/grading/results", json=empty, headers=AUTH).status_code == 422


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TEAPLATFORM_DATABASE_URL", raising=False)
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> Any:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


def test_cli_record_list_show(runner: CliRunner) -> None:
    indicators = [arg for name, value in SAMPLE.items() for arg in ("-i", f"{name}={value}")]
    made = run(runner, "grading", "record", "--lot", "G26-02", "--tea", "green", *indicators,
               "--at", "2026-04-06T09:30", "--operator", "Li", "--result-id", "g-2", "--json")  # fmt: skip
    assert set(made) == FIELDS | {"created"} and made["created"] is True
    assert (made["grade"], made["indicators"], made["operator"]) == ("grade 1", SAMPLE, "Li")
    assert made["graded_at"] == "2026-04-06T09:30:00+00:00" and made["trace_event_id"]
    again = run(runner, "grading", "record", "--lot", "G26-02", "--tea", "green", *indicators,
                "--result-id", "g-2", "--json")  # fmt: skip
    assert again["created"] is False and again["id"] == made["id"]
    listed = run(runner, "grading", "list", "--json")
    assert [r["result_id"] for r in listed] == ["g-2"] and set(listed[0]) == FIELDS
    assert run(runner, "grading", "list", "--tea", "black", "--json") == []
    assert run(runner, "grading", "show", "g-2", "--json") == listed[0]
    table = run(runner, "grading", "list")
    assert "G26-02" in table.stdout and "grade 1" in table.stdout
    refused = run(
        runner, "grading", "record", "--lot", "shed 4", "--tea", "green", "-i", "moisture=6"
    )
    assert "off-grade" in refused.stdout and "not traced" in refused.stderr
    # the older commands still grade without storing
    shown = run(runner, "made-tea-grade", "green", *indicators, "--json")
    assert shown["grade"] == "grade 1"


@pytest.mark.parametrize(
    "args",
    [
        ["grading", "record", "--lot", "L", "--tea", "green"],  # neither source
        ["grading", "record", "--lot", "L", "--tea", "green", "-i", "moisture"],
        ["grading", "record", "--lot", "L", "--tea", "oolong", "-i", "moisture=5"],
        ["grading", "record", "--lot", "L", "--tea", "green", "-i", "moisture=nan"],
        ["grading", "record", "--lot", "L", "--tea", "green", "-i", "m=1", "--images", "."],
        ["grading", "record", "--lot", "L", "--tea", "dark", "--images", "/no/such/folder"],
        ["grading", "record", "--lot", "L", "--tea", "green", "-i", "m=1", "--at", "today"],
        ["grading", "show", "nope"],
    ],
)
def test_cli_bad_input_exits_2(runner: CliRunner, args: list[str]) -> None:
    run(runner, *args, code=2)


def test_cli_records_a_lot_from_leaf_images(
    runner: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    leaf = shared_data / "tea" / "leaf_disease"
    folder = tmp_path / "lot-AH-3"
    folder.mkdir()
    for name, count in (("healthy", 18), ("brown_blight", 2)):
        for src in sorted((leaf / name).iterdir())[:count]:
            shutil.copy(src, folder / f"{name}-{src.name}")
    made = run(runner, "grading", "record", "--lot", "AH-3", "--tea", "dark", "--images",
               str(folder), "--threads", "1", "--json")  # fmt: skip
    assert made["source"] == "leaf-images" and made["image_count"] == 20
    assert sum(made["class_counts"].values()) == 20 and made["indicators"] == {}
    assert made["method"].startswith("leaf images: classifier sha256:")
    assert made["grade"] in {"leaf grade 1", "leaf grade 2", "leaf grade 3", "off-grade"}
    assert made["score"] == made["class_counts"].get("healthy", 0) / 20
    assert made["trace_event_id"]
    few = tmp_path / "few"
    shutil.copytree(folder, few, ignore=lambda _, names: sorted(names)[5:])
    result = run(runner, "grading", "record", "--lot", "AH-4", "--tea", "dark", "--images",
                 str(few), code=2)  # fmt: skip
    assert "5 images" in result.output
