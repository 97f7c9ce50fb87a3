"""receipts: when an order's receipt was sent, and the HTML part of outbox mail

Revision ID: a7c3e9d1f2b4
Revises: b7d3e1f0a925
Create Date: 2026-12-01 16:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d1f2b4'
down_revision = 'b7d3e1f0a925'
branch_labels = None
depends_on = None


def upgrade():
    # Both columns are nullable: orders of earlier releases never had a receipt, and plain-text mail
    # already in the outbox has no HTML part. No row is rewritten.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_sent_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('html')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('receipt_sent_at')
