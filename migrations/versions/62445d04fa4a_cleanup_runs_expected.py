"""cleanup runs: expected count, for the admin's progress bar

Revision ID: 62445d04fa4a
Revises: 4f0d31117dcd
Create Date: 2026-11-27 09:11:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '62445d04fa4a'
down_revision = '4f0d31117dcd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cleanup_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expected', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('cleanup_runs', schema=None) as batch_op:
        batch_op.drop_column('expected')
