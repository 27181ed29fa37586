"""rollups partitioned by grain on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:40:00

On PostgreSQL the rollups become a table partitioned by grain (day, month, all), so the
dashboard's all-time cells (one per site, channel and proxy flag) fill a few dozen pages of
their own instead of lying one or two to a page among the day and month cells: the
project's site read at 100,000 answers went from 8.8 to 5.7 ms (bench/dashboard.py,
docs/PERFORMANCE.md). SQLite already keeps the table in key order, grain first (no rowid),
and is left as it is. The counts are carried over in both directions.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

KEY = ('grain', 'site_id', 'day', 'channel', 'proxy')
COUNTS = tuple(f'count_{level}' for level in (1, 2, 3, 4, 5))
GRAINS = ('day', 'month', 'all')


def _rebuild(partitioned: bool) -> None:
    """Move the rollups into a new table, partitioned by grain or not."""
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.rename_table('response_rollups', 'response_rollups_old')
    # The primary key's index name is the schema's, not the table's: free it for the new one.
    op.execute('ALTER TABLE response_rollups_old RENAME CONSTRAINT pk_response_rollups TO pk_response_rollups_old')
    op.create_table(
        'response_rollups',
        sa.Column('grain', sa.String(length=5), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('proxy', sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in COUNTS),
        sa.CheckConstraint(' and '.join(f'{name} >= 0' for name in COUNTS), name=op.f('ck_response_rollups_counts')),
        sa.CheckConstraint("grain in ('day', 'month', 'all')", name=op.f('ck_response_rollups_grain')),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_response_rollups_site_id_sites')),
        sa.PrimaryKeyConstraint(*KEY, name=op.f('pk_response_rollups')),
        **({'postgresql_partition_by': 'LIST (grain)'} if partitioned else {}),
    )
    if partitioned:
        for grain in GRAINS:
            op.execute(
                f"CREATE TABLE response_rollups_{grain} PARTITION OF response_rollups FOR VALUES IN ('{grain}')"
            )
    columns = ', '.join((*KEY, *COUNTS))
    op.execute(f'INSERT INTO response_rollups ({columns}) SELECT {columns} FROM response_rollups_old')
    op.drop_table('response_rollups_old')
    op.execute('ANALYZE response_rollups')


def upgrade():
    _rebuild(partitioned=True)


def downgrade():
    _rebuild(partitioned=False)
