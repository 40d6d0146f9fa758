"""Demo sales data: SYNTHETIC daily sales of the five teas, loaded once."""

import datetime as dt

from teaplatform.sales import repository, synthetic
from teaplatform.settings import Settings
from teaplatform.store.db import Store


def seed_demo(settings: Settings, store: Store) -> str:
    """Load the SYNTHETIC demo sales unless they are there already; a one-line summary."""
    del settings  # nothing configurable yet
    with store.session() as session:
        present = repository.count(session, synthetic.SOURCE)
        if present:
            return f"{present:,} SYNTHETIC sales records already loaded"
        records = synthetic.generate()
        counts = repository.upsert(session, records, synthetic.SOURCE, dt.datetime.now(dt.UTC))
    return (
        f"{counts.inserted:,} SYNTHETIC daily sales records: {len(synthetic.TEAS)} teas x "
        f"{len(synthetic.CHANNELS)} channels x {len(synthetic.REGIONS)} regions, 2023-2025"
    )
