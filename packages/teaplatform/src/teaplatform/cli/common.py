"""What the command modules share: failing on bad input, the migrated store, option parsing.

Heavy imports (SQLAlchemy, the migrations) stay inside the functions, so `--help` stays fast.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from teaplatform.settings import Settings

if TYPE_CHECKING:
    from teaplatform.store.db import Store

EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print `message` on stderr and exit with `code` (2: bad input or a refused request)."""
    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def migrated_store(settings: Settings | None = None) -> Iterator["Store"]:
    """The configured store, its tables created or migrated first; disposed on exit."""
    from teaplatform.store.db import Store
    from teaplatform.store.migrate import upgrade

    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.url)
    store = Store(settings.url)
    try:
        yield store
    finally:
        store.dispose()


def parse_indicators(items: Sequence[str]) -> dict[str, float]:
    """``NAME=NUMBER`` options as a mapping; anything else fails with exit code 2."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            values[name.strip()] = float(raw)
        except ValueError:
            fail(f"bad indicator {item!r}: expected NAME=NUMBER")
    return values


def parse_time(text: str | None, option: str = "--at") -> datetime | None:
    """An ISO 8601 option value (no offset = UTC), or None when not given."""
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO date-time")
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
