"""rollup levels as columns: one row per site, period, channel and proxy

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 18:00:00

The counts are carried over (not recounted), in both directions.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

KEY = ('grain', 'site_id', 'day', 'channel', 'proxy')
LEVELS = (1, 2, 3, 4, 5)
COUNTS = tuple(f'count_{level}' for level in LEVELS)


def _key_columns():
    return [
        sa.Column('grain', sa.String(length=5), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('proxy', sa.Boolean(), nullable=False),
    ]


def _common_constraints():
    return [
        sa.CheckConstraint("grain in ('day', 'month', 'all')", name=op.f('ck_response_rollups_grain')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_response_rollups_site_id_sites')),
    ]


def _table(*names):
    types = {'day': sa.Date(), 'proxy': sa.Boolean()}
    return sa.table('response_rollups', *(sa.column(name, types.get(name)) for name in names))


def _insert(names, rows):
    for start in range(0, len(rows), 10_000):
        op.bulk_insert(_table(*names), rows[start:start + 10_000])


def upgrade():
    old = _table(*KEY, 'level', 'count')
    cells = {}
    for *key, level, count in op.get_bind().execute(sa.select(old)):
        row = cells.setdefault(tuple(key), dict(zip(KEY, key)) | dict.fromkeys(COUNTS, 0))
        row[f'count_{level}'] += count
    op.drop_table('response_rollups')
    op.create_table(
        'response_rollups',
        *_key_columns(),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in COUNTS),
        sa.CheckConstraint(' and '.join(f'{name} >= 0' for name in COUNTS), name=op.f('ck_response_rollups_counts')),
        *_common_constraints(),
        sa.PrimaryKeyConstraint(*KEY, name=op.f('pk_response_rollups')),
        sqlite_with_rowid=False,
    )
    _insert((*KEY, *COUNTS), list(cells.values()))


def downgrade():
    wide = _table(*KEY, *COUNTS)
    rows = []
    for row in op.get_bind().execute(sa.select(wide)):
        key, counts = row[:len(KEY)], row[len(KEY):]
        for level, count in zip(LEVELS, counts):
            if count:
                rows.append(dict(zip(KEY, key), level=level, count=count))
    op.drop_table('response_rollups')
    op.create_table(
        'response_rollups',
        *_key_columns(),
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.CheckConstraint('count >= 0', name=op.f('ck_response_rollups_count')),
        sa.CheckConstraint('level between 1 and 5', name=op.f('ck_response_rollups_level')),
        *_common_constraints(),
        sa.PrimaryKeyConstraint(*KEY, 'level', name=op.f('pk_response_rollups')),
        sqlite_with_rowid=False,
    )
    _insert((*KEY, 'level', 'count'), rows)
