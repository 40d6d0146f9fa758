"""The model registry on SQLite and PostgreSQL: register, activate, serve, demo seeding."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.vision import registry
from teaplatform.vision.artifacts import CARD_FILE, MODEL_FILE, builtin_dir
from teaplatform.vision.demo import seed_demo

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def _copy_model(kind: str, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copy(builtin_dir(kind) / name, target / name)  # type: ignore[arg-type]
    return target


def test_register_activate_and_serve(store: Store, tmp_path: Path) -> None:
    with store.session() as s:
        assert registry.serving_dir(s, "detector") == builtin_dir("detector")
        builtin = registry.register(s, builtin_dir("detector"), NOW, activate=True)
        assert builtin.path == "builtin:detector" and builtin.active
        again = registry.register(s, builtin_dir("detector"), NOW)
        assert again.id == builtin.id  # idempotent
    trained_dir = _copy_model("detector", tmp_path / "run1")
    with store.session() as s:
        trained = registry.register(s, trained_dir, NOW, version="v2")
        assert not trained.active
        assert registry.serving_dir(s, "detector") == builtin_dir("detector")
        registry.set_active(s, trained.id)
    with store.session() as s:
        active = registry.active(s, "detector")
        assert active is not None and active.version == "v2"
        assert registry.serving_dir(s, "detector") == trained_dir.resolve()
        assert [v.active for v in registry.versions(s, "detector")] == [False, True]
        assert "map50" in active.metrics


def test_bad_requests_raise_registry_errors(store: Store, tmp_path: Path) -> None:
    with store.session() as s:
        with pytest.raises(registry.RegistryError):
            registry.register(s, tmp_path, NOW)
        with pytest.raises(registry.RegistryError):
            registry.set_active(s, 999)


def test_a_tampered_model_is_refused(store: Store, tmp_path: Path) -> None:
    model = _copy_model("classifier", tmp_path / "m")
    (model / MODEL_FILE).write_bytes((model / MODEL_FILE).read_bytes() + b"x")
    with store.session() as s, pytest.raises(registry.RegistryError, match="sha256"):
        registry.register(s, model, NOW)


def test_demo_seeding_is_idempotent_and_keeps_a_chosen_version(
    store: Store, tmp_path: Path
) -> None:
    summary = seed_demo(Settings(data_dir=tmp_path), store)
    assert "detector builtin-" in summary and "classifier builtin-" in summary
    with store.session() as s:
        chosen = registry.register(
            s, _copy_model("classifier", tmp_path / "c"), NOW, "mine", activate=True
        )
        chosen_id = chosen.id
    seed_demo(Settings(data_dir=tmp_path), store)
    with store.session() as s:
        assert len(registry.versions(s)) == 3
        active = registry.active(s, "classifier")
        assert active is not None and active.id == chosen_id
