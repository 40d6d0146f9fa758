"""vision: the model registry (trained model versions and the active one per kind).

Revision ID: vision_0001
Revises: 0000
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "vision_0001"
down_revision = "0000"
branch_labels = ("vision",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vision_model_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("onnx_sha256", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vision_model_versions"),
        sa.UniqueConstraint("kind", "version", name="uq_vision_model_versions_kind_version"),
    )
    op.create_index("ix_vision_model_versions_kind", "vision_model_versions", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_vision_model_versions_kind", table_name="vision_model_versions")
    op.drop_table("vision_model_versions")
