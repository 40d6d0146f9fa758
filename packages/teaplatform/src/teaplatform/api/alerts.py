"""Alerts API: alerts and their life cycle (acknowledge, resolve), and each plot's rules."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from teaplatform.api.deps import SessionDep, Writer
from teaplatform.garden import alerting, rulebook
from teaplatform.garden.alerting import AlertNotFoundError, AlertStateError
from teaplatform.garden.catalog import ConflictError, NotFoundError
from teaplatform.garden.rules import BUILTIN_RULES, RuleKind, RuleSpec
from teaplatform.garden.tables import AlertRow, DeviceRow

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertPublic(BaseModel):
    id: int
    rule: str
    kind: RuleKind
    severity: str
    state: str
    plot_id: int | None
    device: str
    quantity: str
    message: str
    opened_at: datetime
    trigger_value: float | None
    peak_value: float | None
    last_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(default="api", min_length=1, max_length=120, description="who does it")


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plot_id: int
    rule: RuleSpec
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: RuleSpec
    enabled: bool = True


class PlotRulePublic(BaseModel):
    id: int | None = Field(description="the stored rule; null for an untouched built-in")
    origin: str = Field(description="builtin, override (of a built-in) or custom")
    enabled: bool
    rule: RuleSpec
    summary: str


class SweepPublic(BaseModel):
    opened: list[AlertPublic]


def _public(alert: AlertRow, device: str) -> AlertPublic:
    return AlertPublic.model_validate(alerting.alert_document(alert, device))


def _with_devices(session: SessionDep, alerts: list[AlertRow]) -> list[AlertPublic]:
    ids = {a.device_id for a in alerts}
    rows = session.execute(select(DeviceRow.id, DeviceRow.key).where(DeviceRow.id.in_(ids)))
    keys = dict(rows.all())
    return [_public(a, keys[a.device_id]) for a in alerts]


def _plot_rule_public(rule: rulebook.PlotRule) -> PlotRulePublic:
    return PlotRulePublic(
        id=rule.id,
        origin=rule.origin,
        enabled=rule.enabled,
        rule=rule.spec,
        summary=rule.spec.describe(),
    )


# rules first: "/alerts/rules" must not be taken for an alert id


@router.get("/rules/builtin", response_model=list[RuleSpec])
def builtin_rules() -> list[RuleSpec]:
    """The agronomic rules every plot has unless it overrides or disables them by name."""
    return list(BUILTIN_RULES.values())


@router.get("/rules", response_model=list[PlotRulePublic])
def plot_rules(session: SessionDep, plot_id: int) -> list[PlotRulePublic]:
    """A plot's rules: built-ins (as overridden there) and its own."""
    try:
        return [_plot_rule_public(r) for r in rulebook.plot_rule_list(session, plot_id)]
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/rules",
    response_model=PlotRulePublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
)
def add_rule(body: RuleCreate, session: SessionDep) -> PlotRulePublic:
    """Add a rule to a plot; one named like a built-in overrides it there."""
    try:
        row = rulebook.add_rule(session, body.plot_id, body.rule, body.enabled)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    origin = "override" if row.name in BUILTIN_RULES else "custom"
    return _plot_rule_public(rulebook.PlotRule(body.rule, origin, row.enabled, row.id))


@router.put("/rules/{rule_id}", response_model=PlotRulePublic, dependencies=[Writer])
def update_rule(rule_id: int, body: RuleUpdate, session: SessionDep) -> PlotRulePublic:
    try:
        row = rulebook.update_rule(session, rule_id, body.rule, body.enabled)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    origin = "override" if row.name in BUILTIN_RULES else "custom"
    return _plot_rule_public(rulebook.PlotRule(body.rule, origin, row.enabled, row.id))


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Writer])
def delete_rule(rule_id: int, session: SessionDep) -> None:
    try:
        rulebook.delete_rule(session, rule_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/sweep", response_model=SweepPublic, dependencies=[Writer])
def sweep(session: SessionDep) -> SweepPublic:
    """Check for silent devices now (the server's watchdog does this every minute)."""
    opened = alerting.sweep_missing(session, datetime.now(UTC))
    return SweepPublic(opened=_with_devices(session, opened))


@router.get("", response_model=list[AlertPublic])
def list_alerts(
    session: SessionDep,
    state: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved|active)$")] = None,
    plot_id: int | None = None,
    rule: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[AlertPublic]:
    """Alerts, newest first; ``state=active`` means open or acknowledged."""
    return _with_devices(
        session, alerting.list_alerts(session, state=state, plot_id=plot_id, rule=rule, limit=limit)
    )


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: int, session: SessionDep) -> Any:
    alert = session.get(AlertRow, alert_id)
    if alert is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    return _with_devices(session, [alert])[0]


def _step(session: SessionDep, alert_id: int, by: str, resolve: bool) -> AlertPublic:
    step = alerting.resolve if resolve else alerting.acknowledge
    try:
        alert = step(session, alert_id, by, datetime.now(UTC))
    except AlertNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except AlertStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _with_devices(session, [alert])[0]


@router.post("/{alert_id}/ack", response_model=AlertPublic, dependencies=[Writer])
def acknowledge(alert_id: int, session: SessionDep, body: Actor | None = None) -> AlertPublic:
    """open → acknowledged (again: no change); a resolved alert answers 409."""
    return _step(session, alert_id, (body or Actor()).by, resolve=False)


@router.post("/{alert_id}/resolve", response_model=AlertPublic, dependencies=[Writer])
def resolve(alert_id: int, session: SessionDep, body: Actor | None = None) -> AlertPublic:
    """open or acknowledged → resolved; a resolved alert answers 409."""
    return _step(session, alert_id, (body or Actor()).by, resolve=True)
