"""callers' notices per city

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:10:00

A notice belongs to a city (or a province: the default of its cities); one without a region
is the default everywhere. The notices published so far, one global series, become that
default. Versions count per region: unique per (region, version), and among the defaults.
Downgrading numbers every notice again in the order published (calls keep their notice).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

DEFAULTS = sa.text('region_id IS NULL')


def upgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notices_version', type_='unique')
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notices_region_id_regions'), 'regions', ['region_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_notices_region_id'), ['region_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_notices_region_id_version'), ['region_id', 'version'])
    op.create_index('uq_notices_default_version', 'notices', ['version'], unique=True, sqlite_where=DEFAULTS, postgresql_where=DEFAULTS)


def downgrade():
    op.drop_index('uq_notices_default_version', table_name='notices')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notices_region_id_version'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_notices_region_id'))
        batch_op.drop_constraint(batch_op.f('fk_notices_region_id_regions'), type_='foreignkey')
        batch_op.drop_column('region_id')
    # One series again: every notice numbered by when it was published.
    op.execute('UPDATE notices SET version = (SELECT count(*) FROM notices AS earlier WHERE earlier.id <= notices.id)')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_notices_version'), ['version'])
