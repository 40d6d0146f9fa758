"""Which modules own tables: imported so `Base.metadata` knows every table."""

import importlib
import importlib.util

TABLE_MODULES = (
    "teaplatform.garden.tables",
    "teaplatform.processing.tables",
    "teaplatform.vision.tables",
    "teaplatform.grading.tables",
    "teaplatform.sales.tables",
    "teaplatform.trace.tables",
)


def load_tables() -> None:
    """Import every module's tables (those that exist) so they register on `Base`."""
    for name in TABLE_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
