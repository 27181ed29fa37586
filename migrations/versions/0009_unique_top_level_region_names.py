"""unique names among top-level regions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:05:00

The unique constraint on (parent_id, name) lets two regions without a parent share a name
(NULLs differ); the service checked it, but two admins adding the same city at once could
both pass the check on PostgreSQL. A partial unique index closes that.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    doubled = op.get_bind().execute(sa.text(
        'SELECT name FROM regions WHERE parent_id IS NULL GROUP BY name HAVING count(*) > 1'
    )).scalars().all()
    if doubled:
        raise RuntimeError(
            'Top-level regions share these names, so they cannot be made unique: '
            f'{", ".join(doubled)}. Rename or merge them (admin → 地区), then upgrade again.'
        )
    top = sa.text('parent_id IS NULL')
    op.create_index('uq_regions_top_name', 'regions', ['name'], unique=True, sqlite_where=top, postgresql_where=top)


def downgrade():
    op.drop_index('uq_regions_top_name', table_name='regions')
