"""`create_app(settings)`: the FastAPI application of the tea platform."""

import importlib
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from teaplatform import __version__
from teaplatform.service.workers import start_workers, stop_workers
from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.store.migrate import upgrade

# one module per capability, each with a `router` (an APIRouter); absent ones are skipped
ROUTER_MODULES = (
    "teaplatform.api.garden",
    "teaplatform.api.alerts",
    "teaplatform.api.growth",
    "teaplatform.api.processing",
    "teaplatform.api.vision",
    "teaplatform.api.grading",
    "teaplatform.api.trace",
    "teaplatform.api.sales",
)


def create_app(settings: Settings, *, workers: bool = True) -> FastAPI:
    """The app on `settings`' store (migrated here); `workers=False` skips background workers."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.url)
    store = Store(settings.url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        running = start_workers(settings, store) if workers else []
        try:
            yield
        finally:
            stop_workers(running)
            store.dispose()

    app = FastAPI(
        title="teaplatform",
        version=__version__,
        description="五彩湘茶 Five-colour Hunan tea AI platform: gardens, processing, vision, "
        "grading, sales and origin traceability.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    for name in ROUTER_MODULES:
        if importlib.util.find_spec(name) is not None:
            app.include_router(importlib.import_module(name).router)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, object]:
        return {"ok": True, "version": __version__}

    return app
