"""`teaplatform`: the server, the store, and each capability's commands.

Capability modules (``teaplatform.cli.<name>``) expose ``register(app)`` and add their
commands or sub-apps; absent ones are skipped.
"""

import importlib
import importlib.util
from typing import Annotated

import typer

from teaplatform import __version__
from teaplatform.settings import Settings

COMMAND_MODULES = (
    "teaplatform.cli.garden",
    "teaplatform.cli.growth",
    "teaplatform.cli.processing",
    "teaplatform.cli.vision",
    "teaplatform.cli.grading",
    "teaplatform.cli.trace",
    "teaplatform.cli.sales",
)

app = typer.Typer(
    name="teaplatform",
    help="五彩湘茶 Five-colour Hunan tea AI platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="bind address [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: 8480]")] = None,
) -> None:
    """Run the API server (and its background workers, e.g. the MQTT bridge)."""
    import uvicorn

    from teaplatform.api.app import create_app

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's tables (the server does this at start too)."""
    from teaplatform.store.migrate import upgrade

    settings = Settings()
    upgrade(settings.url)
    typer.echo(f"store at {settings.url.split('@')[-1]} is up to date")


@app.command()
def demo() -> None:
    """Load the demo data of every capability into the store (idempotent)."""
    from teaplatform.cli.common import migrated_store
    from teaplatform.service.demo import seed_all

    settings = Settings()
    with migrated_store(settings) as store:
        for module, summary in seed_all(settings, store):
            typer.echo(f"{module:<12} {summary}")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    app()
