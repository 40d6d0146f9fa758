"""trace: organisations and their public keys, master data, the signed event ledger with
per-lot hash chains, day checkpoints, packages and their scans.

Revision ID: trace_0001
Revises: 0000
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "trace_0001"
down_revision = "0000"
branch_labels = ("trace",)
depends_on = None

URN = 120


def upgrade() -> None:
    op.create_table(
        "trace_orgs",
        sa.Column("id", sa.String(URN), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_orgs"),
    )
    op.create_table(
        "trace_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(URN), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["trace_orgs.id"], name="fk_trace_keys_org_id_trace_orgs"
        ),
        sa.PrimaryKeyConstraint("key_id", name="pk_trace_keys"),
    )
    op.create_index("ix_trace_keys_org_id", "trace_keys", ["org_id"])
    op.create_table(
        "trace_locations",
        sa.Column("id", sa.String(URN), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("org_id", sa.String(URN), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["trace_orgs.id"], name="fk_trace_locations_org_id_trace_orgs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trace_locations"),
    )
    op.create_table(
        "trace_products",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_products"),
        sa.UniqueConstraint("gtin", name="uq_trace_products_gtin"),
    )
    op.create_table(
        "trace_ledger",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("open_day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_trace_ledger"),
    )
    # the one row every append locks: it orders the ledger
    op.execute("INSERT INTO trace_ledger (id, last_seq) VALUES (1, 0)")
    op.create_table(
        "trace_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("biz_step", sa.String(200), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_day", sa.Date(), nullable=False),
        sa.Column("org_id", sa.String(URN), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_trace_events"),
        sa.UniqueConstraint("event_id", name="uq_trace_events_event_id"),
    )
    op.create_index("ix_trace_events_ledger_day", "trace_events", ["ledger_day"])
    op.create_index("ix_trace_events_org_id", "trace_events", ["org_id"])
    op.create_table(
        "trace_links",
        sa.Column("lot", sa.String(URN), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.LargeBinary(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_seq"],
            ["trace_events.seq"],
            name="fk_trace_links_event_seq_trace_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lot", "seq", name="pk_trace_links"),
    )
    op.create_index("ix_trace_links_event_seq", "trace_links", ["event_seq"])
    op.create_table(
        "trace_lots",
        sa.Column("lot", sa.String(URN), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_digest", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("lot", name="pk_trace_lots"),
    )
    op.create_table(
        "trace_epc_lots",
        sa.Column("epc", sa.String(URN), nullable=False),
        sa.Column("lot", sa.String(URN), nullable=False),
        sa.PrimaryKeyConstraint("epc", "lot", name="pk_trace_epc_lots"),
    )
    op.create_table(
        "trace_packages",
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("sgtin", sa.String(URN), nullable=False),
        sa.Column("lot", sa.String(URN), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_trace_packages"),
        sa.UniqueConstraint("sgtin", name="uq_trace_packages_sgtin"),
    )
    op.create_index("ix_trace_packages_lot", "trace_packages", ["lot"])
    op.create_table(
        "trace_checkpoints",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("prev", sa.LargeBinary(32), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(URN), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_trace_checkpoints"),
    )
    op.create_table(
        "trace_scans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trace_scans"),
    )
    op.create_index("ix_trace_scans_code", "trace_scans", ["code"])


def downgrade() -> None:
    for table in (
        "trace_scans",
        "trace_checkpoints",
        "trace_packages",
        "trace_epc_lots",
        "trace_lots",
        "trace_links",
        "trace_events",
        "trace_ledger",
        "trace_products",
        "trace_locations",
        "trace_keys",
        "trace_orgs",
    ):
        op.drop_table(table)
