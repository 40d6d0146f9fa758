"""A plot's rules in the store: the built-ins, their per-plot overrides and user-defined rules.

A plot rule named like a built-in replaces it on that plot (its own limit, months, …) or, when
disabled, switches it off; any other name is a rule of the plot's own.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.garden.catalog import ConflictError, NotFoundError, get_plot
from teaplatform.garden.rules import BUILTIN_RULES, RuleSpec
from teaplatform.garden.tables import RuleRow


@dataclass(frozen=True, slots=True)
class PlotRule:
    spec: RuleSpec
    origin: str  # builtin | override | custom
    enabled: bool
    id: int | None  # the stored rule; None for an untouched built-in


def plot_rule_list(session: Session, plot_id: int) -> list[PlotRule]:
    get_plot(session, plot_id)
    stored = {
        row.name: row for row in session.scalars(select(RuleRow).where(RuleRow.plot_id == plot_id))
    }
    rules: list[PlotRule] = []
    for name, builtin in BUILTIN_RULES.items():
        row = stored.pop(name, None)
        if row is None:
            rules.append(PlotRule(builtin, "builtin", True, None))
        else:
            rules.append(
                PlotRule(RuleSpec.model_validate(row.spec), "override", row.enabled, row.id)
            )
    rules += [
        PlotRule(RuleSpec.model_validate(row.spec), "custom", row.enabled, row.id)
        for row in sorted(stored.values(), key=lambda r: r.name)
    ]
    return rules


def add_rule(session: Session, plot_id: int, spec: RuleSpec, enabled: bool = True) -> RuleRow:
    get_plot(session, plot_id)
    taken = select(RuleRow.id).where(RuleRow.plot_id == plot_id, RuleRow.name == spec.name)
    if session.scalar(taken) is not None:
        raise ConflictError(f"plot {plot_id} has a rule {spec.name!r} already: update it")
    row = RuleRow(
        plot_id=plot_id, name=spec.name, spec=spec.model_dump(mode="json"), enabled=enabled
    )
    session.add(row)
    session.flush()
    return row


def get_rule(session: Session, rule_id: int) -> RuleRow:
    row = session.get(RuleRow, rule_id)
    if row is None:
        raise NotFoundError(f"no rule {rule_id}")
    return row


def update_rule(session: Session, rule_id: int, spec: RuleSpec, enabled: bool) -> RuleRow:
    row = get_rule(session, rule_id)
    if spec.name != row.name:
        raise ConflictError(f"rule {rule_id} is {row.name!r}: a rule keeps its name")
    row.spec = spec.model_dump(mode="json")
    row.enabled = enabled
    return row


def delete_rule(session: Session, rule_id: int) -> None:
    """Remove a plot rule (an override: the built-in applies again)."""
    session.delete(get_rule(session, rule_id))
