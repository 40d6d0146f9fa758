"""Alert notifications: the outbox (`AlertEventRow`) POSTed as JSON to a webhook.

Delivery never holds a database transaction open while it waits on the network: one short
unit of work reads what is due, the POSTs run outside it, another records the results. A
failed POST is retried with exponential backoff (`backoff_s` · 2^(attempt−1), at most
`max_backoff_s`) up to `max_attempts`; events of one alert go out in order (a later event waits
while an earlier one is pending). Ingestion only writes outbox rows, so a slow or dead webhook
never slows it down.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from teaplatform import __version__
from teaplatform.garden.tables import AlertEventRow
from teaplatform.store.db import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 1.0
    max_backoff_s: float = 300.0
    batch: int = 100

    def next_delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.backoff_s * 2 ** (attempts - 1), self.max_backoff_s))


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    alert_id: int
    attempts: int
    payload: dict[str, Any]


class WebhookNotifier:
    def __init__(
        self,
        store: Store,
        url: str,
        policy: DeliveryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.store = store
        self.url = url
        self.policy = policy or DeliveryPolicy()
        self._client = client or httpx.Client(
            timeout=self.policy.timeout_s,
            headers={"User-Agent": f"teaplatform/{__version__}"},
        )

    def close(self) -> None:
        self._client.close()

    def _due(self, now: datetime) -> list[_Due]:
        with self.store.session() as session:
            rows = session.scalars(
                select(AlertEventRow)
                .where(
                    AlertEventRow.delivered_at.is_(None),
                    AlertEventRow.attempts < self.policy.max_attempts,
                )
                .order_by(AlertEventRow.id)
                .limit(self.policy.batch)
            ).all()
            blocked: set[int] = set()
            due: list[_Due] = []
            for row in rows:
                if row.alert_id in blocked:
                    continue
                if row.next_attempt_at > now:
                    blocked.add(row.alert_id)  # keep this alert's events in order
                    continue
                alert = {**row.payload["alert"], "id": row.alert_id}
                due.append(
                    _Due(row.id, row.alert_id, row.attempts, {**row.payload, "alert": alert})
                )
            return due

    def _post(self, event: _Due) -> str | None:
        """None when the webhook took it (2xx), else why not."""
        try:
            response = self._client.post(
                self.url, json=event.payload, headers={"X-Teaplatform-Event": str(event.id)}
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    def deliver_due(self, now: datetime) -> int:
        """One pass: POST what is due; the number delivered."""
        results: list[tuple[_Due, str | None]] = []
        failed_alerts: set[int] = set()
        for event in self._due(now):
            if event.alert_id in failed_alerts:
                continue
            error = self._post(event)
            results.append((event, error))
            if error is not None:
                failed_alerts.add(event.alert_id)
        if not results:
            return 0
        with self.store.session() as session:
            for event, error in results:
                row = session.get_one(AlertEventRow, event.id)
                row.attempts = event.attempts + 1
                if error is None:
                    row.delivered_at = now
                    row.last_error = ""
                else:
                    row.last_error = error
                    row.next_attempt_at = now + self.policy.next_delay(row.attempts)
                    log.warning("webhook %s: event %d failed (%s)", self.url, event.id, error)
        return sum(error is None for _, error in results)
