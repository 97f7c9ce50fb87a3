"""saved delivery details of full accounts, filled in at their next checkout

Revision ID: b7d3e1f0a925
Revises: 947ce07558a9
Create Date: 2026-12-01 15:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d3e1f0a925'
down_revision = '947ce07558a9'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: no existing row changes, so the upgrade is safe on a populated database.
    op.create_table(
        'saved_deliveries',
        sa.Column('owner_id', sa.String(length=15), nullable=False),
        sa.Column('full_name', sa.String(length=120), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.Column('postal_code', sa.String(length=20), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['auth_records.id'],
            name=op.f('fk_saved_deliveries_owner_id_auth_records'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('owner_id', name=op.f('pk_saved_deliveries')),
    )


def downgrade():
    # Only the saved details go; orders keep their own copy of every address.
    op.drop_table('saved_deliveries')
