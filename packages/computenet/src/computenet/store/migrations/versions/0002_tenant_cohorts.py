"""Tenant quotas, Kueue-style: cohort, borrowing_limit and lending_limit on tenants.

Existing tenants join the default cohort ("network") with no limits, which is what the
scheduling core assumed for them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # plain ADD COLUMN (no table copy on SQLite: `tenants` is referenced by tokens and jobs)
    op.add_column(
        "tenants",
        sa.Column("cohort", sa.String(length=128), server_default="network", nullable=False),
    )
    op.add_column(
        "tenants", sa.Column("borrowing_limit", _json(), server_default="{}", nullable=False)
    )
    op.add_column(
        "tenants", sa.Column("lending_limit", _json(), server_default="{}", nullable=False)
    )


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite >= 3.35), again without copying the table
    op.drop_column("tenants", "lending_limit")
    op.drop_column("tenants", "borrowing_limit")
    op.drop_column("tenants", "cohort")
