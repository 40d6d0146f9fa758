"""processing: batches, stage runs, deviation alarms and their watches.

Revision ID: processing_0001
Revises: 0000
Create Date: 2026-11-24
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "processing_0001"
down_revision = "0000"
branch_labels = ("processing",)
depends_on = None


def _ts(name: str, nullable: bool = True) -> "sa.Column[datetime]":
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "processing_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("recipe", sa.String(64), nullable=False),
        sa.Column("tea_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("device_key", sa.String(64), nullable=True),
        sa.Column("plot_id", sa.Integer(), nullable=True),
        sa.Column("picked_on", sa.String(10), nullable=True),
        sa.Column("leaf_kg", sa.Float(), nullable=True),
        sa.Column("auto_advance", sa.Boolean(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=True),
        _ts("stage_started_at"),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_processing_batch"),
        sa.UniqueConstraint("code", name="uq_processing_batch_code"),
    )
    op.create_index("ix_processing_batch_state_device", "processing_batch", ["state", "device_key"])
    op.create_table(
        "processing_stage_run",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("stage_key", sa.String(64), nullable=False),
        _ts("started_at", nullable=False),
        _ts("ended_at"),
        sa.Column("ended_by", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["processing_batch.id"],
            name="fk_processing_stage_run_batch_id_processing_batch",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "stage_index", name="pk_processing_stage_run"),
    )
    op.create_table(
        "processing_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("stage_key", sa.String(64), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("limit", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("since", nullable=False),
        _ts("opened_at", nullable=False),
        _ts("last_at", nullable=False),
        sa.Column("extreme", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("acknowledged_at"),
        sa.Column("acknowledged_by", sa.String(120), nullable=True),
        _ts("resolved_at"),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["processing_batch.id"],
            name="fk_processing_alarm_batch_id_processing_batch",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_processing_alarm"),
    )
    op.create_index("ix_processing_alarm_batch_id", "processing_alarm", ["batch_id"])
    op.create_index("ix_processing_alarm_state_opened", "processing_alarm", ["state", "opened_at"])
    op.create_index(
        "uq_processing_alarm_active",
        "processing_alarm",
        ["batch_id", "quantity"],
        unique=True,
        sqlite_where=sa.text("state != 'resolved'"),
        postgresql_where=sa.text("state != 'resolved'"),
    )
    op.create_table(
        "processing_watch",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=True),
        _ts("since"),
        _ts("last_out"),
        sa.Column("extreme", sa.Float(), nullable=True),
        sa.Column("alarmed", sa.Boolean(), nullable=False),
        _ts("back_since"),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["processing_batch.id"],
            name="fk_processing_watch_batch_id_processing_batch",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["processing_alarm.id"],
            name="fk_processing_watch_alarm_id_processing_alarm",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("batch_id", "quantity", name="pk_processing_watch"),
    )


def downgrade() -> None:
    op.drop_table("processing_watch")
    op.drop_table("processing_alarm")
    op.drop_table("processing_stage_run")
    op.drop_table("processing_batch")
