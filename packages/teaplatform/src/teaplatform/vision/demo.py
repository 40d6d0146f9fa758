"""Demo: the shipped default models registered as the active versions (idempotent)."""

from datetime import UTC, datetime

from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.vision import registry
from teaplatform.vision.artifacts import builtin_dir
from teaplatform.vision.config import KINDS


def seed_demo(settings: Settings, store: Store) -> str:
    """Register each shipped model; activate it when its kind has no active version yet."""
    del settings  # the shipped weights live in the package, not in data_dir
    parts = []
    with store.session() as session:
        for kind in KINDS:
            row = registry.register(session, builtin_dir(kind), datetime.now(UTC))
            if registry.active(session, kind) is None:
                registry.set_active(session, row.id)
            serving = registry.active(session, kind)
            assert serving is not None
            metric = serving.metrics.get("map50" if kind == "detector" else "accuracy", 0.0)
            parts.append(f"{kind} {serving.version} ({metric:.3f})")
    return "active models: " + ", ".join(parts)
