"""garden: gardens, plots, devices, readings, ingestion counters, rules and alerts.

Revision ID: garden_0001
Revises: 0000
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "garden_0001"
down_revision = "0000"
branch_labels = ("garden",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "garden_garden",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("region", sa.String(120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_garden_garden"),
        sa.UniqueConstraint("name", name="uq_garden_garden_name"),
    )
    op.create_table(
        "garden_plot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("garden_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("area_ha", sa.Float(), nullable=True),
        sa.Column("cultivar", sa.String(120), nullable=False),
        sa.Column("tea_type", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["garden_id"],
            ["garden_garden.id"],
            name="fk_garden_plot_garden_id_garden_garden",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_garden_plot"),
        sa.UniqueConstraint("garden_id", "name", name="uq_garden_plot_garden_id_name"),
    )
    op.create_table(
        "garden_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=True),
        sa.Column("line", sa.String(120), nullable=True),
        sa.Column("sensors", sa.JSON(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plot_id"],
            ["garden_plot.id"],
            name="fk_garden_device_plot_id_garden_plot",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_garden_device"),
        sa.UniqueConstraint("key", name="uq_garden_device_key"),
    )
    op.create_index("ix_garden_device_plot_id", "garden_device", ["plot_id"])
    op.create_table(
        "garden_reading",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["garden_device.id"],
            name="fk_garden_reading_device_id_garden_device",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", "quantity", "ts", name="pk_garden_reading"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "garden_ingest_count",
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "outcome", name="pk_garden_ingest_count"),
    )
    op.create_table(
        "garden_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plot_id"],
            ["garden_plot.id"],
            name="fk_garden_rule_plot_id_garden_plot",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_garden_rule"),
        sa.UniqueConstraint("plot_id", "name", name="uq_garden_rule_plot_id_name"),
    )
    op.create_table(
        "garden_rule_state",
        sa.Column("rule_key", sa.String(80), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["garden_device.id"],
            name="fk_garden_rule_state_device_id_garden_device",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_key", "device_id", name="pk_garden_rule_state"),
    )
    op.create_table(
        "garden_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_key", sa.String(80), nullable=False),
        sa.Column("rule_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("plot_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger_value", sa.Float(), nullable=True),
        sa.Column("peak_value", sa.Float(), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(120), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["garden_device.id"],
            name="fk_garden_alert_device_id_garden_device",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plot_id"],
            ["garden_plot.id"],
            name="fk_garden_alert_plot_id_garden_plot",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_garden_alert"),
    )
    op.create_index("ix_garden_alert_plot_id", "garden_alert", ["plot_id"])
    op.create_index("ix_garden_alert_state_opened", "garden_alert", ["state", "opened_at"])
    op.create_index(
        "uq_garden_alert_active",
        "garden_alert",
        ["rule_key", "device_id"],
        unique=True,
        sqlite_where=sa.text("state != 'resolved'"),
        postgresql_where=sa.text("state != 'resolved'"),
    )
    op.create_table(
        "garden_alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["garden_alert.id"],
            name="fk_garden_alert_event_alert_id_garden_alert",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_garden_alert_event"),
    )
    op.create_index(
        "ix_garden_alert_event_pending", "garden_alert_event", ["delivered_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("garden_alert_event")
    op.drop_table("garden_alert")
    op.drop_table("garden_rule_state")
    op.drop_table("garden_rule")
    op.drop_table("garden_ingest_count")
    op.drop_table("garden_reading")
    op.drop_table("garden_device")
    op.drop_table("garden_plot")
    op.drop_table("garden_garden")
