"""`create_app(settings)`: the FastAPI application of the network service."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from computenet import __version__
from computenet.api import admin, jobs
from computenet.domain.errors import DomainError
from computenet.service.runtime import Runtime, build_runtime
from computenet.service.settings import Settings


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    rt = runtime or build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.start()
        try:
            yield
        finally:
            rt.stop()

    app = FastAPI(
        title="computenet",
        version=__version__,
        description="AI compute network (智算网络): submit and follow jobs across compute centers.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.include_router(jobs.router)
    app.include_router(admin.router)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    reports = settings.data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    # simulation reports (`computenet simulate --report DATA_DIR/reports/NAME`)
    app.mount("/reports", StaticFiles(directory=reports, html=True), name="reports")

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, object]:
        return {"ok": not rt.errors, "errors": rt.errors[-5:], "version": __version__}

    return app
