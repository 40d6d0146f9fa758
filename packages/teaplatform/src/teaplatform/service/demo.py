"""Demo data for `make up`: each capability seeds its own (labelled SYNTHETIC where made up).

A demo module exposes ``seed_demo(settings, store) -> str`` (a one-line summary); seeding is
idempotent, so `teaplatform demo` can run at every start.
"""

import importlib
import importlib.util
from collections.abc import Iterator

from teaplatform.settings import Settings
from teaplatform.store.db import Store

DEMO_MODULES = (
    "teaplatform.garden.demo",
    "teaplatform.processing.demo",
    "teaplatform.grading.demo",
    "teaplatform.vision.demo",
    "teaplatform.sales.demo",
    "teaplatform.trace.demo",
)


def seed_all(settings: Settings, store: Store) -> Iterator[tuple[str, str]]:
    """Seed every present module in order; yields (module, summary)."""
    for name in DEMO_MODULES:
        if importlib.util.find_spec(name) is not None:
            summary: str = importlib.import_module(name).seed_demo(settings, store)
            yield name.rsplit(".", 2)[-2], summary
