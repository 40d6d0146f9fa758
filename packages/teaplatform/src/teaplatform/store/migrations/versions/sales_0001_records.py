"""sales: the sales records table.

Revision ID: sales_0001
Revises: 0000
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "sales_0001"
down_revision = "0000"
branch_labels = ("sales",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_records")),
        sa.UniqueConstraint(
            "product",
            "channel",
            "region",
            "day",
            name=op.f("uq_sales_records_product_channel_region_day"),
        ),
    )
    op.create_index(op.f("ix_sales_records_product"), "sales_records", ["product"])
    op.create_index(op.f("ix_sales_records_day"), "sales_records", ["day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sales_records_day"), table_name="sales_records")
    op.drop_index(op.f("ix_sales_records_product"), table_name="sales_records")
    op.drop_table("sales_records")
