"""The empty base revision every module's branch starts from.

Revision ID: 0000
Revises:
Create Date: 2026-11-24
"""

revision = "0000"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
