"""The vision commands: detect, grade, train, models, made-tea-grade (JSON shapes, exit codes)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from teaplatform.cli.main import app

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEAPLATFORM_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHARED_DATA", str(shared_data))
    return tmp_path


def test_detect_json_shape_and_drawing(env: Path, shared_data: Path) -> None:
    images = sorted((shared_data / "tea" / "shoots" / "train" / "images").iterdir())[:2]
    result = CliRunner().invoke(
        app,
        [
            "detect",
            *map(str, images),
            "--json",
            "--draw",
            str(env / "drawn"),
            "--threshold",
            "0.05",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [b["image"] for b in body] == [str(p) for p in images]
    for item in body:
        assert set(item) == {"image", "detections"}
        for d in item["detections"]:
            assert set(d) == {"class", "score", "box", "pick_point"}
    assert len(list((env / "drawn").glob("*.png"))) == 2


def test_grade_json_shape(env: Path, shared_data: Path) -> None:
    folder = shared_data / "tea" / "leaf_disease" / "gray_light"
    result = CliRunner().invoke(app, ["grade", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert len(body) == len(list(folder.iterdir()))
    assert set(body[0]) == {"image", "class", "score"}
    assert "images/s" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["detect", "/no/such.jpg"],
        ["grade", "/no/such/folder"],
        ["train", "segmenter"],
        ["made-tea-grade", "green", "-i", "moisture"],
        ["made-tea-grade", "oolong", "-i", "moisture=5"],
    ],
)
def test_bad_input_exits_2(env: Path, args: list[str]) -> None:
    assert CliRunner().invoke(app, args).exit_code == 2


def test_train_with_a_config_file_registers_the_model(env: Path) -> None:
    config = env / "tiny.yaml"
    config.write_text(
        "max_images: 4\nvalidation: 1\n"  # unknown key: rejected
    )
    runner = CliRunner()
    assert runner.invoke(app, ["train", "classifier", "--config", str(config)]).exit_code == 2
    config.write_text(
        "max_images: 4\nval_fraction: 0.25\nimage_size: 32\nwidths: [4, 4, 8, 8]\nepochs: 1\nbatch_size: 8\n"
    )
    out = env / "model"
    result = runner.invoke(
        app,
        ["train", "classifier", "--config", str(config), "--out", str(out), "--activate", "--json"],
    )
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["kind"] == "classifier" and card["config"]["epochs"] == 1
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    assert [(m["kind"], m["active"], m["path"]) for m in listed] == [
        ("classifier", True, str(out.resolve()))
    ]


def test_made_tea_grade(env: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "made-tea-grade",
            "black",
            "-i",
            "sensory_score=85",
            "-i",
            "moisture=6.9",
            "-i",
            "total_ash=6.8",
            "-i",
            "powder=1.2",
            "-i",
            "broken=6",
            "-i",
            "water_extract=31",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["grade"] == "grade 2"
