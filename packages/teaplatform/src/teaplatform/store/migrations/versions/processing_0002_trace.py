"""processing: when a completed batch was handed to traceability, and the event (or error).

Revision ID: processing_0002
Revises: processing_0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "processing_0002"
down_revision = "processing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processing_batch") as batch:
        batch.add_column(sa.Column("traced_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("trace_event", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processing_batch") as batch:
        batch.drop_column("trace_event")
        batch.drop_column("traced_at")
