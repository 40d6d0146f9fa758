"""The vision API over HTTP (TestClient): detect, draw, grade, made-tea rules, registry."""

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from teaplatform.api.app import create_app
from teaplatform.settings import Settings
from teaplatform.vision.artifacts import builtin_dir

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, api_token="tok"), workers=False))


def _shoot_image(shared_data: Path) -> Path:
    return sorted((shared_data / "tea" / "shoots" / "train" / "images").iterdir())[0]


def test_detect_returns_boxes_and_points_in_input_pixels(
    client: TestClient, shared_data: Path
) -> None:
    path = _shoot_image(shared_data)
    # send a resized copy: coordinates must come back in the pixels of what was sent
    buf = io.BytesIO()
    Image.open(path).resize((480, 480)).save(buf, format="JPEG")
    with client:
        r = client.post(
            "/vision/detect",
            files=[("files", ("canopy.jpg", buf.getvalue(), "image/jpeg"))],
            params={"threshold": 0.05},
        )
    assert r.status_code == 200, r.text
    [item] = r.json()
    assert item["image"] == "canopy.jpg" and item["plan"]["picks"] <= len(item["detections"])
    for d in item["detections"]:
        assert d["class"] in {"0", "1", "2", "3"} and 0.05 <= d["score"] <= 1
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= 480 and 0 <= y1 < y2 <= 480
        px, py = d["pick_point"]
        # on the stem: the point lies 1.05 of the way along the shoot's axis, which runs
        # corner to corner at most, so it can leave the box by 5 % of its size (10 % allowed)
        mx, my = 0.1 * (x2 - x1) + 1, 0.1 * (y2 - y1) + 1
        assert x1 - mx <= px <= x2 + mx and y1 <= py <= y2 + my


def test_draw_returns_a_png(client: TestClient, shared_data: Path) -> None:
    with client:
        r = client.post(
            "/vision/detect/draw", files={"file": ("a.jpg", _shoot_image(shared_data).read_bytes())}
        )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (640, 640)


def test_grade_and_bad_input(client: TestClient, shared_data: Path) -> None:
    leaf = sorted((shared_data / "tea" / "leaf_disease" / "healthy").iterdir())[:2]
    with client:
        r = client.post("/vision/grade", files=[("files", (p.name, p.read_bytes())) for p in leaf])
        assert r.status_code == 200
        body = r.json()
        assert [b["image"] for b in body] == [p.name for p in leaf]
        classes = client.get("/vision/models", params={"kind": "classifier"}).json()
        assert classes == []  # nothing registered: the shipped model serves
        assert all(0 < b["score"] <= 1 for b in body)
        bad = client.post("/vision/grade", files=[("files", ("x.jpg", b"not an image"))])
        assert bad.status_code == 422


def test_made_tea_grading(client: TestClient) -> None:
    sample = {
        "tea": "green",
        "indicators": {
            "sensory_score": 89,
            "moisture": 6.8,
            "total_ash": 6.0,
            "powder": 0.9,
            "broken": 4,
            "water_extract": 36,
        },
    }
    with client:
        r = client.post("/grading/made-tea", json=sample)
        assert r.status_code == 200
        assert r.json()["grade"] == "grade 1" and r.json()["reasons"][0].startswith("not premium")
        assert (
            client.post("/grading/made-tea", json={"tea": "oolong", "indicators": {}}).status_code
            == 422
        )
        assert "green" in client.get("/grading/rules").json()["teas"]


def test_registry_writes_need_the_token(client: TestClient) -> None:
    body = {"path": str(builtin_dir("detector")), "activate": True}
    auth = {"Authorization": "Bearer tok"}
    with client:
        assert client.post("/vision/models", json=body).status_code == 401
        r = client.post("/vision/models", json=body, headers=auth)
        assert r.status_code == 201 and r.json()["active"] is True
        version_id = r.json()["id"]
        assert client.post(f"/vision/models/{version_id}/activate").status_code == 401
        assert client.post(f"/vision/models/{version_id}/activate", headers=auth).status_code == 200
        assert client.post("/vision/models/999/activate", headers=auth).status_code == 404
        bad = client.post("/vision/models", json={"path": "/nonexistent"}, headers=auth)
        assert bad.status_code == 422
        listed = client.get("/vision/models").json()
        assert [m["kind"] for m in listed] == ["detector"] and "map50" in listed[0]["metrics"]
