"""grading: results per lot (made-tea rules or leaf images) and their trace events.

Revision ID: grading_0001
Revises: 0000
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "grading_0001"
down_revision = "0000"
branch_labels = ("grading",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grading_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.String(64), nullable=False),
        sa.Column("lot", sa.String(64), nullable=False),
        sa.Column("tea_type", sa.String(16), nullable=False),
        sa.Column("grade", sa.String(40), nullable=False),
        sa.Column("conformant", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("method", sa.String(120), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("failed_checks", sa.JSON(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=True),
        sa.Column("class_counts", sa.JSON(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("trace_event_id", sa.String(200), nullable=True),
        sa.Column("trace_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_grading_results"),
        sa.UniqueConstraint("result_id", name="uq_grading_results_result_id"),
    )
    op.create_index("ix_grading_results_lot", "grading_results", ["lot"])
    op.create_index("ix_grading_results_tea_type", "grading_results", ["tea_type"])


def downgrade() -> None:
    op.drop_index("ix_grading_results_tea_type", table_name="grading_results")
    op.drop_index("ix_grading_results_lot", table_name="grading_results")
    op.drop_table("grading_results")
