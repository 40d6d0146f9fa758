"""The app factory: migrates its store, serves health and OpenAPI; the CLI answers --help."""

from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from teaplatform.api.app import create_app
from teaplatform.api.deps import require_writer
from teaplatform.cli.main import app as cli
from teaplatform.settings import Settings

pytestmark = pytest.mark.e2e


def test_health_and_openapi(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings, workers=False)) as client:
        assert client.get("/healthz").json()["ok"] is True
        spec = client.get("/openapi.json").json()
        assert spec["info"]["title"] == "teaplatform"
    assert (tmp_path / "teaplatform.db").exists()


def test_writes_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token="s3cret")
    app = create_app(settings, workers=False)

    @app.post("/_probe", dependencies=[Depends(require_writer)])
    def probe() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.post("/_probe").status_code == 401
        assert client.post("/_probe", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.post("/_probe", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_cli_help_lists_the_server() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "up" in result.output
